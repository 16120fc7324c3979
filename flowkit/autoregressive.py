r"""Autoregressive flows: MADE, the masked autoregressive flow (MAF) and its inverse (IAF).

An autoregressive transform maps each feature with parameters that depend only on the
*previous* features in a fixed order :math:`\pi`: the Jacobian is triangular in that order,
so its log-determinant is the sum of the log-slopes on the diagonal.

MADE (Germain et al., 2015, "MADE: Masked Autoencoder for Distribution Estimation")
    One MLP computes all conditionals :math:`\theta_i(x_{<i})` in a single pass: each unit
    gets a *degree* and its weight matrix is multiplied by a binary mask that only keeps
    connections from lower (hidden layers: lower-or-equal) degrees, so output ``i`` is
    connected only to inputs that come before ``i`` in the order.

MAF (Papamakarios et al., 2017, "Masked Autoregressive Flow for Density Estimation")
    In flowkit's convention (``forward`` generative z → x, ``inverse`` normalizing x → z):

    * **inverse** (density evaluation, one MADE pass):
      :math:`z_i = (x_i - \mu_i(x_{<i}))\,e^{-s_i(x_{<i})}`,
      :math:`\log|\det \partial z/\partial x| = -\sum_i s_i(x_{<i})`;
    * **forward** (sampling, ``D`` sequential MADE passes):
      :math:`x_i = z_i\,e^{s_i(x_{<i})} + \mu_i(x_{<i})` for :math:`i = \pi_1, \dots, \pi_D`,
      :math:`\log|\det \partial x/\partial z| = \sum_i s_i(x_{<i})`.

    So a MAF is fast to *train by maximum likelihood* and slow to sample.

IAF (Kingma et al., 2016, "Improved Variational Inference with Inverse Autoregressive Flow")
    ``flowkit.Inverse(MaskedAffineAutoregressive(D))`` is an inverse autoregressive flow: its
    forward (sampling) is the MAF's one-pass inverse,
    :math:`x_i = (z_i - \mu_i(z_{<i}))\,e^{-s_i(z_{<i})}` — the shift and scale depend on the
    *base* sample, as in Kingma et al. (their :math:`\mu, \sigma` are
    :math:`-\mu e^{-s}, e^{-s}` here) — and sampling with its density
    (:meth:`flowkit.Flow.sample_and_log_prob`) is a single pass, what reverse-KL /
    variational inference needs. Evaluating the density of a *given* x is then the
    ``D``-pass direction.

The log-scale is soft-clamped, :math:`s = c\tanh(\tilde s/c)` (``scale_bound`` ``c``), as
in :class:`flowkit.AffineCoupling`, and MADE's last layer starts at zero so a fresh layer
is exactly the identity.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .base import Transform

__all__ = ["MaskedLinear", "MADE", "MaskedAffineAutoregressive", "MAF"]


def _pos_int(v: object, name: str, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {v!r}")
    return v


def _as_order(order: Sequence[int] | Tensor | None, features: int, where: str) -> Tensor:
    if order is None:
        return torch.arange(features)
    o = torch.as_tensor(order, dtype=torch.long)
    if o.shape != (features,) or not torch.equal(o.sort().values, torch.arange(features)):
        raise ValueError(f"{where}: order must be a rearrangement of 0..{features - 1}, got {o.tolist()}")
    return o


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed binary ``mask`` (``out × in``) in every call."""

    def __init__(self, in_features: int, out_features: int, mask: Tensor, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        if tuple(mask.shape) != (out_features, in_features):
            raise ValueError(f"MaskedLinear: mask must have shape {(out_features, in_features)}, got {tuple(mask.shape)}")
        self.register_buffer("mask", mask.bool())

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    r"""Masked autoencoder for distribution estimation (Germain et al., 2015).

    Maps ``x`` of shape ``(batch, D)`` to ``(batch, n_params, D)`` such that output
    ``[:, p, i]`` depends only on the features that precede ``i`` in ``order``.

    Degrees: input ``i`` has degree :math:`m(i) = 1 + \text{rank of } i \text{ in the order}`
    (``1..D``); hidden unit ``k`` of every layer has degree :math:`1 + (k \bmod (D-1))`
    (deterministic, all of ``1..D-1`` used). Masks:
    hidden layers :math:`M_{kj} = [m(k) \ge m(j)]`, output :math:`M_{ij} = [m(i) > m(j)]`.
    So output ``i`` sees input ``j`` only through paths with :math:`m(j) < m(i)`: the
    Jacobian :math:`\partial\,\text{out}_i / \partial x_j` is zero unless ``j`` comes first.
    The first feature in the order gets constant parameters (its output is the bias).

    Args:
        features: ``D``.
        n_params: parameters per feature (2 for an affine layer: shift and log-scale).
        hidden: hidden layer widths (each should be ≥ D-1 so every degree is present).
        order: the autoregressive order, a permutation of ``0..D-1`` (default ``0, 1, …``).
        activation: the nonlinearity between layers.
        zero_init: zero the last layer so all outputs start at 0.
    """

    def __init__(self, features: int, n_params: int = 2, hidden: Sequence[int] = (64, 64),
                 order: Sequence[int] | Tensor | None = None, activation: type[nn.Module] = nn.ReLU,
                 zero_init: bool = True) -> None:
        super().__init__()
        D = _pos_int(features, "features", "MADE")
        self.features = D
        self.n_params = _pos_int(n_params, "n_params", "MADE")
        hidden = tuple(_pos_int(h, "hidden width", "MADE") for h in hidden)
        order_t = _as_order(order, D, "MADE")
        self.register_buffer("order", order_t)
        in_deg = torch.empty(D, dtype=torch.long)
        in_deg[order_t] = torch.arange(1, D + 1)
        self.register_buffer("degrees", in_deg)
        layers: list[nn.Module] = []
        prev_deg, prev_size = in_deg, D
        for h in hidden:
            deg = torch.arange(h) % max(D - 1, 1) + 1
            layers += [MaskedLinear(prev_size, h, deg[:, None] >= prev_deg[None, :]), activation()]
            prev_deg, prev_size = deg, h
        out_deg = in_deg.repeat(self.n_params)  # output p*D + i has the degree of feature i
        self.out = MaskedLinear(prev_size, self.n_params * D, out_deg[:, None] > prev_deg[None, :])
        self.body = nn.Sequential(*layers)
        if zero_init:
            with torch.no_grad():
                self.out.weight.zero_()
                self.out.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        h = self.out(self.body(x))
        return h.view(x.shape[0], self.n_params, self.features)

    def connectivity(self) -> Tensor:
        """``(D, D)`` boolean matrix: ``[i, j]`` is True when output ``i`` may depend on input ``j``."""
        m = None
        for layer in [*(l for l in self.body if isinstance(l, MaskedLinear)), self.out]:
            mk = layer.mask.to(torch.float64)
            m = mk if m is None else mk @ m
        assert m is not None
        m = m.view(self.n_params, self.features, self.features).sum(0)
        return m > 0


class MaskedAffineAutoregressive(Transform):
    r"""One MAF layer (Papamakarios et al., 2017): an affine autoregressive transform.

    .. math::
        \text{inverse (x → z, one pass):}\quad z_i = (x_i - \mu_i(x_{<i}))\,e^{-s_i(x_{<i})},
        \qquad \log\left|\det\frac{\partial z}{\partial x}\right| = -\sum_i s_i(x_{<i});

        \text{forward (z → x, } D \text{ passes):}\quad x_i = z_i\,e^{s_i(x_{<i})} + \mu_i(x_{<i}),
        \qquad \log\left|\det\frac{\partial x}{\partial z}\right| = \sum_i s_i(x_{<i}),

    with :math:`(\mu, \tilde s) = \text{MADE}(x)` and the soft-clamped log-scale
    :math:`s = c\tanh(\tilde s/c)`, ``c = scale_bound``. ":math:`<i`" is with respect to
    ``order``. The forward pass runs MADE ``D`` times: after pass ``k`` the first ``k``
    features (in the order) are final, because feature ``i`` only needs the ones before it.

    ``flowkit.Inverse(MaskedAffineAutoregressive(D))`` is an inverse autoregressive flow
    (IAF, Kingma et al., 2016): one-pass sampling, ``D``-pass density evaluation.

    Args:
        features: ``D``.
        hidden: MADE hidden widths.
        scale_bound: ``c`` of the soft clamp (log-scales in ``(-c, c)`` per layer).
        order: autoregressive order (default ``0..D-1``); alternate orders between stacked
            layers (e.g. ``reverse=True`` or a :class:`flowkit.Reverse` in between).
        reverse: shorthand for ``order = D-1, …, 0``.
        activation: MADE nonlinearity.
        zero_init: start as the identity map.
    """

    def __init__(self, features: int, hidden: Sequence[int] = (64, 64), scale_bound: float = 3.0, *,
                 order: Sequence[int] | Tensor | None = None, reverse: bool = False,
                 activation: type[nn.Module] = nn.ReLU, zero_init: bool = True) -> None:
        D = _pos_int(features, "features", "MaskedAffineAutoregressive")
        if not (isinstance(scale_bound, (int, float)) and not isinstance(scale_bound, bool)
                and math.isfinite(scale_bound) and scale_bound > 0):
            raise ValueError(f"MaskedAffineAutoregressive: scale_bound must be a finite positive number, "
                             f"got {scale_bound!r}")
        if reverse and order is not None:
            raise ValueError("MaskedAffineAutoregressive: give either order or reverse=True, not both")
        super().__init__(D)
        if reverse:
            order = torch.arange(D - 1, -1, -1)
        self.made = MADE(D, 2, hidden, order, activation, zero_init)
        self.scale_bound = float(scale_bound)

    @property
    def order(self) -> Tensor:
        return self.made.order

    def log_scale(self, raw: Tensor) -> Tensor:
        """Soft clamp ``c·tanh(raw/c)`` of the raw log-scale."""
        c = self.scale_bound
        return c * torch.tanh(raw / c)

    def _shift_log_scale(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.made(x)
        return h[:, 0], self.log_scale(h[:, 1])

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, s = self._shift_log_scale(x)
        return (x - mu) * torch.exp(-s), -s.sum(dim=1)

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.zeros_like(z)
        s = torch.zeros_like(z)
        for _ in range(self.made.features):
            mu, s = self._shift_log_scale(x)
            x = z * torch.exp(s) + mu
        # the last pass saw every x_{<i} final, so its s is the s of the returned x
        return x, s.sum(dim=1)

    def extra_repr(self) -> str:
        return f"features={self.made.features}, scale_bound={self.scale_bound}"


MAF = MaskedAffineAutoregressive
"""Short alias of :class:`MaskedAffineAutoregressive`."""
