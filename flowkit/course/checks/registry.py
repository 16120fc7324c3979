"""Exercises and their checks, and the one function that runs a check in either transport.

A check is a function ``check(student, rng) -> str | None``: it calls the learner's code
through ``student`` (:class:`~.student.Student`), draws its inputs from ``rng`` (a fresh seed
on every run), compares on its own side, and either returns a short success note or raises
:class:`~.verdict.CheckFailed`. It is registered for the test cell it belongs to::

    @exercise("01_fundamentals", "ex1-tests", points=2, title="log p of an affine map in 1-D")
    def log_prob_affine_1d(student, rng):
        ...

:func:`run_check` turns every way a check can end into an :class:`Outcome` (passed or not,
and a message) — it never raises, whatever the learner's code did.
"""

from __future__ import annotations

import secrets
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .student import Student, StudentError
from .verdict import CheckFailed
from .wire import ChannelError

__all__ = ["Exercise", "Outcome", "exercise", "run_check", "EXERCISES", "fresh_seed"]

Check = Callable[[Student, np.random.Generator], "str | None"]


@dataclass(frozen=True)
class Exercise:
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
    passed: bool
    message: str
    kind: str   # "pass", "fail", "error" (the learner's code raised), "channel", "internal"


EXERCISES: dict[str, Exercise] = {}


def exercise(assignment: str, grade_id: str, *, points: float, title: str) -> Callable[[Check], Check]:
    """Register ``check`` as the public check of the test cell ``assignment/grade_id``."""
    def register(check: Check) -> Check:
        ex = Exercise(assignment, grade_id, float(points), title, check)
        if ex.id in EXERCISES and EXERCISES[ex.id].check is not check:
            raise ValueError(f"two checks registered for {ex.id}")
        EXERCISES[ex.id] = ex
        return check
    return register


def fresh_seed() -> int:
    return secrets.randbits(63)


def run_check(check: Check, student: Student, seed: int) -> Outcome:
    """Run one check; every failure, including the learner's exceptions, becomes an Outcome."""
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
        return Outcome(False, f"your code raised an error: {e}", "error")
    except ChannelError as e:
        return Outcome(False, f"the check could not read your answer: {e}", "channel")
    except Exception as e:  # noqa: BLE001 - a bug in the check: never the learner's fault
        where = traceback.extract_tb(e.__traceback__)[-1]
        return Outcome(False, f"internal error in the check ({type(e).__name__} at "
                              f"{where.name}:{where.lineno}); please report it", "internal")
    return Outcome(True, note or "", "pass")
