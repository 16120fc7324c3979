r"""Multi-scale architecture: :class:`Split` (a learned conditional prior) and :class:`MultiScale`.

How the factored-out half is counted
------------------------------------
RealNVP and Glow (Dinh et al., 2017, Sec. 3.6; Kingma & Dhariwal, 2018, Sec. 3)
"factor out" half of the channels after each level: :math:`h = (z_1, z_2)`, only
:math:`z_1` goes on through the later levels, and :math:`z_2` is scored by a prior —
in Glow a learned *conditional* Gaussian :math:`p(z_2\mid z_1) = \mathcal N(\mu(z_1), \operatorname{diag}\sigma(z_1)^2)`.

flowkit keeps this exact by writing the conditional prior as a bijection (the
reparameterisation) and the factoring-out as pure bookkeeping:

1. :class:`Split` is a *shape-preserving* :class:`~flowkit.Transform` on ``(C, H, W)``:
   inverse :math:`(z_1, z_2) \mapsto (z_1,\ \varepsilon = (z_2 - \mu(z_1))\,e^{-s(z_1)})` with
   :math:`\log|\det J| = -\sum s(z_1)`. Since :math:`\varepsilon \sim \mathcal N(0, I)` under the base,

   .. math:: \log\mathcal N(\varepsilon; 0, I) - \textstyle\sum s(z_1) = \log\mathcal N(z_2;\ \mu(z_1),\ e^{2 s(z_1)}),

   i.e. the standard-normal base density of :math:`\varepsilon` plus this log-det is *exactly*
   the conditional prior's log-density. Split passes :func:`flowkit.check` like any layer.
2. :class:`MultiScale` chains the levels: after level ``i`` (and its Split) the second
   half :math:`\varepsilon_i` is set aside and only the first half continues. Its latent
   is the flat vector ``z = concat(flatten(ε_0), …, flatten(ε_{L-2}), flatten(z_final))``
   of all ``D = C·H·W`` numbers. The whole map x ↔ z is one bijection whose log-det is the
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

from ..base import Transform
from ._shapes import as_chw
from .resnet import ResNet

__all__ = ["Split", "MultiScale"]


class Split(Transform):
    r"""Learned conditional Gaussian prior :math:`p(z_2\mid z_1)` of the factored-out channels, as a bijection.

    With :math:`z_1` = the first ``C // 2`` channels (kept; they go on to the next level)
    and :math:`z_2` the other ``C - C // 2`` (factored out), and
    :math:`(\mu, \tilde s) = \text{prior}(z_1)`, :math:`s = c\tanh(\tilde s / c)`:

    * inverse (normalizing): :math:`\varepsilon = (z_2 - \mu)\,e^{-s}`, :math:`z_1` unchanged;
      :math:`\log|\det J| = -\sum s`;
    * forward (generative): :math:`z_2 = \mu + e^{s}\,\varepsilon`; :math:`\log|\det J| = \sum s`.

    Args:
        shape: event shape ``(C, H, W)``, ``C >= 2``.
        hidden: ``None`` (default) for Glow's prior, a single zero-initialised 3×3
            convolution ``C//2 → 2·(C - C//2)``; an int for a :class:`ResNet` of that width.
        n_blocks: residual blocks of that ResNet.
        scale_bound: soft bound ``c`` on the log-scale (``None``: unbounded).

    The prior network starts at zero, so a fresh Split is the identity (the prior is N(0, I)).
    See the module docstring for why this counts :math:`\log p(z_2\mid z_1)` exactly
    inside a :class:`MultiScale` model.
    """

    def __init__(self, shape: Sequence[int], hidden: int | None = None, n_blocks: int = 1,
                 scale_bound: float | None = 5.0) -> None:
        C, H, W = as_chw(shape, "Split")
        if C < 2:
            raise ValueError(f"Split: needs at least 2 channels to factor out half, got shape {(C, H, W)}")
        if scale_bound is not None and not (isinstance(scale_bound, (int, float)) and math.isfinite(scale_bound)
                                            and scale_bound > 0):
            raise ValueError(f"Split: scale_bound must be a finite positive number or None, got {scale_bound!r}")
        super().__init__((C, H, W))
        self.n_keep = C // 2
        self.n_out = C - self.n_keep
        if hidden is None:
            prior: nn.Module = nn.Conv2d(self.n_keep, 2 * self.n_out, 3, padding=1)
            with torch.no_grad():
                prior.weight.zero_()
                prior.bias.zero_()
        else:
            prior = ResNet(self.n_keep, 2 * self.n_out, hidden=hidden, n_blocks=n_blocks, zero_init=True)
        self.prior = prior
        self.scale_bound = None if scale_bound is None else float(scale_bound)

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
        """:math:`(\\mu(z_1), s(z_1))` of the conditional prior of the factored-out half."""
        h = self.prior(z1)
        mu, raw = h[:, : self.n_out], h[:, self.n_out:]
        s = raw if self.scale_bound is None else self.scale_bound * torch.tanh(raw / self.scale_bound)
        return mu, s

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        z1, eps = z[:, : self.n_keep], z[:, self.n_keep:]
        mu, s = self.mean_and_log_scale(z1)
        z2 = mu + torch.exp(s) * eps
        return torch.cat([z1, z2], dim=1), s.reshape(z.shape[0], -1).sum(dim=1)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z1, z2 = x[:, : self.n_keep], x[:, self.n_keep:]
        mu, s = self.mean_and_log_scale(z1)
        eps = (z2 - mu) * torch.exp(-s)
        return torch.cat([z1, eps], dim=1), -s.reshape(x.shape[0], -1).sum(dim=1)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, keep={self.n_keep}, factor_out={self.n_out}"


class MultiScale(Transform):
    """A multi-scale flow: levels separated by :class:`Split` s, with a flat latent of all ``D`` numbers.

    Args:
        levels: ``L`` transforms, **in the normalizing order**: ``levels[0]`` acts on the
            data-side input, ``levels[i+1]`` on the half of ``levels[i]``'s output that
            :class:`Split` ``splits[i]`` keeps. Every level must declare its shapes
            (a :class:`~flowkit.Compose` of image layers does); a level may change shape
            (e.g. start with a :class:`~flowkit.image.Squeeze`).
        splits: ``L - 1`` :class:`Split` layers; ``splits[i].event_shape`` must equal
            ``levels[i].latent_shape``.

    ``event_shape = levels[0].event_shape``; ``latent_shape = (D,)``.

    inverse (x → z): ``h = x``; for each level ``i``: ``h = levels[i]⁻¹(h)``, then (if not last)
    ``h = splits[i]⁻¹(h)``, set aside ``ε_i = h[:, C//2:]`` and continue with ``h[:, :C//2]``;
    ``z = concat(flatten(ε_0), …, flatten(ε_{L-2}), flatten(h))``. log|det| = the sum of all
    levels' and splits' inverse log-dets. forward (z → x) undoes these steps in reverse order,
    with log|det| the sum of the forward log-dets. See the module docstring for why
    ``log N(z) + log|det ∂z/∂x|`` is exactly the multi-scale log-likelihood.
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
            if tuple(levels[i].latent_shape) != tuple(s.event_shape):
                raise ValueError(f"MultiScale: level {i} outputs shape {levels[i].latent_shape} but split {i} "
                                 f"expects {s.event_shape}")
            if tuple(levels[i + 1].event_shape) != s.kept_shape:
                raise ValueError(f"MultiScale: split {i} keeps shape {s.kept_shape} but level {i + 1} expects "
                                 f"{levels[i + 1].event_shape}")
        self.factored_shapes: list[tuple[int, ...]] = [s.factored_shape for s in splits]
        self.final_shape: tuple[int, ...] = tuple(levels[-1].latent_shape)
        sizes = [math.prod(s) for s in self.factored_shapes] + [math.prod(self.final_shape)]
        dim = sum(sizes)
        if dim != math.prod(levels[0].event_shape):
            raise ValueError(f"MultiScale: the latent has {dim} numbers but the input has "
                             f"{math.prod(levels[0].event_shape)}; a level changes the dimension")
        super().__init__(levels[0].event_shape, (dim,))
        self.levels = nn.ModuleList(levels)
        self.splits = nn.ModuleList(splits)
        self._sizes = sizes

    def latent_parts(self, z: Tensor) -> list[Tensor]:
        """Cut a flat latent ``(B, D)`` into ``[ε_0, …, ε_{L-2}, z_final]`` with their image shapes."""
        parts = torch.split(z, self._sizes, dim=1)
        shapes = [*self.factored_shapes, self.final_shape]
        return [p.reshape(z.shape[0], *s) for p, s in zip(parts, shapes)]

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        h = x
        out: list[Tensor] = []
        for i, level in enumerate(self.levels):
            h, ld = level._inverse(h)
            total = total + ld
            if i < len(self.splits):
                split = self.splits[i]
                h, ld = split._inverse(h)
                total = total + ld
                out.append(h[:, split.n_keep:].reshape(x.shape[0], -1))
                h = h[:, : split.n_keep]
        out.append(h.reshape(x.shape[0], -1))
        return torch.cat(out, dim=1), total

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        parts = self.latent_parts(z)
        total = z.new_zeros(z.shape[0])
        h, ld = self.levels[-1]._forward(parts[-1])
        total = total + ld
        for i in range(len(self.splits) - 1, -1, -1):
            h, ld = self.splits[i]._forward(torch.cat([h, parts[i]], dim=1))
            total = total + ld
            h, ld = self.levels[i]._forward(h)
            total = total + ld
        return h, total

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, levels={len(self.levels)}, latent=({self.latent_shape[0]},)"
