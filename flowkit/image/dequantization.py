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
  conditional flow :math:`q(u\mid x)`, trained jointly with the model on the ELBO
  :math:`\log P(x) \ge \mathbb E_q[\log p((x+u)/K) - \log q(u\mid x)] - D\log K`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ._shapes import as_chw, positive_int
from .masks import channel_mask, checkerboard_mask
from .resnet import ResNet

__all__ = ["UniformDequantization", "VariationalDequantization"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _as_float_images(x_int: Tensor, n_bins: int, dtype: torch.dtype) -> Tensor:
    if not isinstance(x_int, Tensor):
        raise TypeError(f"dequantization expects a tensor of integer images, got {type(x_int).__name__}")
    x = x_int.to(dtype)
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"dequantization expects a non-empty batch of images, got shape {tuple(x_int.shape)}")
    if not torch.isfinite(x).all() or bool((x != torch.round(x)).any()) or bool(((x < 0) | (x > n_bins - 1)).any()):
        raise ValueError(f"images must hold integers in 0..{n_bins - 1} (n_bins={n_bins}), "
                         f"got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")
    return x


class UniformDequantization(nn.Module):
    r"""``y = (x + u) / K`` with :math:`u \sim U[0,1)^D`; :math:`\log q(u\mid x) = 0`."""

    def forward(self, x_int: Tensor, n_bins: int, *, dtype: torch.dtype = torch.float32,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        x = _as_float_images(x_int, n_bins, dtype)
        u = torch.rand(x.shape, generator=generator, dtype=dtype, device=x.device)
        return (x + u) / n_bins, x.new_zeros(x.shape[0])


class VariationalDequantization(nn.Module):
    r"""Flow++-style learned dequantization noise :math:`q(u\mid x)` on :math:`[0,1)^D`.

    The noise is a conditional flow of a standard normal :math:`\varepsilon`:

    .. math:: h_0 = \varepsilon \sim \mathcal N(0, I),\quad
              h_k = h_{k-1}^{a} \,\|\, \big(h_{k-1}^{b} e^{s_k} + t_k\big),\ (s_k, t_k) = \mathrm{NN}_k(h_{k-1}^{a}, c(x)),
              \quad u = \Phi(h_n),

    with checkerboard (or channel) masks alternating between the ``n_couplings`` affine
    couplings, a context :math:`c(x)` computed from the image by a :class:`ResNet`, soft-clamped
    log-scales :math:`s = 3\tanh(\tilde s/3)` and :math:`\Phi` the standard normal CDF. By the
    change of variables,

    .. math:: \log q(u\mid x) = \log\mathcal N(\varepsilon; 0, I) - \sum_k \sum s_k^{b}
              - \sum_i \log\varphi(h_{n,i}),

    :math:`\varphi` the standard normal density. Flow++ ends with a sigmoid; the normal CDF is
    used here because then the identity-initialised couplings (zero output convolutions) give
    :math:`u = \Phi(\varepsilon) \sim U(0,1)^D` exactly with :math:`\log q = 0`: a fresh
    variational dequantizer *is* the uniform one, and training can only tighten the bound.
    In floating point, ``y = (x + u)/K`` can round onto the cell's upper edge (as with
    uniform noise): models should accept the closed interval, as :class:`~flowkit.image.Logit`
    with ``alpha > 0`` does.

    Args:
        shape: image shape ``(C, H, W)``.
        hidden: width of the conditioner and context networks.
        n_couplings: number of conditional affine couplings.
        n_blocks: residual blocks per network.
        context_channels: channels of the context features :math:`c(x)`.
    """

    def __init__(self, shape: Sequence[int], hidden: int = 32, n_couplings: int = 2, n_blocks: int = 1,
                 context_channels: int = 8, scale_bound: float = 3.0) -> None:
        super().__init__()
        C, H, W = self.shape = as_chw(shape, "VariationalDequantization")
        positive_int(n_couplings, "n_couplings", "VariationalDequantization")
        positive_int(context_channels, "context_channels", "VariationalDequantization")
        self.scale_bound = float(scale_bound)
        self.context = ResNet(C, context_channels, hidden=hidden, n_blocks=n_blocks, zero_init=False)
        masks = []
        for k in range(n_couplings):
            masks.append(checkerboard_mask(C, H, W, flip=bool(k % 2)) if H * W >= 2
                         else channel_mask(C, H, W, flip=bool(k % 2)))
        self.register_buffer("masks", torch.stack(masks))
        self.couplings = nn.ModuleList(
            ResNet(C + context_channels, 2 * C, hidden=hidden, n_blocks=n_blocks, zero_init=True)
            for _ in range(n_couplings))

    def _ctx(self, x: Tensor, n_bins: int) -> Tensor:
        return self.context(x / max(n_bins - 1, 1) - 0.5)

    def _params(self, k: int, h: Tensor, ctx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mask = self.masks[k]
        out = self.couplings[k](torch.cat([h * mask, ctx], dim=1))
        C = h.shape[1]
        c = self.scale_bound
        return mask, c * torch.tanh(out[:, :C] / c), out[:, C:]

    def noise(self, x: Tensor, n_bins: int, eps: Tensor) -> tuple[Tensor, Tensor]:
        r"""The deterministic part: ``(u, log q(u|x))`` for given images ``x`` (float) and ``ε``."""
        ctx = self._ctx(x, n_bins)
        B = x.shape[0]
        log_q = (-0.5 * eps.pow(2) - _HALF_LOG_2PI).reshape(B, -1).sum(dim=1)
        h = eps
        for k in range(len(self.couplings)):
            mask, s, t = self._params(k, h, ctx)
            h = torch.where(mask, h, h * torch.exp(s) + t)
            log_q = log_q - (s * (~mask)).reshape(B, -1).sum(dim=1)
        u = torch.special.ndtr(h)
        log_q = log_q - (-0.5 * h.pow(2) - _HALF_LOG_2PI).reshape(B, -1).sum(dim=1)
        return u, log_q

    def log_q(self, u: Tensor, x_int: Tensor, n_bins: int) -> Tensor:
        r""":math:`\log q(u\mid x)` of given noise ``u`` in :math:`(0,1)^D` (inverts the flow)."""
        x = _as_float_images(x_int, n_bins, u.dtype)
        ctx = self._ctx(x, n_bins)
        B = x.shape[0]
        h = torch.special.ndtri(u)
        total = (-0.5 * h.pow(2) - _HALF_LOG_2PI).reshape(B, -1).sum(dim=1)  # + log|det ∂h/∂u| = -Σ log φ(h)
        total = -total
        for k in range(len(self.couplings) - 1, -1, -1):
            mask, s, t = self._params(k, h, ctx)  # the masked part of h is unchanged by coupling k
            h = torch.where(mask, h, (h - t) * torch.exp(-s))
            total = total - (s * (~mask)).reshape(B, -1).sum(dim=1)
        return total + (-0.5 * h.pow(2) - _HALF_LOG_2PI).reshape(B, -1).sum(dim=1)

    def forward(self, x_int: Tensor, n_bins: int, *, dtype: torch.dtype = torch.float32,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        x = _as_float_images(x_int, n_bins, dtype)
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"VariationalDequantization: expected images of shape (batch, {self.shape}), "
                             f"got {tuple(x.shape)}")
        eps = torch.randn(x.shape, generator=generator, dtype=dtype, device=x.device)
        u, log_q = self.noise(x, n_bins, eps)
        return (x + u) / n_bins, log_q
