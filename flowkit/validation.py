"""Argument and input checks: the one place flowkit decides what a bad argument is.

Every public function and class checks its arguments with these helpers, so a wrong shape,
dtype, type or value raises a readable error that names the argument, the value and what was
expected, instead of propagating as a silent NaN. Conventions:

* a value of the wrong *type* raises :class:`ArgumentTypeError` (a ``TypeError`` that is also a
  ``ValueError``, so code catching either keeps working);
* a value of the right type but out of range raises ``ValueError``;
* ``where`` (e.g. ``"Planar"``) prefixes the message with the function or class at fault.

Inputs of transforms and flows are checked by :func:`validate_batch` once, at the outermost
public call (see :class:`flowkit.Transform`); layers called inside another transform skip it.

Example:
    >>> from flowkit.validation import positive_int
    >>> positive_int(3, "n_layers", "MyFlow")
    3
    >>> positive_int(0, "n_layers", "MyFlow")
    Traceback (most recent call last):
    ...
    ValueError: MyFlow: n_layers must be a positive int, got 0
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "ArgumentTypeError", "as_shape", "as_chw", "module_dtype", "validate_batch", "validate_context",
    "check_module_device", "positive_int", "nonneg_int", "finite_real", "probability", "seed_or_none", "choice",
    "as_real_tensor", "scores", "float_dtype", "is_traced", "validate_int_images", "flow_module",
]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError``, and a ``ValueError`` for older callers).

    Example:
        >>> issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)
        True
    """


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def positive_int(v: object, name: str, where: str = "", *, minimum: int = 1) -> int:
    """``v`` as an ``int`` (Python or NumPy integer) that is ``>= minimum`` (default 1).

    Example:
        >>> import numpy as np
        >>> positive_int(np.int64(3), "n")
        3
    """
    if not _is_int(v):
        raise ArgumentTypeError(f"{_at(where)}{name} must be an int, got {type(v).__name__} {v!r}")
    if int(v) < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{_at(where)}{name} must be {what}, got {int(v)}")
    return int(v)


def nonneg_int(v: object, name: str, where: str = "") -> int:
    """``v`` as an ``int >= 0``.

    Example:
        >>> nonneg_int(0, "n")
        0
    """
    return positive_int(v, name, where, minimum=0)


