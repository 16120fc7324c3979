r"""Dequantization: from integer images to continuous data in :math:`[0,1)^D`, with the log-density of the noise.

These are *not* bijections (they add noise), so they are not :class:`~flowkit.Transform` s.
Each is a module called as ``y, log_q = deq(x_int, n_bins)`` that returns

* ``y = (x_int + u) / K`` with noise :math:`u \in [0,1)^D`, and
* ``log_q`` of shape ``(batch,)``: :math:`\log q(u\mid x)`, the log-density of the noise
  (in :math:`u` units).

The discrete NLL bound is then :math:`-\log p(y) + \log q + D\log K` (see
:mod:`flowkit.image.bpd` for the derivation); :class:`~flowkit.image.ImageFlow` does this.

* :class:`UniformDequantization` (Theis et al., 2016; RealNVP, Glow): :math:`u\sim U[0,1)^D`,
  :math:`\log q = 0`.
* :class:`VariationalDequantization` (Ho et al., 2019, Flow++): :math:`u` from a small
  conditional flow :math:`q(u\mid x)` — an ordinary :class:`~flowkit.Flow` whose couplings read
  a context computed from the image — trained jointly with the model on the ELBO
  :math:`\log P(x) \ge \mathbb E_q[\log p((x+u)/K) - \log q(u\mid x)] - D\log K`.

Noise drawn from a ``generator`` is drawn on that generator's device (the CPU for
``torch.Generator()``) and then moved to the images' device, so the same seed gives the same
noise on every device.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ..distributions import StandardNormal
from ..flow import Flow
from ..transforms.base import Compose, Transform, inside_flowkit
from ..transforms.coupling import AffineCoupling
from ..transforms.elementwise import NormalCDF
from ..validation import ArgumentTypeError, as_chw, positive_int
from .masks import channel_mask, checkerboard_mask
from .resnet import ResNet

__all__ = ["Dequantization", "UniformDequantization", "VariationalDequantization"]


def as_float_images(x_int: Tensor, n_bins: int, dtype: torch.dtype) -> Tensor:
    """Integer images (values ``0..n_bins-1``, any real dtype holding integers) as floats of ``dtype``."""
    if not isinstance(x_int, Tensor):
        raise ArgumentTypeError(f"images must be a torch.Tensor of integers, got {type(x_int).__name__}")
    if x_int.is_complex() or x_int.dtype == torch.bool:
        raise ArgumentTypeError(f"images must hold real integers 0..{n_bins - 1}, got dtype {x_int.dtype}")
    if x_int.dim() < 2 or x_int.shape[0] == 0:
        raise ValueError(f"images must be a non-empty batch, got shape {tuple(x_int.shape)}")
    x = x_int.to(dtype)
    if not bool(torch.isfinite(x).all()) or bool((x != torch.round(x)).any()) or bool(((x < 0) | (x > n_bins - 1)).any()):
        raise ValueError(f"images must hold integers in 0..{n_bins - 1} (n_bins={n_bins}), "
                         f"got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")
    return x


def _noise(kind: str, shape: torch.Size, generator: torch.Generator | None, like: Tensor) -> Tensor:
    draw = torch.rand if kind == "uniform" else torch.randn
    if generator is None:
        return draw(shape, dtype=like.dtype, device=like.device)
    return draw(shape, generator=generator, dtype=like.dtype, device=generator.device).to(like.device)


class Dequantization(nn.Module):
    """Base class: ``y, log_q = deq(x_int, n_bins)`` with ``y = (x_int + u) / n_bins``, ``u ∈ [0, 1)^D``.

    Example:
        >>> import torch
        >>> class Midpoint(Dequantization):   # u = 1/2, a point mass: log q would be +∞, so not a density
        ...     def noise(self, x, n_bins, generator=None):
        ...         return torch.full_like(x, 0.5), x.new_zeros(x.shape[0])
        >>> Midpoint()(torch.tensor([[0, 1]]), 2)[0]
        tensor([[0.2500, 0.7500]])
    """

    def noise(self, x: Tensor, n_bins: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(u, log q(u|x))`` for float images ``x``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def forward(self, x_int: Tensor, n_bins: int, *, dtype: torch.dtype = torch.float32,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        x = as_float_images(x_int, n_bins, dtype)
        u, log_q = self.noise(x, n_bins, generator)
        return (x + u) / n_bins, log_q


class UniformDequantization(Dequantization):
    r"""``y = (x + u) / K`` with :math:`u \sim U[0,1)^D`; :math:`\log q(u\mid x) = 0`.

    Example:
        >>> import torch
        >>> y, log_q = UniformDequantization()(torch.tensor([[0, 16]]), 17)
        >>> bool(((y >= 0) & (y < 1)).all()), float(log_q)
        (True, 0.0)
    """

    def noise(self, x: Tensor, n_bins: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        return _noise("uniform", x.shape, generator, x), x.new_zeros(x.shape[0])


class VariationalDequantization(Dequantization):
    r"""Flow++-style learned dequantization noise :math:`q(u\mid x)` on :math:`(0,1)^D`, a conditional flow.

    :math:`q(u\mid x)` is a :class:`~flowkit.Flow` (``self.flow``) with a standard-normal base and
    the transform ``Compose([AffineCoupling, …, NormalCDF])``: ``n_couplings`` affine couplings
    with alternating checkerboard (or channel) masks whose conditioners read
    :math:`[h \odot m,\ c(x)]`, a context :math:`c(x)` computed from the image by a :class:`ResNet`
    (``self.context``), then :class:`~flowkit.transforms.NormalCDF`, which maps onto the unit cube.
    By the change of variables :math:`\log q(u\mid x)` is the flow's ``log_prob(u, c(x))`` — and
    ``fk.check(deq.flow.transform, eps, context=deq.context_of(x, K))`` verifies it.

    Flow++ ends with a sigmoid; the normal CDF is used because then the identity-initialised
    couplings give :math:`u = \Phi(\varepsilon) \sim U(0,1)^D` exactly with :math:`\log q = 0`: a fresh
    variational dequantizer *is* the uniform one, and training can only tighten the bound.

    Args:
        shape: image shape ``(C, H, W)``.
        hidden: width of the conditioner and context networks.
        n_couplings: number of conditional affine couplings.
        n_blocks: residual blocks per network.
        context_channels: channels of the context features :math:`c(x)`.
        scale_bound: soft bound of the couplings' log-scales.
        direction: the couplings' parametrisation (:class:`~flowkit.AffineCoupling`); ``"generative"``
            is the one the shipped image checkpoints were trained with.

    Example:
        >>> import torch
        >>> deq = VariationalDequantization((1, 4, 4), hidden=8)
        >>> y, log_q = deq(torch.randint(0, 17, (2, 1, 4, 4)), 17)
        >>> y.shape, log_q.shape
        (torch.Size([2, 1, 4, 4]), torch.Size([2]))
    """

    def __init__(self, shape: Sequence[int], hidden: int = 32, n_couplings: int = 2, n_blocks: int = 1,
                 context_channels: int = 8, scale_bound: float = 3.0, direction: str = "generative") -> None:
        super().__init__()
        C, H, W = self.shape = as_chw(shape, "VariationalDequantization")
        positive_int(n_couplings, "n_couplings", "VariationalDequantization")
        cc = positive_int(context_channels, "context_channels", "VariationalDequantization")
        self.context = ResNet(C, cc, hidden=hidden, n_blocks=n_blocks, zero_init=False)
        layers: list[Transform] = []
        for k in range(n_couplings):
            flip = bool(k % 2)
            mask = checkerboard_mask(C, H, W, flip) if H * W >= 2 else channel_mask(C, H, W, flip)
            net = ResNet(C + cc, 2 * C, hidden=hidden, n_blocks=n_blocks)
            layers.append(AffineCoupling((C, H, W), mask=mask, conditioner=net, scale_bound=scale_bound,
                                         direction=direction))
        layers.append(NormalCDF((C, H, W)))
        self.flow = Flow(Compose(layers), StandardNormal((C, H, W)))

    def context_of(self, x: Tensor, n_bins: int) -> Tensor:
        """The context :math:`c(x)` of float images ``x`` (values ``0..n_bins-1``)."""
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"VariationalDequantization: expected images of shape (batch, {self.shape}), "
                             f"got {tuple(x.shape)}")
        return self.context(x / max(n_bins - 1, 1) - 0.5)

    def noise(self, x: Tensor, n_bins: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        return self.noise_from_eps(x, n_bins, _noise("normal", x.shape, generator, x))

    def noise_from_eps(self, x: Tensor, n_bins: int, eps: Tensor) -> tuple[Tensor, Tensor]:
        """The deterministic part: ``(u, log q(u|x))`` for float images ``x`` and base noise ``eps``."""
        ctx = self.context_of(x, n_bins)
        with inside_flowkit():
            u, ld = self.flow.transform(eps, ctx)
            return u, self.flow.base.log_prob(eps) - ld

    def log_q(self, u: Tensor, x_int: Tensor, n_bins: int) -> Tensor:
        r""":math:`\log q(u\mid x)` of given noise ``u`` in :math:`(0,1)^D` (inverts the flow)."""
        x = as_float_images(x_int, n_bins, u.dtype)
        return self.flow.log_prob(u, self.context_of(x, n_bins))
