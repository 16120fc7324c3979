r"""Squeeze: the space-to-depth reshaping of RealNVP (Dinh et al., 2017, Sec. 3.6) and Glow.

inverse (x → z, normalizing): each 2×2 spatial block of every channel becomes 4 channels,
:math:`(C, H, W) \mapsto (4C, H/2, W/2)`, with
:math:`z[c\cdot4 + 2i + j,\ h,\ w] = x[c,\ 2h + i,\ 2w + j]` (``torch.nn.functional.pixel_unshuffle``);
forward (z → x, generative): the inverse reshaping (``pixel_shuffle``).

Both directions only permute the entries, so the Jacobian is a permutation matrix and
both log-dets are exactly 0. The layer changes shape: ``event_shape = (C, H, W)``,
``latent_shape = (4C, H/2, W/2)``.
"""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor

from ..transforms.base import Transform
from ..validation import as_chw

__all__ = ["Squeeze"]


class Squeeze(Transform):
    """Space-to-depth 2×2: event ``(C, H, W)`` ↔ latent ``(4C, H/2, W/2)``, log-det 0.

    Args:
        shape: the x-side (data-side) image shape ``(C, H, W)``; ``H`` and ``W`` must be even.

    Example:
        >>> import torch
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> z, ld = Squeeze((1, 4, 4)).inverse(x)
        >>> z.shape, z[0, :, 0, 0], float(ld)
        (torch.Size([1, 4, 2, 2]), tensor([0., 1., 4., 5.]), 0.0)
    """

    def __init__(self, shape: Sequence[int]) -> None:
        C, H, W = as_chw(shape, "Squeeze")
        if H % 2 or W % 2:
            raise ValueError(f"Squeeze: height and width must be even, got {(C, H, W)}")
        super().__init__((C, H, W), (4 * C, H // 2, W // 2))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return F.pixel_shuffle(z, 2), z.new_zeros(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return F.pixel_unshuffle(x, 2), x.new_zeros(x.shape[0])

    def extra_repr(self) -> str:
        return f"{self.event_shape} <-> {self.latent_shape}"
