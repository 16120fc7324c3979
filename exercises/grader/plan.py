"""What runs, in which order: the source notebook's skeleton with the student's cells in it.

* Given (locked) code and text come from the **source** notebook, whatever the submission
  holds in their place (edited, deleted, pasted twice): a student cannot change them.
* A solution cell runs at its place in the source, with every copy the student has of it
  (JupyterLab's copy/paste keeps the ``grade_id``) in the student's order.
* Cells the student added run after the cell they follow in the submission.
* Test cells are not run at all: at their place the grader runs the exercise's checks.

Reading a submission is strict and never raises anything but :class:`NotebookError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat

__all__ = ["NotebookError", "Step", "Plan", "read_submission", "read_source", "build_plan"]

MAX_NOTEBOOK = 40 << 20
MAX_CELL = 1 << 20


class NotebookError(ValueError):
    """The submission is not a notebook that can be graded (the message says why)."""


@dataclass
class Step:
    kind: str                 # "code", "markdown", "check"
    source: str = ""
    origin: str = "given"     # "given" (from the source notebook), "student", "check"
    label: str = ""           # grade_id, or "added cell 3"
    points: float = 0.0


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Cell:
    kind: str
    source: str
    grade_id: str | None
    role: str                 # "solution", "test", "given", "text", "other"


def _role(meta: dict) -> str:
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    return "given" if meta.get("locked") else "other"


def _source(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def read_submission(data: bytes) -> tuple[list[_Cell], list[str]]:
    """Cells of a submitted notebook (JSON bytes), and notes about what was skipped."""
    if len(data) > MAX_NOTEBOOK:
        raise NotebookError(f"the notebook is larger than {MAX_NOTEBOOK >> 20} MiB")
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError("the notebook is not UTF-8 text") from None
    except (ValueError, RecursionError) as e:
        raise NotebookError(f"the notebook is not valid JSON ({type(e).__name__})") from None
    if isinstance(nb, dict) and "worksheets" in nb:
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as e:  # noqa: BLE001 - any failure of an old-format notebook
            raise NotebookError(f"an nbformat 3 notebook that cannot be converted ({type(e).__name__})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("the file is JSON but not a Jupyter notebook (no list of cells)")
    cells, notes, skipped = [], [], 0
    for raw in nb["cells"]:
        source = _source(raw.get("source")) if isinstance(raw, dict) else None
        kind = raw.get("cell_type") if isinstance(raw, dict) else None
        if source is None or kind not in ("code", "markdown", "raw") or len(source) > MAX_CELL:
            skipped += 1
            continue
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        gid = nbg.get("grade_id") if isinstance(nbg.get("grade_id"), str) else None
        cells.append(_Cell(kind, source, gid, _role(nbg) if gid else "other"))
    if skipped:
        notes.append(f"{skipped} malformed or oversized cell(s) ignored")
    return cells, notes


def read_source(path: str) -> list[_Cell]:
    nb = nbformat.read(path, as_version=4)
    out = []
    for c in nb.cells:
        nbg = c.metadata.get("nbgrader", {})
        role = _role(nbg) if nbg else "other"
        if c.cell_type == "markdown":
            role = "text"
        out.append(_Cell(c.cell_type, c.source, nbg.get("grade_id"), role))
    return out


def build_plan(source: list[_Cell], submitted: list[_Cell]) -> Plan:
    """The steps to run for ``submitted``, on the skeleton of ``source`` (see the module doc)."""
    plan = Plan()
    roles = {c.grade_id: c.role for c in source if c.grade_id}
    copies: dict[str, list[_Cell]] = {}
    added: dict[str | None, list[tuple[int, _Cell]]] = {}
    anchor: str | None = None
    for i, cell in enumerate(submitted):
        role = roles.get(cell.grade_id)
        if role == "solution":
            copies.setdefault(cell.grade_id, []).append(cell)
            anchor = cell.grade_id
        elif role is not None:
            anchor = cell.grade_id            # given/test/text: the source's version is used
        elif cell.kind in ("code", "markdown") and cell.source.strip():
            added.setdefault(anchor, []).append((i + 1, cell))

    def emit_added(key: str | None) -> None:
        for n, cell in added.get(key, []):
            plan.steps.append(Step(cell.kind, cell.source, "student", f"added cell {n}"))

    emit_added(None)
    for sc in source:
        if sc.role == "solution":
            got = copies.get(sc.grade_id, [])
            if not got:
                plan.notes.append(f"solution cell missing [{sc.grade_id}]")
            if len(got) > 1:
                plan.notes.append(f"{len(got)} copies of [{sc.grade_id}] (pasted?): all run, in order")
            plan.steps += [Step("code", c.source, "student", sc.grade_id) for c in got]
        elif sc.role == "test":
            plan.steps.append(Step("check", "", "check", sc.grade_id))
        elif sc.kind in ("code", "markdown"):
            plan.steps.append(Step(sc.kind, sc.source, "given", sc.grade_id or ""))
        if sc.grade_id:
            emit_added(sc.grade_id)
    return plan
