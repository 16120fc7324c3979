r"""Rational-quadratic spline coupling (Durkan et al., 2019, "Neural Spline Flows").

The elementwise map of a coupling layer is a monotone *rational-quadratic* spline on the
interval :math:`[-B, B]` with ``K = n_bins`` bins, and the identity (slope 1) outside it
("linear tails"). Its parameters, computed from the conditioning features, are

* ``K`` bin widths and ``K`` bin heights: :math:`w = m_w + (1 - K m_w)\,\mathrm{softmax}(\tilde w)`
  scaled by ``2B`` (so the knots :math:`x^{(0)} = -B < \dots < x^{(K)} = B`, likewise
  :math:`y^{(k)}`), ``m_w`` = ``min_bin_width`` (same for heights);
* ``K - 1`` derivatives at the interior knots:
  :math:`\delta = m_\delta + \mathrm{softplus}(\tilde\delta + c)` with
  :math:`c = \log(e^{1 - m_\delta} - 1)`, so a zero input gives :math:`\delta = 1`; the two
  boundary derivatives are 1 to match the linear tails (the map is :math:`C^1`).

That is ``n_params = 3K - 1`` numbers per transformed feature.

Inside bin ``k``, with :math:`\xi = (x - x^{(k)})/w_k \in [0,1]`, :math:`s_k = h_k/w_k`:

.. math::
    g(x) = y^{(k)} + \frac{h_k\,[s_k\xi^2 + \delta_k\,\xi(1-\xi)]}{s_k + (\delta_{k+1} + \delta_k - 2s_k)\,\xi(1-\xi)},
    \qquad
    g'(x) = \frac{s_k^2\,[\delta_{k+1}\xi^2 + 2s_k\xi(1-\xi) + \delta_k(1-\xi)^2]}
                 {[s_k + (\delta_{k+1} + \delta_k - 2s_k)\,\xi(1-\xi)]^2} > 0 .

The inverse solves the quadratic :math:`a\xi^2 + b\xi + c = 0` for ``y`` in bin ``k`` with
:math:`a = h_k(s_k - \delta_k) + (y - y^{(k)})\,\Delta`, :math:`b = h_k\delta_k - (y - y^{(k)})\,\Delta`,
:math:`c = -s_k (y - y^{(k)})`, :math:`\Delta = \delta_{k+1} + \delta_k - 2s_k`, taking the root
in :math:`[0,1]` in the cancellation-free form :math:`\xi = 2c / (-b - \sqrt{b^2 - 4ac})`.

**Identity at initialisation.** The conditioner's last layer starts at zero, so all widths
and heights are equal (:math:`s_k = 1`) and all derivatives are 1; then
:math:`g(x) = y^{(k)} + w\,[\xi^2 + \xi(1-\xi)] / 1 = x^{(k)} + w\xi = x`: the identity,
with log-det 0.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..validation import finite_real, positive_int
from .coupling import Coupling
from .elementwise import ElementwiseMap

__all__ = ["RQSplineCoupling", "SplineMap", "rational_quadratic_spline"]


def _knots(raw: Tensor, bound: float, min_size: float) -> tuple[Tensor, Tensor]:
    """Bin sizes and knot positions (``K+1``, from -bound to bound exactly) from unnormalised sizes."""
    K = raw.shape[-1]
    sizes = min_size + (1.0 - min_size * K) * torch.softmax(raw, dim=-1)
    cum = torch.cumsum(sizes, dim=-1)
    cum = F.pad(cum, (1, 0), value=0.0)
    cum = 2.0 * bound * cum - bound
    cum = torch.cat([cum[..., :1].new_full(cum[..., :1].shape, -bound), cum[..., 1:-1],
                     cum[..., -1:].new_full(cum[..., -1:].shape, bound)], dim=-1)
    return cum[..., 1:] - cum[..., :-1], cum


def _search(knots: Tensor, v: Tensor) -> Tensor:
    """Index ``k`` of the bin ``[knots[k], knots[k+1])`` holding ``v`` (clamped to ``0..K-1``)."""
    K = knots.shape[-1] - 1
    idx = torch.sum(v.unsqueeze(-1) >= knots[..., 1:-1], dim=-1)
    return idx.clamp(0, K - 1)


def _unit(xi: Tensor) -> Tensor:
    """``xi`` clamped to [0, 1] in value but not in gradient (rounding can put a knot a hair outside)."""
    return xi + (xi.clamp(0.0, 1.0) - xi).detach()


def rational_quadratic_spline(inputs: Tensor, params: Tensor, *, inverse: bool = False, bound: float = 4.0,
                              min_bin_width: float = 1e-3, min_bin_height: float = 1e-3,
                              min_derivative: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Elementwise RQ spline with linear (identity) tails outside ``[-bound, bound]``.

    Args:
        inputs: any shape ``S``.
        params: shape ``(*S, 3K - 1)``: ``K`` widths, ``K`` heights, ``K - 1`` interior derivatives
            (unnormalised, see the module docstring).
        inverse: apply :math:`g^{-1}` instead of :math:`g`.

    Returns:
        ``(outputs, log|g'|)`` elementwise, both of shape ``S`` (for the inverse, the log-slope
        of :math:`g^{-1}`, i.e. :math:`-\\log g'(g^{-1}(y))`).

    Every entry is computed with the same operations (entries in the tails evaluate the spline
    at the clamped input and then take the identity), so the function has no data-dependent
    shapes and works under ``torch.func.vmap``; the position inside a bin is clamped to
    ``[0, 1]`` without cutting its gradient, so derivatives stay exact at knots and at ``±bound``.

    Example:
        >>> import torch
        >>> y, ld = rational_quadratic_spline(torch.tensor([0.3, 9.0]), torch.zeros(2, 23))
        >>> y, ld.abs().max() < 1e-6        # zero parameters: the identity (9 lies in the linear tail)
        (tensor([0.3000, 9.0000]), tensor(True))
    """
    n = params.shape[-1]
    if (n + 1) % 3 != 0 or n < 2:
        raise ValueError(f"rational_quadratic_spline: params must have 3K-1 entries in the last dim, got {n}")
    K = (n + 1) // 3
    if min_bin_width * K >= 1 or min_bin_height * K >= 1:
        raise ValueError("rational_quadratic_spline: min_bin_width/height times n_bins must be < 1")
    raw_w, raw_h, raw_d = params[..., :K], params[..., K:2 * K], params[..., 2 * K:]
    inside = (inputs >= -bound) & (inputs <= bound)
    x = inputs.clamp(-bound, bound)

    widths, xk = _knots(raw_w, bound, min_bin_width)
    heights, yk = _knots(raw_h, bound, min_bin_height)
    const = math.log(math.expm1(1.0 - min_derivative))
    d = F.pad(min_derivative + F.softplus(raw_d + const), (1, 1), value=1.0)  # C¹ with the linear tails

    idx = _search(yk if inverse else xk, x).unsqueeze(-1)
    x_k, y_k = xk.gather(-1, idx).squeeze(-1), yk.gather(-1, idx).squeeze(-1)
    w, h = widths.gather(-1, idx).squeeze(-1), heights.gather(-1, idx).squeeze(-1)
    d0, d1 = d.gather(-1, idx).squeeze(-1), d.gather(-1, idx + 1).squeeze(-1)
    s = h / w
    delta = d1 + d0 - 2.0 * s

    if inverse:
        dy = x - y_k
        a = h * (s - d0) + dy * delta
        b = h * d0 - dy * delta
        c = -s * dy
        disc = (b.pow(2) - 4.0 * a * c).clamp_min(0.0)
        xi = _unit((2.0 * c) / (-b - torch.sqrt(disc)))
    else:
        xi = _unit((x - x_k) / w)
    t = xi * (1.0 - xi)
    denom = s + delta * t
    log_slope = torch.log(s.pow(2) * (d1 * xi.pow(2) + 2.0 * s * t + d0 * (1.0 - xi).pow(2))) - 2.0 * torch.log(denom)
    if inverse:
        out, ld = x_k + xi * w, -log_slope
    else:
        out, ld = y_k + h * (s * xi.pow(2) + d0 * t) / denom, log_slope
    return torch.where(inside, out, inputs), torch.where(inside, ld, torch.zeros_like(ld))


