"""Input checks shared by transforms, distributions and flows.

Every public entry point validates its input once, so a wrong shape, dtype or a
non-finite value raises a readable error instead of propagating as a silent NaN.
Inner layers (inside :class:`~flowkit.Compose` or a :class:`~flowkit.Flow`) skip
the checks for speed.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

__all__ = ["validate_batch", "module_dtype", "as_shape"]


def as_shape(shape: int | Sequence[int], name: str = "event_shape") -> tuple[int, ...]:
    """Normalise ``shape`` (an int or a sequence of positive ints) to a tuple."""
    if isinstance(shape, bool):
        raise TypeError(f"{name} must be an int or a tuple of ints, got bool")
    if isinstance(shape, int):
        shape = (shape,)
    try:
        out = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {type(shape).__name__}") from None
    for s in out:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"{name} must contain ints, got {out!r}")
        if s <= 0:
            raise ValueError(f"{name} must contain positive sizes, got {out!r}")
    if not out:
        raise ValueError(f"{name} must have at least one dimension")
    return out


def module_dtype(module: torch.nn.Module) -> torch.dtype | None:
    """The floating dtype of a module's first floating parameter or buffer, if any."""
    for t in module.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in module.buffers():
        if t.is_floating_point():
            return t.dtype
    return None


def validate_batch(
    x: object,
    event_shape: tuple[int, ...] | None,
    *,
    name: str = "x",
    where: str = "",
    dtype: torch.dtype | None = None,
    allow_empty: bool = False,
) -> Tensor:
    """Check that ``x`` is a finite floating tensor of shape ``(batch, *event_shape)``.

    Raises ``TypeError`` for a non-tensor or a non-floating / mismatched dtype and
    ``ValueError`` for a wrong shape, an empty batch or NaN/inf entries. The
    message names the argument, the problem and the expected shape.
    """
    ctx = f" in {where}" if where else ""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}{ctx} must be a torch.Tensor, got {type(x).__name__}")
    expected = "(batch, " + ", ".join(str(s) for s in event_shape) + ")" if event_shape else "(batch, ...)"
    if not x.is_floating_point():
        raise TypeError(
            f"{name}{ctx} must be a floating-point tensor, got dtype {x.dtype}; "
            f"convert it with .float() (or .double())"
        )
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{name}{ctx} has dtype {x.dtype} but the parameters are {dtype}; "
            f"convert the input with .to({dtype}) or the module with .to({x.dtype})"
        )
    if event_shape is not None:
        if x.dim() != len(event_shape) + 1 or tuple(x.shape[1:]) != tuple(event_shape):
            raise ValueError(
                f"{name}{ctx} must have shape {expected}, got {tuple(x.shape)}"
            )
    elif x.dim() < 2:
        raise ValueError(f"{name}{ctx} must have a batch dimension, got shape {tuple(x.shape)}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name}{ctx} is an empty batch (shape {tuple(x.shape)}); pass at least one sample")
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).reshape(x.shape[0], -1).any(dim=1).nonzero().flatten()
        rows = bad[:5].tolist()
        raise ValueError(
            f"{name}{ctx} contains NaN or infinite values (rows {rows}"
            f"{', ...' if len(bad) > 5 else ''}); a flow cannot assign a density to them"
        )
    return x
