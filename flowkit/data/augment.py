r"""Data augmentation for small image sets: random translations by a pixel or two.

:func:`random_shift` moves each image of a batch by its own offset :math:`(d_y, d_x)`, each
uniform in :math:`\{-s, \dots, s\}`, filling the uncovered border with zeros (the background of
the 8×8 digits). With ``p < 1`` only a random share ``p`` of the images moves. The digits
classifier trains with it (``shift`` pixels, every image), and the image flows may
(``python -m flowkit.train realnvp|glow --shift-prob p``): 1 200 training digits are memorised
quickly, and nearby translations of a digit are digits too. The RealNVP paper augmented its
training images in the same spirit, with horizontal flips (CIFAR-10, CelebA, LSUN; Dinh et al., 2017).

Example:
    >>> import torch
    >>> x = torch.ones(8, 1, 8, 8)
    >>> moved = random_shift(x, 1, torch.Generator().manual_seed(0))
    >>> bool((moved.sum((1, 2, 3)) >= 49).all())   # at most one row and one column leave the image
    True
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from ..validation import finite_real, positive_int

__all__ = ["random_shift"]


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator, p: float = 1.0) -> Tensor:
    """Each image of ``x`` ``(B, C, H, W)`` translated by its own random offset of up to ``max_shift`` pixels.

    Draws, in this order, the column offsets, the row offsets (each ``B`` integers in
    ``[0, 2·max_shift]``, from ``generator``) and, when ``p < 1``, ``B`` uniforms that leave an image
    where it is if ``≥ p``. A new tensor is returned; ``x`` is not modified.

    Args:
        x: a batch of images, 4-D.
        max_shift: the largest offset in pixels along each axis (0: no change, no draws).
        generator: the source of the offsets.
        p: the probability that an image is translated (an offset of (0, 0) can also be drawn).

    Example:
        >>> import torch
        >>> x = torch.arange(9.0).view(1, 1, 3, 3)
        >>> random_shift(x, 1, torch.Generator().manual_seed(0), p=0.0).equal(x)   # p = 0: unchanged
        True
        >>> random_shift(x, 1, torch.Generator().manual_seed(1))[0, 0]             # this draw: one row up
        tensor([[3., 4., 5.],
                [6., 7., 8.],
                [0., 0., 0.]])
    """
    if x.dim() != 4:
        raise ValueError(f"random_shift: expected images (B, C, H, W), got shape {tuple(x.shape)}")
    s = positive_int(max_shift, "max_shift", "random_shift", minimum=0)
    p = finite_real(p, "p", "random_shift", low=0.0, high=1.0)
    if s == 0 or p == 0.0:
        return x.clone()
    n, h, w = x.shape[0], x.shape[2], x.shape[3]
    padded = F.pad(x, (s,) * 4)
    dx = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    if p < 1.0:
        stay = torch.rand(n, generator=generator) >= p
        dx[stay] = s
        dy[stay] = s
    out = torch.empty_like(x)
    for i, (r, c) in enumerate(zip(dy.tolist(), dx.tolist())):
        out[i] = padded[i, :, r:r + h, c:c + w]
    return out
