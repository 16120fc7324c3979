"""Tiny helpers to write nbgrader source notebooks with nbformat (used by assignments.py).

Each helper returns one cell with the nbgrader metadata (schema 3) that ``nbgrader
generate_assignment`` and ``nbgrader autograde`` expect:

* :func:`md` — a locked markdown cell (the text of the exercise);
* :func:`given` — locked, ungraded code (imports, helpers, plots the learner just runs);
* :func:`solution` — an unlocked solution cell; the text between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` is replaced by ``raise NotImplementedError()`` in the released version;
* :func:`tests` — a locked, autograded test cell worth ``points``; its code calls
  ``check_exercise("<assignment>/<grade_id>")`` (the check lives in ``flowkit.course.checks``;
  hidden checks live with the grader in ``exercises/hidden_checks/``).
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA = 3


def _meta(**nbgrader) -> dict:
    return {"nbgrader": {"schema_version": SCHEMA, "task": False, **nbgrader}}


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def md(text: str, grade_id: str | None = None) -> nbformat.NotebookNode:
    cell = new_markdown_cell(_src(text))
    if grade_id:
        cell.metadata = _meta(grade=False, solution=False, locked=True, grade_id=grade_id)
    return cell


def given(code: str, grade_id: str) -> nbformat.NotebookNode:
    cell = new_code_cell(_src(code))
    cell.metadata = _meta(grade=False, solution=False, locked=True, grade_id=grade_id)
    return cell


def solution(code: str, grade_id: str) -> nbformat.NotebookNode:
    src = _src(code)
    assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src, grade_id
    cell = new_code_cell(src)
    cell.metadata = _meta(grade=False, solution=True, locked=False, grade_id=grade_id)
    return cell


def tests(grade_id: str, points: float, source: str) -> nbformat.NotebookNode:
    """The test cell: it runs the exercise's check from ``flowkit.course.checks`` on the learner's code.

    When grading, this cell is not run: the grader runs the same check (and hidden ones) in its
    own process, against the learner's code in a sandbox (``exercises/grader/``).
    """
    cell = new_code_cell(_src(source))
    cell.metadata = _meta(grade=True, solution=False, locked=True, grade_id=grade_id, points=points)
    return cell


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    for i, c in enumerate(nb.cells):  # stable cell ids keep diffs of the committed notebooks small
        c.id = f"cell-{i:02d}"
    nbformat.validate(nb)
    return nb
