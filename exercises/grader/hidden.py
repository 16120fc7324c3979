"""Hidden checks: extra checks of an exercise that only the grader has.

They are written exactly like the public checks (``check(student, rng) -> str | None``, see
:mod:`flowkit.course.checks.registry`) but live in ``exercises/hidden_checks/``, which is never
bound into a sandbox, never sent to a kernel and never quoted in feedback (only their messages
are shown). Register one with ``@hidden("01_fundamentals/ex1-tests")``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

__all__ = ["hidden", "hidden_checks"]

_HIDDEN: dict[str, list[Callable]] = {}


def hidden(exercise_id: str) -> Callable[[Callable], Callable]:
    def register(check: Callable) -> Callable:
        checks = _HIDDEN.setdefault(exercise_id, [])
        if check not in checks:
            checks.append(check)
        return check
    return register


def hidden_checks() -> dict[str, list[Callable]]:
    import hidden_checks as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"hidden_checks.{info.name}")
    return {k: list(v) for k, v in _HIDDEN.items()}
