"""Shape checks shared by the image layers."""

from __future__ import annotations

from typing import Sequence

from .._validation import as_shape


def as_chw(shape: Sequence[int], where: str) -> tuple[int, int, int]:
    """Normalise an image event shape to ``(C, H, W)``."""
    s = as_shape(shape)
    if len(s) != 3:
        raise ValueError(f"{where}: expected an image event shape (C, H, W), got {s}")
    return s  # type: ignore[return-value]


def positive_int(v: object, name: str, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {v!r}")
    return v
