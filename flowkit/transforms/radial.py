"""Radial flows (Rezende & Mohamed, 2015), with the invertibility constraint and a closed-form inverse."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..validation import finite_real, positive_int
from .base import Transform

__all__ = ["Radial"]


def _softplus_inv(y: float) -> float:
    """The ``x`` with ``softplus(x) = y`` for ``y > 0``, stable for small and large ``y``."""
    return y + math.log(-math.expm1(-y))


class Radial(Transform):
    r"""Radial flow :math:`x = f(z) = z + \beta\, h(\alpha, r)\,(z - z_0)`, :math:`r = \lVert z - z_0\rVert`,
    :math:`h = 1/(\alpha + r)`.

    Rezende & Mohamed (2015), "Variational Inference with Normalizing Flows", §4.1 and appendix A.2.

    * **Constraint**: :math:`\alpha > 0` and :math:`\beta \ge -\alpha` make ``f`` invertible. We use
      :math:`\alpha = \delta + \operatorname{softplus}(\tilde\alpha)` and
      :math:`\beta = -\alpha + \alpha\,\delta + \operatorname{softplus}(\tilde\beta)` with a margin
      :math:`\delta = 10^{-4}` (``MARGIN``), so any raw parameters give an invertible map whose
      Jacobian determinant stays :math:`\ge \delta^{d}` (without the margin ``softplus`` underflows to 0
      for very negative :math:`\tilde\beta` — below about -17 in float32 — and
      :math:`\beta = -\alpha` exactly folds the map at :math:`z_0`).
    * **forward log-det** in ``d`` dimensions, with :math:`h' = -1/(\alpha + r)^2`:
      :math:`\log|\det J| = (d-1)\log(1 + \beta h) + \log(1 + \beta h + \beta h' r)`.
    * **inverse**: ``f`` scales ``z - z0`` by :math:`1 + \beta/(\alpha + r) > 0`, so the direction is kept and
      radii satisfy :math:`\rho = r\,(1 + \beta/(\alpha + r))` with :math:`\rho = \lVert x - z_0\rVert`, i.e.
      :math:`r^2 + (\alpha + \beta - \rho)\,r - \alpha\rho = 0`, whose unique non-negative root is
      :math:`r = \tfrac12\big(-(\alpha+\beta-\rho) + \sqrt{(\alpha+\beta-\rho)^2 + 4\alpha\rho}\big)`
      (computed in the cancellation-free form). Then :math:`z = z_0 + (x - z_0) / (1 + \beta/(\alpha + r))`
      and the inverse log-det is minus the forward one.

    Example:
        >>> import torch, flowkit as fk
        >>> layer = fk.Radial(2)
        >>> layer.set_alpha_beta(0.5, 1.0)
        >>> [round(float(v), 4) for v in layer.alpha_beta()]
        [0.5, 1.0]
        >>> fk.check(layer, torch.randn(32, 2)).passed
        True
    """

    MARGIN = 1e-4

    def __init__(self, features: int, *, init_scale: float = 0.01) -> None:
        features = positive_int(features, "features", "Radial")
        init_scale = finite_real(init_scale, "init_scale", "Radial", low=0.0)
        super().__init__(features)
        self.z0 = nn.Parameter(torch.randn(features) * init_scale)
        self.alpha_raw = nn.Parameter(torch.zeros(()))
        self.beta_raw = nn.Parameter(torch.zeros(()))

    def alpha_beta(self) -> tuple[Tensor, Tensor]:
        """The constrained ``(α, β)`` with ``α ≥ δ`` and ``β ≥ -(1 - δ) α``."""
        alpha = self.MARGIN + F.softplus(self.alpha_raw)
        beta = -alpha * (1.0 - self.MARGIN) + F.softplus(self.beta_raw)
        return alpha, beta

    @torch.no_grad()
    def set_alpha_beta(self, alpha: float, beta: float) -> None:
        """Set the raw parameters so that :meth:`alpha_beta` returns ``(alpha, beta)`` (within the constraint)."""
        alpha = finite_real(alpha, "alpha", "Radial.set_alpha_beta", low=self.MARGIN, low_open=True)
        floor = -(1.0 - self.MARGIN) * alpha
        beta = finite_real(beta, "beta", "Radial.set_alpha_beta", low=floor, low_open=True)
        self.alpha_raw.fill_(_softplus_inv(alpha - self.MARGIN))
        self.beta_raw.fill_(_softplus_inv(beta - floor))

    def _logdet(self, r: Tensor, alpha: Tensor, beta: Tensor, d: int) -> Tensor:
        h = 1.0 / (alpha + r)
        bh = beta * h
        # 1 + βh + βh'r = 1 + β α / (α + r)²  (> 0 since β > -α)
        last = 1.0 + beta * alpha * h * h
        return (d - 1) * torch.log1p(bh) + torch.log(last)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        alpha, beta = self.alpha_beta()
        diff = z - self.z0
        r = diff.norm(dim=-1)
        x = z + (beta / (alpha + r)).unsqueeze(-1) * diff
        return x, self._logdet(r, alpha, beta, z.shape[-1])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        alpha, beta = self.alpha_beta()
        diff = x - self.z0
        rho = diff.norm(dim=-1)
        c = alpha + beta - rho
        root = torch.sqrt(c * c + 4.0 * alpha * rho)
        # r = (-c + root)/2, rewritten as 2αρ/(c + root) when c > 0 to avoid cancellation
        r = torch.where(c > 0, 2.0 * alpha * rho / (c + root).clamp_min(torch.finfo(x.dtype).tiny), 0.5 * (root - c))
        scale = 1.0 + beta / (alpha + r)
        z = self.z0 + diff / scale.unsqueeze(-1)
        return z, -self._logdet(r, alpha, beta, x.shape[-1])
