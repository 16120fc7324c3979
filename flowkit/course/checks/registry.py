"""Exercises and their checks, and the one function that runs a check in either transport.

A check is a function ``check(student, rng) -> str | None``: it calls the learner's code
through ``student`` (:class:`~.student.Student`), draws its inputs from ``rng`` (a fresh seed
on every run), compares on its own side, and either returns a short success note or raises
:class:`~.verdict.CheckFailed`. It is registered for the test cell it belongs to::

    @exercise("01_fundamentals", "ex1-tests")
    def log_prob_affine_1d(student, rng):
        ...

Its title and points come from the exercise's source (``exercises/src/``, through the generated
:mod:`.catalog`), so they are written once. :func:`run_check` turns every way a check can end
into an :class:`Outcome` (passed or not, and a message) — it never raises, whatever the
learner's code did.
"""

from __future__ import annotations

import secrets
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .catalog import CATALOG
from .student import Student, StudentError
from .verdict import CheckFailed
from .wire import ChannelError

__all__ = ["Exercise", "Outcome", "exercise", "run_check", "EXERCISES", "fresh_seed"]

Check = Callable[[Student, np.random.Generator], "str | None"]


@dataclass(frozen=True)
class Exercise:
    """One exercise's public check, with its title and points (from the exercise's source).

    Example:
        >>> from flowkit.course.checks import get_exercise
        >>> get_exercise("01_fundamentals/ex1-tests").points
        2.0
    """

    assignment: str
    grade_id: str
    points: float
    title: str
    check: Check

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.grade_id}"


@dataclass(frozen=True)
class Outcome:
    """How a check ended: passed or not, the message, and its kind.

    ``kind`` is "pass", "fail", "todo" (the learner's code still raises NotImplementedError),
    "error" (it raised something else), "channel" or "internal" (a bug in the check).

    Example:
        >>> Outcome(False, "your log-det is off by a constant +0.6931 = log 2", "fail").passed
        False
    """

    passed: bool
    message: str
    kind: str


EXERCISES: dict[str, Exercise] = {}


def exercise(assignment: str, grade_id: str, *, points: float | None = None,
             title: str | None = None) -> Callable[[Check], Check]:
    """Register ``check`` as the public check of the test cell ``assignment/grade_id``.

    Title and points default to the exercise's source (the generated catalog).

    Example:
        >>> from flowkit.course.checks import exercises
        >>> exercises()["01_fundamentals/ex2-tests"].title.startswith("ScaleShift")
        True
    """
    def register(check: Check) -> Check:
        info = CATALOG.get(f"{assignment}/{grade_id}", {})
        if (points is None and "points" not in info) or (title is None and "title" not in info):
            raise ValueError(f"{assignment}/{grade_id} has no exercise source: write exercises/src/{assignment}/"
                             f"{grade_id.split('-')[0]}_<name>.py and run `make exercises`")
        ex = Exercise(assignment, grade_id, float(info["points"] if points is None else points),
                      str(info["title"] if title is None else title), check)
        if ex.id in EXERCISES and EXERCISES[ex.id].check is not check:
            raise ValueError(f"two checks registered for {ex.id}")
        EXERCISES[ex.id] = ex
        return check
    return register


def fresh_seed() -> int:
    """A fresh 63-bit seed for one run of a check (a new draw of its inputs every time).

    Example:
        >>> 0 <= fresh_seed() < 2**63
        True
    """
    return secrets.randbits(63)


def _todo(e: StudentError) -> str:
    return (f"not done yet: {e.what} still raises NotImplementedError. Replace `raise NotImplementedError()` "
            "in the cell above with your code, run that cell, then this one.")


def run_check(check: Check, student: Student, seed: int) -> Outcome:
    """Run one check; every failure, including the learner's exceptions, becomes an Outcome.

    Example:
        >>> from flowkit.course.checks import DirectStudent, get_exercise
        >>> def log_prob_affine_1d(x, a, b):
        ...     raise NotImplementedError()
        >>> run_check(get_exercise("01_fundamentals/ex1-tests").check,
        ...           DirectStudent({"log_prob_affine_1d": log_prob_affine_1d}), seed=0).kind
        'todo'
    """
    rng = np.random.default_rng(seed)
    try:
        try:
            note = check(student, rng)
        finally:
            try:
                student.forget()
            except Exception:  # noqa: BLE001 - a broken channel is reported by the check itself
                pass
    except CheckFailed as e:
        return Outcome(False, str(e), "fail")
    except StudentError as e:
        if e.type_name == "NotImplementedError":
            return Outcome(False, _todo(e), "todo")
        return Outcome(False, f"your code raised an error: {e}", "error")
    except ChannelError as e:
        return Outcome(False, f"the check could not read your answer: {e}", "channel")
    except Exception as e:  # noqa: BLE001 - a bug in the check: never the learner's fault
        where = traceback.extract_tb(e.__traceback__)[-1]
        return Outcome(False, f"internal error in the check ({type(e).__name__} at "
                              f"{where.name}:{where.lineno}); please report it", "internal")
    return Outcome(True, note or "", "pass")
