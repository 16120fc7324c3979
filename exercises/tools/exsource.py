"""Read the authored exercise sources: ``exercises/src/<assignment>/ex<N>_<name>.py`` (jupytext percent).

One file per exercise, runnable as a script (it executes the model answer and its check). Its
jupytext header carries the exercise's metadata under ``flowkit:``::

    # ---
    # jupyter:
    #   flowkit:
    #     exercise: 02_planar/ex1             # <assignment>/ex<N>; the check is "<assignment>/ex<N>-tests"
    #     title: a planar flow ...            # shown in the heading, the ✓ line and the gradebook
    #     points: 3                           # nbgrader points of the check cell
    #     notebook: 02_planar_and_radial_flows.ipynb
    #     anchor: {cell: 027b41b0, text: "### The exact inverse"}   # insert after this cell
    #     hidden_checks: h02_planar.py        # grader-only checks in exercises/hidden_checks/
    # ---

and each cell says what it is with ``role="…"``:

* ``prompt`` (markdown): the task; the builder adds the heading "Your turn N · title";
* ``given`` (code): code the learner runs as it is, before the answer;
* ``answer`` (code): the model answer, with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` around
  what the learner writes; the learner's stub replaces each region with nbgrader's code stub;
* ``written`` (markdown): an answer in words (a proof), between ``<!-- BEGIN SOLUTION -->`` and
  ``<!-- END SOLUTION -->``; the learner gets a placeholder, the model text goes to the
  solutions file only;
* ``check`` (code): the visible check call, ``check_exercise("<assignment>/ex<N>-tests")``;
* ``after`` (code): code the learner runs after the check (plots of their result);
* ``hint`` (markdown): shown collapsed (``<details>``), with a link to the model answer;
* ``notes`` (markdown): extra text for the solutions file only;
* ``mistakes`` (code): ``MISTAKES = [{"name", "replace": [(old, new), ...], "says"}]`` — typical
  wrong answers (edits of the model answer) and a phrase of the message the check gives for
  each; tests run them, the solutions file lists them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SRC", "Cell", "ExerciseSource", "load_all", "load", "stub_of", "solution_of",
           "BEGIN", "END", "CODE_STUB", "TEXT_STUB"]

EXERCISES = Path(__file__).resolve().parents[1]
SRC = EXERCISES / "src"
BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"      # = exercises/nbgrader_config.py
TEXT_STUB = "*Write your answer here.*"
ROLES = {"markdown": {"prompt", "written", "hint", "notes"}, "code": {"given", "answer", "check", "after", "mistakes"}}
_ID = re.compile(r"^(?P<a>\d\d_[a-z0-9_]+)/ex(?P<n>\d+)$")


@dataclass
class Cell:
    kind: str           # "markdown" or "code"
    role: str
    source: str


@dataclass
class ExerciseSource:
    path: Path
    assignment: str
    number: int
    title: str
    points: float
    notebook: str
    anchor: dict
    hidden_checks: str | None
    cells: list[Cell]
    mistakes: list[dict] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.assignment}/ex{self.number}"

    @property
    def check_id(self) -> str:
        return f"{self.assignment}/ex{self.number}-tests"

    def grade_id(self, role: str, k: int = 0) -> str:
        suffix = {"prompt": "text", "answer": "solution", "check": "tests"}.get(role, role)
        return f"ex{self.number}-{suffix}" + (str(k + 1) if k else "")

    def of(self, role: str) -> list[Cell]:
        return [c for c in self.cells if c.role == role]


def _fail(path: Path, message: str) -> None:
    raise ValueError(f"{path.relative_to(EXERCISES.parent)}: {message}")


def _regions(text: str, path: Path) -> int:
    """The number of solution regions; refuses nested or unclosed ones (as nbgrader does)."""
    depth = count = 0
    for line in text.splitlines():
        if BEGIN in line:
            if depth:
                _fail(path, "nested BEGIN SOLUTION")
            depth, count = 1, count + 1
        elif END in line:
            if not depth:
                _fail(path, "END SOLUTION without BEGIN SOLUTION")
            depth = 0
    if depth:
        _fail(path, "BEGIN SOLUTION without END SOLUTION")
    return count


def stub_of(source: str, stub: str = CODE_STUB) -> str:
    """``source`` with every solution region replaced by ``stub`` (indented) — nbgrader's ClearSolutions."""
    out, inside = [], False
    for line in source.split("\n"):
        if BEGIN in line:
            inside = True
            indent = re.match(r"\s*", line).group(0)
            out += [indent + s for s in stub.split("\n")]
        elif END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def solution_of(source: str) -> str:
    """The model answer: ``source`` without its marker lines."""
    return "\n".join(line for line in source.split("\n") if BEGIN not in line and END not in line)


