"""Elementwise transforms."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .base import Transform

__all__ = ["Affine"]


class Affine(Transform):
    r"""Learnable elementwise affine map with a positive scale.

    forward:  :math:`x = e^{s} \odot z + t`, :math:`\log|\det J| = \sum_i s_i`
    inverse:  :math:`z = (x - t) \odot e^{-s}`, :math:`\log|\det J| = -\sum_i s_i`

    ``s`` (``log_scale``) and ``t`` (``shift``) have the event's shape; both start at zero
    (the identity) unless given.
    """

    def __init__(self, event_shape: int | Sequence[int], log_scale: Tensor | float | None = None,
                 shift: Tensor | float | None = None) -> None:
        super().__init__(event_shape)
        s = torch.zeros(self.event_shape)
        t = torch.zeros(self.event_shape)
        if log_scale is not None:
            s = s + torch.as_tensor(log_scale, dtype=s.dtype)
        if shift is not None:
            t = t + torch.as_tensor(shift, dtype=t.dtype)
        if s.shape != self.event_shape or t.shape != self.event_shape:
            raise ValueError(f"Affine: log_scale and shift must broadcast to {self.event_shape}")
        if not (torch.isfinite(s).all() and torch.isfinite(t).all()):
            raise ValueError("Affine: log_scale and shift must be finite")
        self.log_scale = nn.Parameter(s)
        self.shift = nn.Parameter(t)

    def _logdet(self, batch: int) -> Tensor:
        return self.log_scale.sum().expand(batch)

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return z * torch.exp(self.log_scale) + self.shift, self._logdet(z.shape[0])

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return (x - self.shift) * torch.exp(-self.log_scale), -self._logdet(x.shape[0])