class SplineMap(ElementwiseMap):
    """The elementwise map of :class:`RQSplineCoupling`: :func:`rational_quadratic_spline` with ``3K - 1`` parameters.

    Example:
        >>> import torch
        >>> m = SplineMap(n_bins=4)
        >>> m.n_params
        11
        >>> m.forward(torch.tensor([[0.5]]), torch.zeros(1, 11, 1))[0]   # zero parameters: the identity
        tensor([[0.5000]])
    """

    def __init__(self, n_bins: int = 8, bound: float = 4.0, min_bin_width: float = 1e-3,
                 min_bin_height: float = 1e-3, min_derivative: float = 1e-3) -> None:
        where = "RQSplineCoupling"
        self.n_bins = positive_int(n_bins, "n_bins", where)
        self.bound = finite_real(bound, "bound", where, low=0.0, low_open=True)
        self.min_bin_width = finite_real(min_bin_width, "min_bin_width", where, low=0.0, low_open=True)
        self.min_bin_height = finite_real(min_bin_height, "min_bin_height", where, low=0.0, low_open=True)
        self.min_derivative = finite_real(min_derivative, "min_derivative", where, low=0.0, high=1.0,
                                          low_open=True, high_open=True)
        if self.min_bin_width * n_bins >= 1 or self.min_bin_height * n_bins >= 1:
            raise ValueError(f"{where}: min_bin_width·n_bins and min_bin_height·n_bins must be < 1")
        self.n_params = 3 * self.n_bins - 1

    def _spline(self, u: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        # params: (batch, n_params, *shape) → (batch, *shape, n_params)
        return rational_quadratic_spline(u, params.movedim(1, -1), inverse=inverse, bound=self.bound,
                                         min_bin_width=self.min_bin_width, min_bin_height=self.min_bin_height,
                                         min_derivative=self.min_derivative)

    def forward(self, z: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return self._spline(z, params, inverse=False)

    def inverse(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return self._spline(x, params, inverse=True)

    def __repr__(self) -> str:
        return f"SplineMap(n_bins={self.n_bins}, bound={self.bound})"


class RQSplineCoupling(Coupling):
    r"""Coupling layer with a rational-quadratic spline per transformed feature (Durkan et al., 2019).

    forward: :math:`x_a = z_a,\ x_b = g_{\theta(z_a)}(z_b)`; inverse:
    :math:`z_b = g^{-1}_{\theta(x_a)}(x_b)` (the quadratic root, exact up to rounding);
    :math:`\log|\det J| = \sum_b \log g'(z_b)` (and minus it for the inverse). ``g`` is the
    identity outside ``[-bound, bound]`` (linear tails). See :mod:`flowkit.transforms.spline`
    for the formulas. A fresh layer (zero-initialised conditioner) is exactly the identity.

    Args:
        features_or_shape: ``D`` (or an event shape with an explicit mask and conditioner).
        mask: ``True`` where features pass through unchanged (default: the first half).
        conditioner: optional network with ``n_params = 3·n_bins − 1`` outputs per transformed
            feature (default: an :class:`~flowkit.MLP` with ``hidden`` units).
        n_bins: ``K``.
        bound: ``B``; the spline acts on ``[-B, B]``.
        min_bin_width, min_bin_height, min_derivative: lower limits that keep the map
            well conditioned.
        zero_init: start as the identity.
        context_features: size of a context row the default MLP also reads.

    Example:
        >>> import torch, flowkit as fk
        >>> fk.check(fk.RQSplineCoupling(2, zero_init=False), torch.randn(16, 2)).passed
        True
    """

    def __init__(self, features_or_shape: int | Sequence[int], mask: Tensor | None = None,
                 conditioner: nn.Module | None = None, hidden: Sequence[int] = (64, 64), *,
                 n_bins: int = 8, bound: float = 4.0, min_bin_width: float = 1e-3,
                 min_bin_height: float = 1e-3, min_derivative: float = 1e-3, zero_init: bool = True,
                 context_features: int = 0) -> None:
        spline = SplineMap(n_bins, bound, min_bin_width, min_bin_height, min_derivative)
        super().__init__(features_or_shape, mask, conditioner, hidden, zero_init, elementwise=spline,
                         context_features=context_features)

    def __getattr__(self, name: str):
        if name in ("n_bins", "n_params", "bound", "min_bin_width", "min_bin_height", "min_derivative"):
            return getattr(self.elementwise, name)
        return super().__getattr__(name)