def _mistakes(cell: Cell, path: Path) -> list[dict]:
    tree = ast.parse(cell.source)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign) or \
            [t.id for t in tree.body[0].targets if isinstance(t, ast.Name)] != ["MISTAKES"]:
        _fail(path, "a mistakes cell holds exactly one assignment MISTAKES = [...]")
    items = ast.literal_eval(tree.body[0].value)
    for m in items:
        if set(m) != {"name", "replace", "says"} or not m["replace"] or not m["says"]:
            _fail(path, f"each mistake needs name, replace=[(old, new), ...] and says, got {sorted(m)}")
    return items


def _metadata(meta: dict, path: Path) -> dict:
    need = {"exercise", "title", "points", "notebook", "anchor"}
    if not need <= set(meta):
        _fail(path, f"the jupytext header's flowkit: needs {sorted(need)}, has {sorted(meta)}")
    if not _ID.match(str(meta["exercise"])):
        _fail(path, f"exercise must look like 02_planar/ex1, got {meta['exercise']!r}")
    if not isinstance(meta["anchor"], dict) or not ({"cell", "text"} & set(meta["anchor"])):
        _fail(path, "anchor needs a cell id and/or a text snippet of the cell to insert after")
    return meta


def load(path: Path) -> ExerciseSource:
    import jupytext

    nb = jupytext.read(path, fmt="py:percent")
    meta = _metadata(nb.metadata.get("flowkit", {}), path)
    cells = []
    for c in nb.cells:
        role = c.metadata.get("role")
        if role not in ROLES.get(c.cell_type, set()):
            _fail(path, f"a {c.cell_type} cell with role={role!r}; roles: {sorted(ROLES.get(c.cell_type, []))}")
        cells.append(Cell(c.cell_type, role, c.source.strip("\n")))
    m = _ID.match(meta["exercise"])
    ex = ExerciseSource(path, m["a"], int(m["n"]), str(meta["title"]), float(meta["points"]), meta["notebook"],
                        dict(meta["anchor"]), meta.get("hidden_checks"), cells)
    _validate(ex)
    ex.mistakes = [item for c in ex.of("mistakes") for item in _mistakes(c, path)]
    return ex


def _validate(ex: ExerciseSource) -> None:
    if ex.path.parent.name != ex.assignment or not ex.path.name.startswith(f"ex{ex.number}_"):
        _fail(ex.path, f"lives in exercises/src/{ex.assignment}/ex{ex.number}_<name>.py")
    for role in ("prompt", "answer", "check", "hint"):
        if len(ex.of(role)) != 1:
            _fail(ex.path, f"needs exactly one {role} cell, has {len(ex.of(role))}")
    if not _regions(ex.of("answer")[0].source, ex.path):
        _fail(ex.path, "the answer cell has no ### BEGIN SOLUTION / ### END SOLUTION region")
    for c in ex.cells:
        regions = _regions(c.source, ex.path)
        if c.role == "written" and not regions:
            _fail(ex.path, "a written cell holds its model text between <!-- BEGIN SOLUTION --> and <!-- END SOLUTION -->")
        if c.role not in ("answer", "written") and regions:
            _fail(ex.path, f"solution markers outside the answer: in a {c.role} cell")
    if f'check_exercise("{ex.check_id}")' not in ex.of("check")[0].source:
        _fail(ex.path, f'the check cell must call check_exercise("{ex.check_id}")')


def load_all(src: Path = SRC) -> list[ExerciseSource]:
    """Every exercise, ordered by assignment and number; refuses duplicates and gaps."""
    out = sorted((load(p) for p in src.glob("*/ex*.py")), key=lambda e: (e.assignment, e.number))
    by_assignment: dict[str, list[int]] = {}
    for ex in out:
        by_assignment.setdefault(ex.assignment, []).append(ex.number)
    for a, numbers in by_assignment.items():
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"exercises/src/{a}: exercises must be numbered 1..N, found {numbers}")
        notebooks = {e.notebook for e in out if e.assignment == a}
        if len(notebooks) != 1:
            raise ValueError(f"exercises/src/{a}: all its exercises go into one notebook, found {sorted(notebooks)}")
    return out
