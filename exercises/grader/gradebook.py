"""Record scores in nbgrader's gradebook, adding to it: earlier students and assignments stay.

Before writing, the gradebook is copied to ``gradebook.db.bak-<time>`` (SQLite's backup API,
so the copy is consistent). Only the (student, assignment) pairs graded in this run are
replaced; a submission that could not be graded at all leaves any earlier grade untouched.
The scores come from the grader's checks; nbgrader's own scoring (the first
``execute_result`` of a test cell, zero for any stderr) is not used.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from .report import backup_name

__all__ = ["record", "backup_sqlite"]


def backup_sqlite(path: Path) -> Path | None:
    if not path.exists():
        return None
    dest = backup_name(path)
    with sqlite3.connect(path) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    return dest


def record(path: Path, layout: dict[str, dict[str, float]], graded: list[tuple[str, str, dict[str, float]]]) -> Path | None:
    """Write ``graded`` = [(student, assignment, {grade_id: points})] into the gradebook at ``path``.

    ``layout`` = {assignment: {grade_id: max points}} (from the source notebooks, whose notebook
    name is the assignment name). Returns the backup's path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = backup_sqlite(path)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{path}") as gb:
        # nbgrader's add_submission after remove_submission warns about its own session's autoflush
        warnings.simplefilter("ignore", SAWarning)
        for assignment, cells in layout.items():
            gb.update_or_create_assignment(assignment)
            gb.update_or_create_notebook(assignment, assignment)
            for grade_id, points in cells.items():
                gb.update_or_create_grade_cell(grade_id, assignment, assignment, max_score=points, cell_type="code")
        for student, assignment, scores in graded:
            gb.update_or_create_student(student)
            try:
                gb.remove_submission(assignment, student)
                gb.db.commit()
            except MissingEntry:                # the first grade of this student
                gb.db.rollback()
            gb.add_submission(assignment, student)
            for grade_id, points in scores.items():
                grade = gb.find_grade(grade_id, assignment, assignment, student)
                grade.auto_score = float(points)
                grade.needs_manual_grade = False
            gb.db.commit()
    return saved
