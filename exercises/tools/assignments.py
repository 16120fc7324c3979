"""What ``make exercises`` derives per assignment besides the course notebooks.

* the nbgrader source notebook ``exercises/source/<a>/<a>.ipynb`` (solutions between markers,
  nbgrader metadata; the grader's plan is its skeleton);
* a release version without nbgrader (solution regions replaced by its code stub), used for the
  test fixtures; ``nbgrader generate_assignment`` makes the classroom's ``release/``;
* the model answers ``notebooks/solutions/<notebook>_solutions.md``;
* ``flowkit/course/checks/catalog.py``: title, points and place of every check.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from course_cells import heading, solutions_name
from exsource import ExerciseSource, solution_of, stub_of
from notebook_builder import given, md, notebook, solution, tests

__all__ = ["source_notebook", "release_notebook", "solutions_markdown", "catalog_module", "SETUP"]

SETUP = """import math

import matplotlib.pyplot as plt
import torch

import flowkit as fk
from flowkit.course.checks import check_exercise

fk.course.setup(seed=0)"""

HOW = ("**How this works.** Write your code in place of `# YOUR CODE HERE` / `raise NotImplementedError()`. "
       "Each exercise is followed by a check cell: run it for **immediate feedback** — it says *what* is off "
       "(\"your log-det is off by a constant +0.6931 = log 2\"), or prints ✓. Grading runs the same checks, with "
       "fresh random inputs, plus a few hidden ones, outside your notebook: passing here is necessary, not "
       "sufficient. Check cells are never run when grading, so editing them changes nothing.")


def _title(course_nb: dict) -> str:
    for c in course_nb["cells"]:
        if c["cell_type"] == "markdown":
            first = "".join(c["source"]).strip().splitlines()[0]
            return first.lstrip("# ").strip()
    return ""


def source_notebook(assignment: str, exercises: list[ExerciseSource], course_nb: dict) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``assignment`` (cells in exercise order)."""
    total = sum(e.points for e in exercises)
    listing = "\n".join(f"{e.number}. {e.title} ({e.points:g} points)" for e in exercises)
    cells = [md(f"# {assignment[:2]} · Exercises — {_title(course_nb)}\n\nThe exercises of "
                f"`notebooks/{exercises[0].notebook}`, where each one also appears next to the idea it "
                f"practises. {len(exercises)} exercises, {total:g} points:\n\n{listing}\n\n{HOW}", "intro"),
             given(SETUP, "setup")]
    for ex in exercises:
        seen: dict[str, int] = {}
        for c in ex.cells:
            k = seen[c.role] = seen.get(c.role, -1) + 1
            gid = ex.grade_id(c.role, k)
            if c.role == "prompt":
                cells.append(md(f"{heading(ex)} ({ex.points:g} points)\n\n{c.source}", gid))
            elif c.role in ("given", "after"):
                cells.append(given(c.source, gid))
            elif c.role == "answer":
                cells.append(solution(c.source, gid))
            elif c.role == "check":
                cells.append(tests(gid, ex.points, c.source))
            elif c.role == "written":
                cells.append(md("*Write your answer here (not graded; compare with the model answer).*"))
            elif c.role == "hint":
                cells.append(md(f"<details><summary>Hint</summary>\n\n{c.source}\n\n</details>", gid))
    cells.append(md("## Done\n\nRun all cells once more (*Kernel → Restart & Run All*) and check every check "
                    "cell prints ✓.", "outro"))
    return notebook(cells)


def release_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What ``nbgrader generate_assignment`` hands out, as far as the grader reads it: stubs, no solutions."""
    nb = copy.deepcopy(source)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = stub_of(c.source)
    return nb


def _fence(code: str) -> str:
    return f"```python\n{code}\n```"


def solutions_markdown(notebook_name: str, exercises: list[ExerciseSource], course_nb: dict) -> str:
    parts = [f"# Model answers · {_title(course_nb)}",
             f"*Open this file on purpose, after trying.* These are the model answers of the “Your turn” "
             f"exercises in [{notebook_name}](../{notebook_name}); each passes its check cell there "
             "(`check_exercise(…)` prints ✓). Other correct answers exist: the check, not this text, says "
             "whether yours holds."]
    for ex in exercises:
        parts.append(f"## Your turn {ex.number} · {ex.title[:1].upper()}{ex.title[1:]}")
        parts.append(ex.of("prompt")[0].source)
        for c in ex.cells:
            if c.role == "answer":
                parts.append(_fence(solution_of(c.source)))
            elif c.role == "written":
                parts.append("**Model answer (in words):**\n\n" + solution_of(c.source).strip())
            elif c.role == "notes":
                parts.append(c.source)
        if ex.mistakes:
            parts.append("**Typical mistakes, and what the check says about them:**\n\n" + "\n".join(
                f"* {m['name']} — the check says “…{m['says']}…”" for m in ex.mistakes))
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


def catalog_module(exercises: list[ExerciseSource]) -> str:
    entries = {ex.check_id: {"title": ex.title, "points": ex.points, "notebook": ex.notebook, "turn": ex.number,
                             "solutions": f"solutions/{solutions_name(ex.notebook)}"} for ex in exercises}
    body = json.dumps(entries, indent=4, ensure_ascii=False)
    return ('"""Title, points and place of every exercise check: written by `make exercises` from exercises/src/.\n\n'
            "Do not edit: change the exercise's source (its jupytext header) and run `make exercises`.\n\n"
            "Example:\n"
            "    >>> CATALOG[\"02_planar/ex1-tests\"][\"notebook\"]\n"
            "    '02_planar_and_radial_flows.ipynb'\n"
            '"""\n\n'
            "CATALOG: dict[str, dict] = " + body + "\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
