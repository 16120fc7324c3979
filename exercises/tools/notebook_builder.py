"""Tiny helpers to write nbgrader source notebooks with nbformat (used by make_source.py).

Each helper returns one cell with the nbgrader metadata (schema 3) that ``nbgrader
generate_assignment`` and ``nbgrader autograde`` expect:

* :func:`md` — a locked markdown cell (the text of the exercise);
* :func:`given` — locked, ungraded code (imports, helpers, plots the learner just runs);
* :func:`solution` — an unlocked solution cell; the text between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` is replaced by ``raise NotImplementedError()`` in the released version;
* :func:`tests` — a locked, autograded test cell worth ``points``; the visible part gives
  immediate feedback, the part between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` is
  removed from the released version and restored by ``nbgrader autograde``.
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA = 3

# Every hidden-test block starts with this: it refuses to grade in a kernel where the
# comparison functions the course relies on were replaced (a patched ``torch.allclose``
# that always returns True, a stubbed ``flowkit.check``), and gives a pristine ``check``.
INTEGRITY = '''\
import importlib as _il
import math as _math

import torch as _torch

assert not _torch.allclose(_torch.zeros(3), _torch.ones(3)), "grader: torch.allclose was tampered with"
assert type(_torch.allclose).__name__ == "builtin_function_or_method", "grader: torch.allclose was replaced"
_check = _il.reload(_il.import_module("flowkit.checks")).check


def _floats(t):
    t = t.detach() if isinstance(t, _torch.Tensor) else _torch.tensor(t, dtype=_torch.float64)
    return [float(v) for v in t.double().reshape(-1).tolist()]


def _maxerr(a, b):
    a, b = _floats(a), _floats(b)
    assert len(a) == len(b), f"grader: {len(a)} values, expected {len(b)}"
    return max([abs(x - y) if _math.isfinite(x) else _math.inf for x, y in zip(a, b, strict=True)] + [0.0])
'''


CANARY = "[grader] {} complete"


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


def tests(visible: str, hidden: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    # the last line is a canary: tools/grade.py zeroes a test cell whose output lacks it (a cell
    # that "passed" without running, e.g. rewritten by an input transformer)
    src = (_src(visible) + "\n\n### BEGIN HIDDEN TESTS\n" + INTEGRITY + _src(hidden)
           + f"\nprint({CANARY.format(grade_id)!r})\n### END HIDDEN TESTS")
    cell = new_code_cell(src)
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
