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

from .coupling import Coupling

__all__ = ["RQSplineCoupling", "rational_quadratic_spline"]


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
    """
    n = params.shape[-1]
    if (n + 1) % 3 != 0 or n < 2:
        raise ValueError(f"rational_quadratic_spline: params must have 3K-1 entries in the last dim, got {n}")
    K = (n + 1) // 3
    if min_bin_width * K >= 1 or min_bin_height * K >= 1:
        raise ValueError("rational_quadratic_spline: min_bin_width/height times n_bins must be < 1")
    raw_w, raw_h, raw_d = params[..., :K], params[..., K:2 * K], params[..., 2 * K:]

    inside = (inputs >= -bound) & (inputs <= bound)
    out = inputs.clone()
    logabsdet = torch.zeros_like(inputs)
    if not bool(inside.any()):
        return out, logabsdet
    x = inputs[inside]
    raw_w, raw_h, raw_d = raw_w[inside], raw_h[inside], raw_d[inside]

    widths, xk = _knots(raw_w, bound, min_bin_width)
    heights, yk = _knots(raw_h, bound, min_bin_height)
    const = math.log(math.expm1(1.0 - min_derivative))
    d_inner = min_derivative + F.softplus(raw_d + const)
    d = F.pad(d_inner, (1, 1), value=1.0)  # boundary derivatives 1: C¹ with the linear tails

    idx = _search(yk if inverse else xk, x).unsqueeze(-1)
    x_k = xk.gather(-1, idx).squeeze(-1)
    y_k = yk.gather(-1, idx).squeeze(-1)
    w = widths.gather(-1, idx).squeeze(-1)
    h = heights.gather(-1, idx).squeeze(-1)
    d0 = d.gather(-1, idx).squeeze(-1)
    d1 = d.gather(-1, idx + 1).squeeze(-1)
    s = h / w
    delta = d1 + d0 - 2.0 * s

    if inverse:
        dy = x - y_k
        a = h * (s - d0) + dy * delta
        b = h * d0 - dy * delta
        c = -s * dy
        disc = (b.pow(2) - 4.0 * a * c).clamp_min(0.0)
        xi = (2.0 * c) / (-b - torch.sqrt(disc))
        xi = xi.clamp(0.0, 1.0)
        result = x_k + xi * w
    else:
        xi = ((x - x_k) / w).clamp(0.0, 1.0)
    t = xi * (1.0 - xi)
    denom = s + delta * t
    deriv_num = s.pow(2) * (d1 * xi.pow(2) + 2.0 * s * t + d0 * (1.0 - xi).pow(2))
    log_slope = torch.log(deriv_num) - 2.0 * torch.log(denom)
    if inverse:
        out[inside] = result
        logabsdet[inside] = -log_slope
    else:
        out[inside] = y_k + h * (s * xi.pow(2) + d0 * t) / denom
        logabsdet[inside] = log_slope
    return out, logabsdet


class RQSplineCoupling(Coupling):
    r"""Coupling layer with a rational-quadratic spline per transformed feature (Durkan et al., 2019).

    forward: :math:`x_a = z_a,\ x_b = g_{\theta(z_a)}(z_b)`; inverse:
    :math:`z_b = g^{-1}_{\theta(x_a)}(x_b)` (the quadratic root, exact up to rounding);
    :math:`\log|\det J| = \sum_b \log g'(z_b)` (and minus it for the inverse). ``g`` is the
    identity outside ``[-bound, bound]`` (linear tails). See :mod:`flowkit.spline` for the
    formulas. A fresh layer (zero-initialised conditioner) is exactly the identity.

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
    """

    def __init__(self, features_or_shape: int | Sequence[int], mask: Tensor | None = None,
                 conditioner: nn.Module | None = None, hidden: Sequence[int] = (64, 64), *,
                 n_bins: int = 8, bound: float = 4.0, min_bin_width: float = 1e-3,
                 min_bin_height: float = 1e-3, min_derivative: float = 1e-3, zero_init: bool = True) -> None:
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"RQSplineCoupling: n_bins must be a positive int, got {n_bins!r}")
        for name, v in (("bound", bound), ("min_bin_width", min_bin_width), ("min_bin_height", min_bin_height),
                        ("min_derivative", min_derivative)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"RQSplineCoupling: {name} must be a finite positive number, got {v!r}")
        if min_bin_width * n_bins >= 1 or min_bin_height * n_bins >= 1:
            raise ValueError("RQSplineCoupling: min_bin_width·n_bins and min_bin_height·n_bins must be < 1")
        if min_derivative >= 1:
            raise ValueError(f"RQSplineCoupling: min_derivative must be < 1, got {min_derivative!r}")
        self.n_params = 3 * n_bins - 1  # read by Coupling.__init__ to size the conditioner
        super().__init__(features_or_shape, mask, conditioner, hidden, zero_init)
        self.n_bins = n_bins
        self.bound = float(bound)
        self.min_bin_width = float(min_bin_width)
        self.min_bin_height = float(min_bin_height)
        self.min_derivative = float(min_derivative)

    def _elementwise(self, zb: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        # params: (batch, n_params, *shape_b) → (batch, *shape_b, n_params)
        return rational_quadratic_spline(zb, params.movedim(1, -1), inverse=inverse, bound=self.bound,
                                         min_bin_width=self.min_bin_width, min_bin_height=self.min_bin_height,
                                         min_derivative=self.min_derivative)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, n_bins={self.n_bins}, bound={self.bound}"