def finite_real(v: object, name: str, where: str = "", *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """``v`` as a finite ``float``, optionally within ``[low, high]`` (``low_open``: ``> low``).

    Example:
        >>> finite_real(0.05, "alpha", "Logit", low=0.0, high=0.5, high_open=True)
        0.05
    """
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise ArgumentTypeError(f"{_at(where)}{name} must be a real number, got {type(v).__name__} {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{_at(where)}{name} must be finite, got {v!r}")
    bad_low = low is not None and (f <= low if low_open else f < low)
    bad_high = high is not None and (f >= high if high_open else f > high)
    if bad_low or bad_high:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        raise ValueError(f"{_at(where)}{name} must be {' and '.join(s for s in (lo, hi) if s)}, got {v!r}")
    return f


def probability(v: object, name: str, where: str = "") -> float:
    """``v`` as a float in the open interval ``(0, 1)``.

    Example:
        >>> probability(0.05, "alpha")
        0.05
    """
    return finite_real(v, name, where, low=0.0, high=1.0, low_open=True, high_open=True)


def seed_or_none(seed: object, where: str = "", *, allow_none: bool = True) -> int | None:
    """A non-negative int seed (or ``None`` when allowed: fresh entropy).

    Example:
        >>> seed_or_none(None), seed_or_none(3)
        (None, 3)
    """
    if seed is None and allow_none:
        return None
    return nonneg_int(seed, "seed", where)


def choice(v: object, name: str, options: Sequence[Any], where: str = "") -> Any:
    """``v`` if it is one of ``options``.

    Example:
        >>> choice("mean", "reduction", ("mean", "none"))
        'mean'
    """
    if v not in options:
        raise ValueError(f"{_at(where)}{name} must be one of {', '.join(map(repr, options))}, got {v!r}")
    return v


def float_dtype(dtype: object, where: str = "") -> torch.dtype:
    """``dtype`` if it is a real floating torch dtype.

    Example:
        >>> import torch
        >>> float_dtype(torch.float64)
        torch.float64
    """
    if not isinstance(dtype, torch.dtype):
        raise ArgumentTypeError(f"{_at(where)}dtype must be a torch.dtype, got {type(dtype).__name__}")
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(f"{_at(where)}dtype must be a real floating dtype {_FLOAT_DTYPES}, got {dtype}")
    return dtype


def as_shape(shape: int | Sequence[int], name: str = "event_shape") -> tuple[int, ...]:
    """Normalise ``shape`` (an int or a sequence of positive ints) to a tuple.

    Example:
        >>> as_shape(3), as_shape((1, 8, 8))
        ((3,), (1, 8, 8))
    """
    if isinstance(shape, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be an int or a tuple of ints, got bool")
    if _is_int(shape):
        shape = (int(shape),)  # type: ignore[arg-type]
    try:
        out = tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise ArgumentTypeError(f"{name} must be an int or a tuple of ints, got {type(shape).__name__}") from None
    for s in out:
        if not _is_int(s):
            raise ArgumentTypeError(f"{name} must contain ints, got {out!r}")
        if s <= 0:
            raise ValueError(f"{name} must contain positive sizes, got {out!r}")
    if not out:
        raise ValueError(f"{name} must have at least one dimension")
    return tuple(int(s) for s in out)


def as_chw(shape: Sequence[int], where: str) -> tuple[int, int, int]:
    """Normalise an image event shape to ``(C, H, W)``.

    Example:
        >>> as_chw([1, 8, 8], "RealNVP")
        (1, 8, 8)
    """
    s = as_shape(shape)
    if len(s) != 3:
        raise ValueError(f"{where}: expected an image event shape (C, H, W), got {s}")
    return s  # type: ignore[return-value]


def module_dtype(module: torch.nn.Module) -> torch.dtype | None:
    """The floating dtype of a module's first floating parameter or buffer, if any.

    Example:
        >>> import torch
        >>> module_dtype(torch.nn.Linear(2, 2).double())
        torch.float64
    """
    for t in module.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in module.buffers():
        if t.is_floating_point():
            return t.dtype
    return None


def check_module_device(module: torch.nn.Module, where: str = "") -> None:
    """Refuse a module whose parameters live on the ``meta`` device (shapes only, no values).

    Example:
        >>> import torch
        >>> check_module_device(torch.nn.Linear(2, 2))   # a real device: nothing to say
    """
    for t in module.parameters():
        if t.device.type == "meta":
            raise ValueError(f"{_at(where)}the parameters are on the 'meta' device, which holds shapes but no "
                             "values; move the module to a real device (e.g. .to_empty(device='cpu') and load "
                             "weights) before evaluating it")
        return


def is_traced(x: Tensor) -> bool:
    """True inside ``torch.func`` transforms (``vmap``, ``grad``) or ``torch.compile`` tracing.

    Value-dependent checks (``isfinite(x).all()``) are skipped there: they need a concrete
    value, which a traced tensor does not have.

    Example:
        >>> import torch
        >>> is_traced(torch.zeros(2)), bool(torch.func.vmap(lambda v: torch.tensor(is_traced(v)))(torch.zeros(2)).all())
        (False, True)
    """
    if torch.compiler.is_compiling():
        return True
    try:
        return torch._C._functorch.is_functorch_wrapped_tensor(x)
    except AttributeError:  # pragma: no cover - very old torch
        return False


def all_finite(x: Tensor) -> bool:
    """Whether every entry of ``x`` is finite: a finite sum proves it (NaN and ±inf make the sum non-finite);
    only a non-finite sum, which overflow also gives, runs the elementwise test.

    >>> all_finite(torch.tensor([1.0, float("nan")])), all_finite(torch.tensor([3e38, 3e38]))
    (False, True)
    """
    return bool(torch.isfinite(x.detach().sum())) or bool(torch.isfinite(x).all())


def validate_batch(x: object, event_shape: tuple[int, ...] | None, *, name: str = "x", where: str = "",
                   dtype: torch.dtype | None = None, allow_empty: bool = False) -> Tensor:
    """Check that ``x`` is a finite, real floating tensor of shape ``(batch, *event_shape)``.

    Raises ``TypeError`` for a non-tensor or a non-floating / complex / mismatched dtype and
    ``ValueError`` for a wrong shape, an empty batch or NaN/inf entries (skipped for traced
    tensors, see :func:`is_traced`), or a tensor on the ``meta`` device. The message names the
    argument, the problem and the expected shape.

    Example:
        >>> import torch
        >>> validate_batch(torch.zeros(4, 2), (2,), name="x").shape
        torch.Size([4, 2])
        >>> validate_batch(torch.zeros(4, 3), (2,), name="x", where="Flow.log_prob")
        Traceback (most recent call last):
        ...
        ValueError: x in Flow.log_prob must have shape (batch, 2), got (4, 3)
    """
    ctx = f" in {where}" if where else ""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"{name}{ctx} must be a torch.Tensor, got {type(x).__name__}")
    expected = "(batch, " + ", ".join(str(s) for s in event_shape) + ")" if event_shape else "(batch, ...)"
    if not x.is_floating_point():
        raise ArgumentTypeError(f"{name}{ctx} must be a real floating-point tensor, got dtype {x.dtype}; "
                                "convert it with .float() (or .double())")
    if dtype is not None and x.dtype != dtype:
        raise ArgumentTypeError(f"{name}{ctx} has dtype {x.dtype} but the parameters are {dtype}; "
                                f"convert the input with .to({dtype}) or the module with .to({x.dtype})")
    if event_shape is not None:
        if x.dim() != len(event_shape) + 1 or tuple(x.shape[1:]) != tuple(event_shape):
            raise ValueError(f"{name}{ctx} must have shape {expected}, got {tuple(x.shape)}")
    elif x.dim() < 2:
        raise ValueError(f"{name}{ctx} must have a batch dimension, got shape {tuple(x.shape)}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name}{ctx} is an empty batch (shape {tuple(x.shape)}); pass at least one sample")
    if x.device.type == "meta":
        raise ValueError(f"{name}{ctx} is on the 'meta' device, which holds no values to transform; "
                         "build the module on a real device (e.g. .to('cpu')) to evaluate it")
    if not is_traced(x) and not all_finite(x):
        bad = (~torch.isfinite(x)).reshape(x.shape[0], -1).any(dim=1).nonzero().flatten()
        rows = bad[:5].tolist()
        raise ValueError(f"{name}{ctx} contains NaN or infinite values (rows {rows}"
                         f"{', ...' if len(bad) > 5 else ''}); a flow cannot assign a density to them")
    return x


def validate_context(context: object, batch: int, *, where: str = "", dtype: torch.dtype | None = None,
                     shape: tuple[int, ...] | None = None) -> Tensor:
    """Check a conditioning tensor: real floating, finite, ``(batch, *shape)`` rows matching the input.

    Example:
        >>> import torch
        >>> validate_context(torch.zeros(4, 1), 4).shape
        torch.Size([4, 1])
    """
    c = validate_batch(context, shape, name="context", where=where, dtype=dtype)
    if c.shape[0] != batch:
        raise ValueError(f"context{' in ' + where if where else ''} has {c.shape[0]} rows but the input has "
                         f"{batch}; pass one context row per input row")
    return c


def flow_module(flow: object, where: str, *, needs: str = "log_prob", trainable: bool = False) -> torch.nn.Module:
    """``flow`` if it is an ``nn.Module`` with a ``needs`` method (and, if ``trainable``, parameters to train).

    Example:
        >>> flow_module("my flow", "fit")
        Traceback (most recent call last):
        ...
        flowkit.validation.ArgumentTypeError: fit: flow must be a torch.nn.Module with a log_prob method (e.g. a flowkit.Flow), got str
    """
    if not isinstance(flow, torch.nn.Module) or not callable(getattr(flow, needs, None)):
        raise ArgumentTypeError(f"{_at(where)}flow must be a torch.nn.Module with a {needs} method (e.g. a "
                                f"flowkit.Flow), got {type(flow).__name__}")
    if trainable and not any(p.requires_grad for p in flow.parameters()):
        raise ValueError(f"{_at(where)}flow has no trainable parameters (nothing to fit)")
    return flow


def validate_int_images(x: object, event_shape: Sequence[int] | None, n_bins: int, *, name: str = "x",
                        where: str = "") -> Tensor:
    """Check integer images: an integer tensor ``(batch, *event_shape)`` with values in ``0..n_bins-1``.

    Example:
        >>> import torch
        >>> validate_int_images(torch.full((2, 1, 4, 4), 17), (1, 4, 4), 17, name="data", where="fit")
        Traceback (most recent call last):
        ...
        ValueError: data in fit must hold values in 0..16 (n_bins=17), got values in [17, 17]
    """
    ctx = f" in {where}" if where else ""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"{name}{ctx} must be a torch.Tensor of integer images, got {type(x).__name__}")
    if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
        raise ArgumentTypeError(f"{name}{ctx} must be an integer tensor (values 0..{n_bins - 1}), got dtype {x.dtype}")
    if event_shape is not None and (x.dim() != len(event_shape) + 1 or tuple(x.shape[1:]) != tuple(event_shape)):
        expected = "(batch, " + ", ".join(str(s) for s in event_shape) + ")"
        raise ValueError(f"{name}{ctx} must have shape {expected}, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name}{ctx} is an empty batch (shape {tuple(x.shape)}); pass at least one image")
    lo, hi = int(x.min()), int(x.max())
    if lo < 0 or hi >= n_bins:
        raise ValueError(f"{name}{ctx} must hold values in 0..{n_bins - 1} (n_bins={n_bins}), got values in [{lo}, {hi}]")
    return x


def as_real_tensor(x: object, name: str, *, min_rows: int = 1, allow_int: bool = True) -> Tensor:
    """``x`` (a tensor or NumPy array) as a tensor of real numbers with a batch dimension.

    Example:
        >>> import numpy as np
        >>> as_real_tensor(np.zeros((2, 3)), "x").shape
        torch.Size([2, 3])
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.dtype == torch.bool or x.is_complex() or (not allow_int and not x.is_floating_point()):
        raise ArgumentTypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.dim() == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got shape {tuple(x.shape)}")
    if x.is_floating_point() and not all_finite(x):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def scores(x: object, name: str, min_len: int = 1) -> np.ndarray:
    """A one-dimensional float64 array of per-example scores.

    Example:
        >>> scores([1.0, 2.0], "s")  # doctest: +SKIP
        >>> import torch
        >>> scores(torch.tensor([1.0, 2.0]), "s")
        array([1., 2.])
    """
    t = as_real_tensor(x, name, min_rows=min_len)
    if t.dim() != 1:
        raise ValueError(f"{name} must be one-dimensional (one score per example), got shape {tuple(t.shape)}")
    return t.detach().cpu().double().numpy()
