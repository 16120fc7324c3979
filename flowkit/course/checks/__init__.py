"""Checks of the course exercises: immediate feedback in the notebook, and the grader's verdict.

In a notebook, after an exercise cell::

    from flowkit.course.checks import check_exercise
    check_exercise("01_fundamentals/ex2-tests")      # ✓ ... or ✗ what is off, and by how much

The exercises themselves (prompt, stub, model answer, hint) are written in ``exercises/src/``
and put into the course notebooks by ``make exercises``.

``make grade`` runs **the same check functions** in the grader's own process, talking to the
learner's code in a sandboxed kernel through a channel that carries only plain data (see
:mod:`.student`, :mod:`.wire`), and adds hidden checks that live with the grader. How to write
a check: :mod:`.registry`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import random

import numpy as np
import torch

from .catalog import CATALOG
from .registry import EXERCISES, Exercise, Outcome, exercise, fresh_seed, run_check
from .student import DirectStudent, Student, StudentError
from .verdict import CheckFailed
from .wire import ChannelError, Fn, Lib, Name, Remote, Tensor

__all__ = ["check_exercise", "get_exercise", "exercises", "Student", "DirectStudent", "StudentError",
           "CheckFailed", "ChannelError", "Exercise", "Outcome", "exercise", "run_check",
           "Tensor", "Remote", "Lib", "Name", "Fn"]

STRICT_ENV = "FLOWKIT_STRICT_CHECKS"


def exercises() -> dict[str, Exercise]:
    """Every registered exercise, by id (``"assignment/grade_id"``): the checks of every ``ex*`` module.

    Example:
        >>> "02_planar/ex1-tests" in exercises()
        True
    """
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ex"):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(EXERCISES)


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``; a ValueError lists the known ids.

    Example:
        >>> get_exercise("03_coupling/ex2-tests").assignment
        '03_coupling'
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as '01_fundamentals/ex1-tests', got {type(exercise_id).__name__}")
    known = exercises()
    if exercise_id not in known:
        raise ValueError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(known))}")
    return known[exercise_id]


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def check_exercise(exercise_id: str, namespace: dict | None = None, *, seed: int | None = None,
                   strict: bool | None = None) -> None:
    """Check the learner's answer to ``exercise_id`` in ``namespace`` (default: the caller's globals).

    Prints ``✓ Your turn N · title: note`` when it holds, or ``✗ …`` and what is off, by how much.
    A failed check does not stop the notebook (Run All goes on to the next cells) unless
    ``strict`` (default: the environment variable ``FLOWKIT_STRICT_CHECKS=1``, which the test
    suite sets for the notebooks with the model answers filled in): then it raises
    :class:`CheckFailed`, which IPython shows as its message alone. The check runs with its own
    random numbers: the notebook's random state is the same after it as before.

    Example:
        >>> import math
        >>> def log_prob_affine_1d(x, a, b):
        ...     z = (x - b) / a
        ...     return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
        >>> check_exercise("01_fundamentals/ex1-tests", {"log_prob_affine_1d": log_prob_affine_1d})
        ✓ Your turn 1 · log p_x of x = a·z + b: matches the density of N(b, a²), for both signs of a
    """
    ex = get_exercise(exercise_id)
    if namespace is None:
        frame = inspect.currentframe()
        namespace = frame.f_back.f_globals if frame is not None and frame.f_back is not None else {}
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        outcome = run_check(ex.check, DirectStudent(namespace), fresh_seed() if seed is None else seed)
    random.setstate(py_state)
    np.random.set_state(np_state)
    name = f"Your turn {CATALOG[ex.id]['turn']} · {ex.title}" if ex.id in CATALOG else ex.title
    if outcome.passed:
        print(f"✓ {name}" + (f": {outcome.message}" if outcome.message else ""))
        return
    if strict if strict is not None else _strict():
        raise CheckFailed(f"{name}: {outcome.message}")
    lines = outcome.message.splitlines() or [""]
    print("\n".join([f"✗ {name}: {lines[0]}", *(f"  {line}" for line in lines[1:])]))
