"""Reading the learner's answers strictly and saying precisely what is off.

Every helper takes plain data from a :class:`~.student.Student` reply and either returns a
validated value (a float64 NumPy array, a Python float, ...) or raises :class:`CheckFailed`
with a sentence a learner can act on ("your forward log-det is off by a constant +0.6931 =
log 2 for every sample").
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .wire import Remote, Tensor

__all__ = ["CheckFailed", "require", "as_array", "as_float", "as_bool", "as_pair", "as_remote",
           "describe_offset", "expect_close", "log_name"]


class CheckFailed(AssertionError):
    """A check did not hold; the message says what is off. IPython shows only the message."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m✗ {line}\x1b[0m" if i == 0 else f"  {line}"
                for i, line in enumerate(str(self).splitlines() or [""])]


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _kind(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {value.shape}"
    if isinstance(value, Remote):
        return f"a {value.type} object"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def as_array(value: Any, what: str, shape: Sequence[int] | None = None, *, finite: bool = True,
             allow_number: bool = False) -> np.ndarray:
    """``value`` as a float64 array; it must be a tensor (or a number if ``allow_number``)."""
    if allow_number and type(value) in (int, float):
        arr = np.array(float(value))
    elif isinstance(value, Tensor) and value.dtype in ("float32", "float64"):
        arr = np.asarray(value.values, dtype=np.float64)
    else:
        raise CheckFailed(f"{what} should be a floating-point tensor, got {_kind(value)}")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise CheckFailed(f"{what} has shape {tuple(arr.shape)}, expected {tuple(shape)}")
    if finite and not np.isfinite(arr).all():
        raise CheckFailed(f"{what} contains inf or nan")
    return arr


def as_float(value: Any, what: str) -> float:
    """A Python float (an int is refused: the exercises ask for a float)."""
    if type(value) is float:
        if not math.isfinite(value):
            raise CheckFailed(f"{what} is {value}")
        return value
    hint = " (use float(...) on a 0-d tensor)" if isinstance(value, Tensor) else ""
    raise CheckFailed(f"{what} should be a Python float, got {_kind(value)}{hint}")


def as_bool(value: Any, what: str) -> bool:
    if type(value) is bool:
        return value
    raise CheckFailed(f"{what} should be a bool (True or False), got {_kind(value)}")


def as_pair(value: Any, what: str) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    raise CheckFailed(f"{what} should return a pair (output, log-det), got {_kind(value)}")


def as_remote(value: Any, what: str) -> Remote:
    if isinstance(value, Remote):
        return value
    raise CheckFailed(f"{what} should be an object, got {_kind(value)}")


_NAMES = {math.log(2): "log 2", math.log(3): "log 3", math.log(10): "log 10",
          0.5 * math.log(2 * math.pi): "½·log 2π", math.log(2 * math.pi): "log 2π", 1.0: "1"}


def log_name(d: float) -> str:
    """' = log 2' style names for common constant offsets (empty if none fits)."""
    for v, name in _NAMES.items():
        if abs(d - v) < 1e-3:
            return f" = {name}"
        if abs(d + v) < 1e-3:
            return f" = −{name}"
    return ""


def describe_offset(got: np.ndarray, want: np.ndarray, what: str, *, rtol: float = 1e-4,
                    atol: float = 1e-4) -> str | None:
    """None if ``got`` matches ``want``, else a sentence saying how it is off."""
    got, want = np.asarray(got, dtype=np.float64).reshape(-1), np.asarray(want, dtype=np.float64).reshape(-1)
    if got.size != want.size:
        return f"your {what} has {got.size} values, expected {want.size} (one per row of the batch)"
    if not np.isfinite(got).all():
        return f"your {what} contains inf or nan"
    diff = got - want
    tol = atol + rtol * np.abs(want)
    if (np.abs(diff) <= tol).all():
        return None
    if np.abs(want).max(initial=0) > 1e-6 and (np.abs(got + want) <= tol).all():
        return f"your {what} has the wrong sign (forward and inverse log-dets are negatives of each other)"
    if diff.max() - diff.min() < max(atol, 1e-6):
        d = float(diff.mean())
        return f"your {what} is off by a constant {d:+.4f}{log_name(d)} for every sample"
    i = int(np.abs(diff).argmax())
    return (f"your {what} is off by up to {abs(float(diff[i])):.4g} (entry {i}: got {float(got[i]):.4f}, "
            f"expected {float(want[i]):.4f})")


def expect_close(got: np.ndarray, want: np.ndarray, what: str, hint: str = "", **tol: float) -> None:
    """Raise :class:`CheckFailed` with :func:`describe_offset`'s sentence (and ``hint``) if off."""
    message = describe_offset(got, want, what, **tol)
    if message is not None:
        raise CheckFailed(message + (f"\n{hint}" if hint else ""))
