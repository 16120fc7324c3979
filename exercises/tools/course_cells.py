"""The exercise cells inside the course notebooks (``notebooks/0N_*.ipynb``): find, remove, insert.

Every cell this module writes carries ``"flowkit": {"exercise": "02_planar/ex1", "role": …}`` in
its metadata and a fixed id (``ex-02_planar-ex1-answer``), so a rebuild removes exactly those
cells and puts them back after their anchors: the cells written by anyone else are never
touched, not even re-serialised differently (the notebook is edited as JSON, cell by cell, and
written in nbformat's layout). An anchor is a cell id, with the cell's text as a fallback.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from exsource import TEXT_STUB, ExerciseSource, solution_of, stub_of

__all__ = ["is_exercise_cell", "read_notebook", "dumps_notebook", "solutions_name", "learner_cells", "rebuild",
           "answered", "collisions", "AnchorError"]


class AnchorError(ValueError):
    """An exercise's anchor cell is not in its notebook."""


def is_exercise_cell(cell: dict) -> bool:
    return isinstance(cell.get("metadata", {}).get("flowkit"), dict) and "exercise" in cell["metadata"]["flowkit"]


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def dumps_notebook(nb: dict) -> str:
    """nbformat's own layout (indent 1, sorted keys, UTF-8 kept), so untouched cells stay byte-identical."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def solutions_name(notebook: str) -> str:
    return f"{Path(notebook).stem}_solutions.md"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _cell(ex: ExerciseSource, kind: str, role: str, text: str, k: int = 0) -> dict:
    cell = {"cell_type": kind, "id": f"ex-{ex.assignment}-ex{ex.number}-{role}{k + 1 if k else ''}",
            "metadata": {"flowkit": {"exercise": ex.key, "role": role}}, "source": _lines(text)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def heading(ex: ExerciseSource) -> str:
    return f"### Your turn {ex.number} · {ex.title[:1].upper()}{ex.title[1:]}"


def hint_text(ex: ExerciseSource, body: str) -> str:
    name = solutions_name(ex.notebook)
    return (f"<details><summary>Hint</summary>\n\n{body}\n\n</details>\n\n"
            f"Tried it and still stuck? The model answer is in [solutions/{name}](solutions/{name}) "
            f"(section “Your turn {ex.number}”): open it on purpose, after trying.")


def learner_cells(ex: ExerciseSource) -> list[dict]:
    """The cells of ``ex`` as the learner sees them: prompt, given code, stub, check, hint (no solution)."""
    out, seen = [], {}
    for c in ex.cells:
        k = seen[c.role] = seen.get(c.role, -1) + 1
        if c.role == "prompt":
            out.append(_cell(ex, "markdown", "prompt", f"{heading(ex)}\n\n{c.source}"))
        elif c.role in ("given", "check", "after"):
            out.append(_cell(ex, "code", c.role, c.source, k))
        elif c.role == "answer":
            out.append(_cell(ex, "code", "answer", stub_of(c.source)))
        elif c.role == "written":
            out.append(_cell(ex, "markdown", "written", TEXT_STUB, k))
        elif c.role == "hint":
            out.append(_cell(ex, "markdown", "hint", hint_text(ex, c.source)))
    return out


def _anchor_index(cells: list[dict], ex: ExerciseSource) -> int:
    cell_id, text = ex.anchor.get("cell"), ex.anchor.get("text")
    for i, c in enumerate(cells):
        if cell_id and c.get("id") == cell_id:
            return i
    for i, c in enumerate(cells):
        if text and text in "".join(c["source"]):
            return i
    raise AnchorError(f"{ex.key}: no cell of {ex.notebook} has the id {cell_id!r} or contains {text!r}; "
                      f"set a new anchor in {ex.path.name} (the cell the exercise should follow)")


def rebuild(nb: dict, exercises: list[ExerciseSource]) -> dict:
    """``nb`` with its exercise cells removed and those of ``exercises`` inserted after their anchors."""
    course = [c for c in nb["cells"] if not is_exercise_cell(c)]
    after: dict[int, list[ExerciseSource]] = {}
    for ex in exercises:
        after.setdefault(_anchor_index(course, ex), []).append(ex)
    cells = []
    for i, c in enumerate(course):
        cells.append(c)
        for ex in sorted(after.get(i, []), key=lambda e: e.number):
            cells += learner_cells(ex)
    return {**nb, "cells": cells}


def answered(nb: dict, exercises: list[ExerciseSource]) -> dict:
    """A copy of the learner notebook ``nb`` with every stub replaced by its model answer (for tests)."""
    by_key = {ex.key: ex for ex in exercises}
    cells = []
    for c in nb["cells"]:
        c = json.loads(json.dumps(c))
        meta = c.get("metadata", {}).get("flowkit", {})
        if is_exercise_cell(c) and meta.get("role") == "answer":
            c["source"] = _lines(solution_of(by_key[meta["exercise"]].of("answer")[0].source))
        cells.append(c)
    return {**nb, "cells": cells}


# ----------------------------------------------------------------------------------- names
def _code(cell: dict) -> str:
    return "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))


def _first_use(tree: ast.AST) -> dict[str, str]:
    """Each global name's first use in a cell, in source order: "load" or "store" (imports excluded)."""
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    uses = sorted(((n.lineno, n.col_offset, n.id, "store" if isinstance(n.ctx, ast.Store) else "load")
                   for n in ast.walk(tree) if isinstance(n, ast.Name)), key=lambda t: t[:2])
    defs = [(n.lineno, 0, n.name, "store") for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    first: dict[str, str] = {}
    for *_, name, kind in sorted(uses + defs, key=lambda t: t[:2]):
        if name not in imported:
            first.setdefault(name, kind)
    return first


def _stored(cell: dict) -> set[str]:
    tree = ast.parse(_code(cell))
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            out.add(node.name)
            continue
        out |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return out


def collisions(nb: dict) -> list[str]:
    """Names an exercise cell binds that a later course cell reads before binding it itself."""
    cells, problems = nb["cells"], []
    for i, c in enumerate(cells):
        if not (is_exercise_cell(c) and c["cell_type"] == "code"):
            continue
        for name in sorted(_stored(c)):
            for later in cells[i + 1:]:
                if later["cell_type"] != "code" or is_exercise_cell(later):
                    continue
                try:
                    use = _first_use(ast.parse(_code(later))).get(name)
                except SyntaxError:
                    continue
                if use == "load":
                    problems.append(f"{c['metadata']['flowkit']['exercise']} binds `{name}`, which course cell "
                                    f"{later.get('id')} reads later: rename it in the exercise")
                if use:
                    break
    return problems


def exercise_keys(nb: dict) -> list[str]:
    keys: list[str] = []
    for c in nb["cells"]:
        if is_exercise_cell(c) and c["metadata"]["flowkit"]["exercise"] not in keys:
            keys.append(c["metadata"]["flowkit"]["exercise"])
    return keys

