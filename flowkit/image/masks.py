"""Binary masks for coupling layers on images (Dinh et al., 2017, RealNVP, Sec. 3.4).

A mask is a boolean tensor of the event shape ``(C, H, W)``; ``True`` marks the
entries that pass through a :class:`~flowkit.Coupling` unchanged and condition the
others. Alternate ``flip`` between consecutive couplings so every entry gets transformed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..validation import positive_int

__all__ = ["checkerboard_mask", "channel_mask"]


def _check_chw(C: int, H: int, W: int, where: str) -> None:
    for name, v in (("C", C), ("H", H), ("W", W)):
        positive_int(v, name, where)


def checkerboard_mask(C: int, H: int, W: int, flip: bool = False) -> Tensor:
    """Spatial checkerboard: ``True`` where ``(h + w)`` is even (odd when ``flip``), same for every channel.

    Needs ``H * W >= 2`` so that both colours occur.

    Example:
        >>> checkerboard_mask(1, 2, 2)[0]
        tensor([[ True, False],
                [False,  True]])
    """
    _check_chw(C, H, W, "checkerboard_mask")
    if H * W < 2:
        raise ValueError(f"checkerboard_mask: a {H}x{W} image has only one pixel; use channel_mask")
    hw = (torch.arange(H, device="cpu").view(H, 1) + torch.arange(W, device="cpu").view(1, W)) % 2 == 0
    mask = hw.unsqueeze(0).expand(C, H, W).clone()
    return ~mask if flip else mask


def channel_mask(C: int, H: int, W: int, flip: bool = False) -> Tensor:
    """Channel split: ``True`` on the first ``C // 2`` channels (the last ``C - C // 2`` when ``flip``).

    Needs ``C >= 2``.

    Example:
        >>> channel_mask(4, 1, 1).flatten()
        tensor([ True,  True, False, False])
    """
    _check_chw(C, H, W, "channel_mask")
    if C < 2:
        raise ValueError(f"channel_mask: needs at least 2 channels, got C={C}; use checkerboard_mask")
    mask = (torch.arange(C, device="cpu") < C // 2).view(C, 1, 1).expand(C, H, W).clone()
    return ~mask if flip else mask
