"""Build a class folder of honest and hostile submissions for the grader tests (no nbgrader needed).

A submission is the source notebook with the solution markers removed (what a learner hands
in after filling the release), with cells replaced, added after a cell, duplicated or dropped.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "exercises" / "source"
A1 = "01_fundamentals"

WRONG_LOGDET = ("return x, self.log_scale.sum().expand(z.shape[0])",
                "return x, (self.log_scale.sum() + math.log(2)).expand(z.shape[0])")


def solved(assignment: str) -> nbformat.NotebookNode:
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    for c in nb.cells:
        c.source = "\n".join(line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line
                             and "### END SOLUTION" not in line)
    return nb


def released(assignment: str) -> nbformat.NotebookNode:
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    for c in nb.cells:
        if "### BEGIN SOLUTION" in c.source:
            head, rest = c.source.split("### BEGIN SOLUTION", 1)
            c.source = head + "# YOUR CODE HERE\nraise NotImplementedError()" + rest.split("### END SOLUTION", 1)[1]
    return nb


def _index(nb, grade_id: str) -> int:
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells].index(grade_id)


def edit(nb, grade_id: str, old: str, new: str):
    cell = nb.cells[_index(nb, grade_id)]
    assert old in cell.source, (grade_id, old)
    cell.source = cell.source.replace(old, new)
    return nb


def replace(nb, grade_id: str, source: str):
    nb.cells[_index(nb, grade_id)].source = source
    return nb


def add_after(nb, grade_id: str, source: str, kind: str = "code"):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    nb.cells.insert(_index(nb, grade_id) + 1, cell)
    return nb


def duplicate(nb, grade_id: str):
    i = _index(nb, grade_id)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    return nb


def move_after(nb, grade_id: str, anchor: str):
    cell = nb.cells.pop(_index(nb, grade_id))
    nb.cells.insert(_index(nb, anchor) + 1, cell)
    return nb


def write(folder: Path, student: str, assignment: str, nb) -> Path:
    path = folder / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        path.write_bytes(nb)
        return path
    for c in nb.cells:
        c.pop("id", None)
    path.write_bytes(json.dumps(nb, ensure_ascii=False).encode("utf-8"))
    return path
