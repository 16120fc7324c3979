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
    r"""A check did not hold; the message says what is off. IPython shows only the message.

    It is an ``AssertionError``, so a check cell fails like an ``assert`` (nbgrader and pytest
    count it as a failure), but IPython draws just the red first line and the indented rest:

    Example:
        >>> issubclass(CheckFailed, AssertionError)
        True
        >>> CheckFailed("your log-det is off\nhint: sum over dim 1")._render_traceback_()
        ['\x1b[0;31m✗ your log-det is off\x1b[0m', '  hint: sum over dim 1']
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m✗ {line}\x1b[0m" if i == 0 else f"  {line}"
                for i, line in enumerate(str(self).splitlines() or [""])]


def require(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds.

    Write the message as the sentence the learner reads: what is off and what to do.

    Example:
        >>> n_params = 6
        >>> require(n_params == 6, "unused")
        >>> require(n_params == 4, f"your layer has {n_params} parameters, expected 4 (a scale and a shift per dimension)")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your layer has 6 parameters, expected 4 (a scale and a shift per dimension)
    """
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
    """``value`` as a float64 array; it must be a tensor (or a number if ``allow_number``).

    ``shape`` (if given) must match exactly; with ``finite`` (default) inf and nan are refused.

    Example:
        >>> import numpy as np
        >>> from flowkit.course.checks.wire import Tensor
        >>> as_array(Tensor(np.zeros((3, 2)), "float32"), "your output", (3, 2)).dtype
        dtype('float64')
        >>> as_array(Tensor(np.zeros((3, 2))), "your output", (3,))
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your output has shape (3, 2), expected (3,)
        >>> as_array([0.0, 1.0], "your log-det")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your log-det should be a floating-point tensor, got a list of 2 items
        >>> as_array(Tensor(np.array([0.0, np.nan])), "your log-det")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your log-det contains inf or nan
    """
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
    """A Python float (an int is refused: the exercises ask for a float); it must be finite.

    Example:
        >>> import numpy as np
        >>> from flowkit.course.checks.wire import Tensor
        >>> as_float(0.25, "your integral")
        0.25
        >>> as_float(Tensor(np.array(0.25)), "your integral")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your integral should be a Python float, got a float64 tensor of shape () (use float(...) on a 0-d tensor)
        >>> as_float(float("nan"), "your integral")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your integral is nan
    """
    if type(value) is float:
        if not math.isfinite(value):
            raise CheckFailed(f"{what} is {value}")
        return value
    hint = " (use float(...) on a 0-d tensor)" if isinstance(value, Tensor) else ""
    raise CheckFailed(f"{what} should be a Python float, got {_kind(value)}{hint}")


def as_bool(value: Any, what: str) -> bool:
    """A Python bool (``0``/``1`` or a tensor are refused).

    Example:
        >>> as_bool(True, "is_invertible(A)")
        True
        >>> as_bool(1, "is_invertible(A)")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: is_invertible(A) should be a bool (True or False), got a int
    """
    if type(value) is bool:
        return value
    raise CheckFailed(f"{what} should be a bool (True or False), got {_kind(value)}")


def as_pair(value: Any, what: str) -> tuple[Any, Any]:
    """The two items of a transform's ``(output, log-det)`` reply (a tuple or list of 2).

    Example:
        >>> import numpy as np
        >>> from flowkit.course.checks.wire import Tensor
        >>> as_pair((Tensor(np.zeros((3, 2))), Tensor(np.zeros(3))), "layer.forward(z)")[1].shape
        (3,)
        >>> as_pair(Tensor(np.zeros((3, 2))), "layer.forward(z)")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: layer.forward(z) should return a pair (output, log-det), got a float64 tensor of shape (3, 2)
    """
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    raise CheckFailed(f"{what} should return a pair (output, log-det), got {_kind(value)}")


def as_remote(value: Any, what: str) -> Remote:
    """A reference to an object on the learner's side (not plain data).

    Example:
        >>> as_remote(Remote(3, "Planar"), "Planar(2)")
        Remote(ref=3, type='Planar')
        >>> as_remote(None, "build_flow()")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: build_flow() should be an object, got a NoneType
    """
    if isinstance(value, Remote):
        return value
    raise CheckFailed(f"{what} should be an object, got {_kind(value)}")


_NAMES = {math.log(2): "log 2", math.log(3): "log 3", math.log(10): "log 10",
          0.5 * math.log(2 * math.pi): "½·log 2π", math.log(2 * math.pi): "log 2π", 1.0: "1"}


def log_name(d: float) -> str:
    """' = log 2' style names for common constant offsets (empty if none fits).

    The constants are the usual culprits: ``log 2`` (a factor 2 in a scale), ``½·log 2π``
    (the Gaussian's normaliser ``−½ log 2π`` per dimension forgotten or added twice).

    Example:
        >>> log_name(0.6931), log_name(-0.9189), log_name(0.3)
        (' = log 2', ' = −½·log 2π', '')
    """
    for v, name in _NAMES.items():
        if abs(d - v) < 1e-3:
            return f" = {name}"
        if abs(d + v) < 1e-3:
            return f" = −{name}"
    return ""


def describe_offset(got: np.ndarray, want: np.ndarray, what: str, *, rtol: float = 1e-4,
                    atol: float = 1e-4) -> str | None:
    """None if ``got`` matches ``want``, else a sentence saying how it is off.

    A value matches when ``|got − want| ≤ atol + rtol·|want|`` entrywise (as ``np.isclose``).
    Otherwise the sentence names the likeliest mistake: a flipped sign (the inverse's
    log-det), a constant offset (with :func:`log_name`), or the worst entry.

    Example:
        >>> import numpy as np
        >>> want = np.array([0.5, -1.0, 2.0])
        >>> describe_offset(want + 1e-6, want, "log-det") is None
        True
        >>> describe_offset(want + np.log(2), want, "forward log-det")
        'your forward log-det is off by a constant +0.6931 = log 2 for every sample'
        >>> describe_offset(-want, want, "forward log-det")
        'your forward log-det has the wrong sign (forward and inverse log-dets are negatives of each other)'
        >>> describe_offset(np.array([0.5, -1.0, 2.5]), want, "log p(x)")
        'your log p(x) is off by up to 0.5 (entry 2: got 2.5000, expected 2.0000)'
    """
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
    """Raise :class:`CheckFailed` with :func:`describe_offset`'s sentence (and ``hint``) if off.

    ``tol`` is ``rtol``/``atol`` for :func:`describe_offset` (both ``1e-4`` by default).

    Example:
        >>> import numpy as np
        >>> want = np.array([-2.3379, -1.8379])           # log N(x; 0, I) at two points
        >>> expect_close(want + 1e-5, want, "log p(x)")
        >>> expect_close(want + 1.8379, want, "log p(x)", hint="log N(x; 0, I) = −½‖x‖² − (D/2)·log 2π")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your log p(x) is off by a constant +1.8379 = log 2π for every sample
        log N(x; 0, I) = −½‖x‖² − (D/2)·log 2π
    """
    message = describe_offset(got, want, what, **tol)
    if message is not None:
        raise CheckFailed(message + (f"\n{hint}" if hint else ""))
