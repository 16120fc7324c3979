r"""Multi-scale architecture: :class:`Split` (a learned conditional prior) and :class:`MultiScale`.

How the factored-out half is counted
------------------------------------
RealNVP and Glow (Dinh et al., 2017, Sec. 3.6; Kingma & Dhariwal, 2018, Sec. 3)
"factor out" half of the channels after each level: :math:`h = (z_1, z_2)`, only
:math:`z_1` goes on through the later levels, and :math:`z_2` is scored by a prior —
in Glow a learned *conditional* Gaussian :math:`p(z_2\mid z_1) = \mathcal N(\mu(z_1), \operatorname{diag}\sigma(z_1)^2)`.

flowkit keeps this exact by writing the conditional prior as a bijection (the
reparameterisation) and the factoring-out as pure bookkeeping:

1. :class:`Split` is a *shape-preserving* :class:`~flowkit.Transform` on ``(C, H, W)`` — an
   affine coupling with a channel mask whose conditioner is the prior network:
   inverse :math:`(z_1, z_2) \mapsto (z_1,\ \varepsilon = (z_2 - \mu(z_1))\,e^{-s(z_1)})` with
   :math:`\log|\det J| = -\sum s(z_1)`. Since :math:`\varepsilon \sim \mathcal N(0, I)` under the base,

   .. math:: \log\mathcal N(\varepsilon; 0, I) - \textstyle\sum s(z_1) = \log\mathcal N(z_2;\ \mu(z_1),\ e^{2 s(z_1)}),

   i.e. the standard-normal base density of :math:`\varepsilon` plus this log-det is *exactly*
   the conditional prior's log-density. Split passes :func:`flowkit.check` like any layer.
2. :class:`MultiScale` chains the levels: in the normalizing direction, after a level and its
   Split the second half :math:`\varepsilon` is set aside and only the first half continues. Its
   latent is the flat vector ``z = concat(flatten(z_final), flatten(ε_0), …, flatten(ε_{L-2}))``
   of all ``D = C·H·W`` numbers, listed like the levels in the generative order (``ε_0`` is
   set aside deepest, ``ε_{L-2}`` nearest the data). The whole map x ↔ z is one bijection whose log-det is the
   sum of all levels' and splits' log-dets, so

   .. math:: \log p(x) = \log\mathcal N(z; 0, I_D) + \log\left|\det\frac{\partial z}{\partial x}\right|

   counts every term — the final latent, every factored-out half, every log-det — and the
   model is an ordinary :class:`flowkit.Flow` with a ``StandardNormal(D)`` base.
   Sampling with temperature ``T`` scales all of ``z``, which is Glow's temperature
   (:math:`z_2 = \mu(z_1) + \sigma(z_1)\,T\varepsilon` at every level).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..transforms.base import Transform
from ..transforms.coupling import AffineCoupling
from ..validation import as_chw, finite_real
from .masks import channel_mask
from .resnet import ResNet

__all__ = ["Split", "MultiScale"]


class _KeptHalfNet(nn.Module):
    """Wraps a prior ``net: z₁ (n_keep channels) → (s̃, μ) (2·n_out)`` as an image-coupling conditioner.

    The coupling hands its conditioner the masked input (all ``C`` channels, the factored-out
    ones zeroed) and expects parameters for every channel; the kept channels' are zeros.
    """

    def __init__(self, net: nn.Module, n_keep: int, n_out: int) -> None:
        super().__init__()
        self.net, self.n_keep, self.n_out = net, n_keep, n_out

    def forward(self, h: Tensor) -> Tensor:
        s, mu = self.net(h[:, : self.n_keep]).chunk(2, dim=1)
        pad = s.new_zeros(s.shape[0], self.n_keep, *s.shape[2:])
        return torch.cat([pad, s, pad, mu], dim=1)


class Split(AffineCoupling):
    r"""Learned conditional Gaussian prior :math:`p(z_2\mid z_1)` of the factored-out channels, as a bijection.

    An :class:`~flowkit.AffineCoupling` with a channel mask: :math:`z_1` = the first ``C // 2``
    channels (kept; they go on to the next level), :math:`z_2` the other ``C - C // 2``
    (factored out), and the prior network computes :math:`(\tilde s, \mu)` from :math:`z_1`:

    * inverse (normalizing): :math:`\varepsilon = (z_2 - \mu)\,e^{-s}`, :math:`\log|\det J| = -\sum s`;
    * forward (generative): :math:`z_2 = \mu + e^{s}\,\varepsilon`, :math:`\log|\det J| = \sum s`.

    Args:
        shape: event shape ``(C, H, W)``, ``C >= 2``.
        hidden: ``None`` (default) for Glow's prior, a single zero-initialised 3×3
            convolution ``C//2 → 2·(C - C//2)``; an int for a :class:`ResNet` of that width.
        n_blocks: residual blocks of that ResNet.
        scale_bound: soft bound ``c`` on the log-scale (``None``: unbounded).

    The prior network starts at zero, so a fresh Split is the identity (the prior is N(0, I)).

    Example:
        >>> import torch, flowkit as fk
        >>> fk.check(fk.image.Split((4, 2, 2)), torch.randn(4, 4, 2, 2)).passed
        True
    """

    def __init__(self, shape: Sequence[int], hidden: int | None = None, n_blocks: int = 1,
                 scale_bound: float | None = 5.0) -> None:
        C, H, W = as_chw(shape, "Split")
        if C < 2:
            raise ValueError(f"Split: needs at least 2 channels to factor out half, got shape {(C, H, W)}")
        if scale_bound is not None:
            scale_bound = finite_real(scale_bound, "scale_bound", "Split", low=0.0, low_open=True)
        n_keep, n_out = C // 2, C - C // 2
        if hidden is None:
            prior: nn.Module = nn.Conv2d(n_keep, 2 * n_out, 3, padding=1)
        else:
            prior = ResNet(n_keep, 2 * n_out, hidden=hidden, n_blocks=n_blocks)
        super().__init__((C, H, W), mask=channel_mask(C, H, W), conditioner=_KeptHalfNet(prior, n_keep, n_out),
                         scale_bound=scale_bound, direction="generative")  # z₂ = μ + e^s·ε
        self.n_keep, self.n_out = n_keep, n_out

    @property
    def kept_shape(self) -> tuple[int, int, int]:
        """Shape of the half that continues to the next level."""
        _, H, W = self.event_shape  # type: ignore[misc]
        return (self.n_keep, H, W)

    @property
    def factored_shape(self) -> tuple[int, int, int]:
        """Shape of the half that is factored out."""
        _, H, W = self.event_shape  # type: ignore[misc]
        return (self.n_out, H, W)

    def mean_and_log_scale(self, z1: Tensor) -> tuple[Tensor, Tensor]:
        r""":math:`(\mu(z_1), s(z_1))` of the conditional prior of the factored-out half, from the kept half."""
        z = torch.cat([z1, z1.new_zeros(z1.shape[0], *self.factored_shape)], dim=1)
        s, mu = self.scale_and_shift(z)
        return mu[:, self.n_keep:], s[:, self.n_keep:]


class MultiScale(Transform):
    """A multi-scale flow: levels separated by :class:`Split` s, with a flat latent of all ``D`` numbers.

    Args:
        levels: ``L`` transforms **in the generative order** (like :class:`~flowkit.Compose`):
            ``levels[0]`` is the deepest level, acting on the smallest latent image first in
            ``forward``; ``levels[-1]`` is the one next to the data. Every level must declare its
            shapes (a :class:`~flowkit.Compose` of image layers does); a level may change shape
            (e.g. contain a :class:`~flowkit.image.Squeeze`).
        splits: ``L - 1`` :class:`Split` layers; ``splits[i]`` sits between ``levels[i]`` and
            ``levels[i + 1]``: ``splits[i].kept_shape == levels[i].event_shape`` and
            ``splits[i].event_shape == levels[i + 1].latent_shape``.

    ``event_shape = levels[-1].event_shape``; ``latent_shape = (D,)``.

    forward (z → x): cut ``z`` into ``[z_final, ε_0, …, ε_{L-2}]``; ``h = levels[0](z_final)``; for
    each ``i``: ``h = levels[i+1](splits[i](concat(h, ε_i)))``. inverse (x → z) undoes these
    steps in reverse order. The log-det is the sum of every level's and split's log-det. See
    the module docstring for why ``log N(z) + log|det ∂z/∂x|`` is exactly the multi-scale
    log-likelihood.

    Example:
        >>> import torch, flowkit as fk
        >>> from flowkit.image import MultiScale, Split
        >>> ms = MultiScale([fk.Compose([fk.Affine((2, 2, 2))]), fk.Compose([fk.Affine((4, 2, 2))])],
        ...                 [Split((4, 2, 2))])
        >>> ms.latent_shape, fk.check(ms, torch.randn(4, 16)).passed
        ((16,), True)
    """

    def __init__(self, levels: Sequence[Transform], splits: Sequence[Split]) -> None:
        levels, splits = list(levels), list(splits)
        if not levels:
            raise ValueError("MultiScale needs at least one level")
        if len(splits) != len(levels) - 1:
            raise ValueError(f"MultiScale: {len(levels)} levels need {len(levels) - 1} splits, got {len(splits)}")
        for i, t in enumerate(levels):
            if not isinstance(t, Transform):
                raise TypeError(f"MultiScale: level {i} is a {type(t).__name__}, not a flowkit.Transform")
            if t.event_shape is None or t.latent_shape is None:
                raise ValueError(f"MultiScale: level {i} ({type(t).__name__}) must declare its event and latent shapes")
        for i, s in enumerate(splits):
            if not isinstance(s, Split):
                raise TypeError(f"MultiScale: split {i} is a {type(s).__name__}, not a flowkit.image.Split")
            if tuple(levels[i].event_shape) != s.kept_shape:
                raise ValueError(f"MultiScale: level {i} outputs shape {levels[i].event_shape} but split {i} "
                                 f"keeps {s.kept_shape}")
            if tuple(levels[i + 1].latent_shape) != tuple(s.event_shape):
                raise ValueError(f"MultiScale: split {i} outputs shape {s.event_shape} but level {i + 1} "
                                 f"expects {levels[i + 1].latent_shape}")
        self.factored_shapes: list[tuple[int, ...]] = [s.factored_shape for s in splits]
        self.final_shape: tuple[int, ...] = tuple(levels[0].latent_shape)
        sizes = [math.prod(self.final_shape)] + [math.prod(s) for s in self.factored_shapes]
        dim = sum(sizes)
        if dim != math.prod(levels[-1].event_shape):
            raise ValueError(f"MultiScale: the latent has {dim} numbers but the input has "
                             f"{math.prod(levels[-1].event_shape)}; a level changes the dimension")
        super().__init__(levels[-1].event_shape, (dim,))
        self.levels = nn.ModuleList(levels)
        self.splits = nn.ModuleList(splits)
        self._sizes = sizes

    def latent_parts(self, z: Tensor) -> list[Tensor]:
        """Cut a flat latent ``(B, D)`` into ``[z_final, ε_0, …, ε_{L-2}]`` with their image shapes."""
        parts = torch.split(z, self._sizes, dim=1)
        shapes = [self.final_shape, *self.factored_shapes]
        return [p.reshape(z.shape[0], *s) for p, s in zip(parts, shapes)]

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        parts = self.latent_parts(z)
        h, total = self.levels[0](parts[0], context)
        for i, split in enumerate(self.splits):
            h, ld = split(torch.cat([h, parts[i + 1]], dim=1))
            total = total + ld
            h, ld = self.levels[i + 1](h, context)
            total = total + ld
        return h, total

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B = x.shape[0]
        h, total = self.levels[-1].inverse(x, context)
        eps: list[Tensor] = []
        for i in range(len(self.splits) - 1, -1, -1):
            split = self.splits[i]
            h, ld = split.inverse(h)
            total = total + ld
            eps.append(h[:, split.n_keep:].reshape(B, -1))
            h, ld = self.levels[i].inverse(h[:, : split.n_keep], context)
            total = total + ld
        return torch.cat([h.reshape(B, -1), *reversed(eps)], dim=1), total

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, levels={len(self.levels)}, latent=({self.latent_shape[0]},)"
