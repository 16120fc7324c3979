"""Planar flows (Rezende & Mohamed, 2015), with the invertibility constraint and an exact inverse."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..validation import finite_real, positive_int
from .base import Transform

__all__ = ["Planar"]


class Planar(Transform):
    r"""Planar flow :math:`x = f(z) = z + \hat u\, \tanh(w^\top z + b)`.

    Rezende & Mohamed (2015), "Variational Inference with Normalizing Flows", §4.1 and appendix A.1.

    * **Constraint** (appendix A.1): ``f`` is invertible when :math:`w^\top \hat u \ge -1`. The raw
      parameter ``u`` is mapped to :math:`\hat u = u + (m(w^\top u) - w^\top u)\, w / \lVert w\rVert^2`
      with :math:`m(a) = -1 + \operatorname{softplus}(a)` in the paper, so :math:`w^\top \hat u = m(w^\top u) > -1`
      for *any* raw ``u, w, b``. Two changes make it work in practice:

      - a margin :math:`\delta = 10^{-4}` (``MARGIN``): in floating point ``softplus(a)`` underflows
        to 0 for very negative ``a`` (about -37 in float64, -17 in float32), which would make the
        map fold, so we use :math:`-1 + \delta + \operatorname{softplus}(\cdot)` and
        :math:`|\det J| \ge \delta` everywhere;
      - a shift ``c`` (``SHIFT``) with :math:`\operatorname{softplus}(c) = 1 - \delta`, so that
        :math:`m(0) = 0`: the paper's :math:`m(0) = -1 + \log 2 \approx -0.31` makes every fresh layer
        (small ``u`` and ``w``) contract along ``w``; with the shift a fresh layer is close to the identity.

      Together: :math:`m(a) = -1 + \delta + \operatorname{softplus}(a + c)`, :math:`c = \log(e^{1-\delta} - 1)`.
    * **forward log-det**: with :math:`\psi(z) = (1 - \tanh^2(w^\top z + b))\, w`,
      :math:`\log|\det \partial x/\partial z| = \log|1 + \hat u^\top \psi(z)|`.
    * **inverse**: write :math:`\alpha = w^\top z`. Projecting ``x`` on ``w`` gives the scalar equation
      :math:`g(\alpha) = \alpha + (w^\top\hat u)\tanh(\alpha + b) - w^\top x = 0` with
      :math:`g' = 1 + (w^\top\hat u)\tanh'(\alpha+b) > 0`, so it has exactly one root, which lies in
      :math:`[w^\top x - |w^\top \hat u|,\ w^\top x + |w^\top \hat u|]`. We find it by bisection followed
      by Newton steps, then :math:`z = x - \hat u \tanh(\alpha + b)`; the inverse log-det is minus the
      forward one at that ``z``. The final Newton step is taken with gradients enabled, which gives
      exact first derivatives of the root (implicit function theorem).

    Example:
        >>> import torch, flowkit as fk
        >>> layer = fk.Planar(2, init_scale=1.0)
        >>> float(layer.w @ layer.u_hat()) > -1
        True
        >>> fk.check(layer, torch.randn(32, 2)).passed
        True
    """

    MARGIN = 1e-4
    SHIFT = math.log(math.expm1(1.0 - MARGIN))  # softplus(SHIFT) = 1 - MARGIN, so m(0) = 0

    def __init__(self, features: int, *, init_scale: float = 0.01) -> None:
        features = positive_int(features, "features", "Planar")
        init_scale = finite_real(init_scale, "init_scale", "Planar", low=0.0)
        super().__init__(features)
        self.u = nn.Parameter(torch.randn(features) * init_scale)
        self.w = nn.Parameter(torch.randn(features) * init_scale)
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> Tensor:
        """The constrained ``û`` with ``wᵀû = m(wᵀu) = -1 + δ + softplus(wᵀu + c) > -1`` (``m(0) = 0``)."""
        wu = self.w @ self.u
        w_sq = (self.w @ self.w).clamp_min(torch.finfo(self.w.dtype).tiny)
        return self.u + (-1.0 + self.MARGIN + F.softplus(wu + self.SHIFT) - wu) * self.w / w_sq

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u = self.u_hat()
        a = z @ self.w + self.b
        h = torch.tanh(a)
        x = z + h.unsqueeze(-1) * u
        # 1 + ûᵀψ = 1 + (wᵀû) (1 - tanh²) ≥ min(1, 1 + m(wᵀu)) ≥ δ > 0
        det = 1.0 + (1.0 - h * h) * (self.w @ u)
        return x, torch.log(det.abs())

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        u = self.u_hat()
        wu = self.w @ u
        target = x @ self.w  # wᵀx
        with torch.no_grad():
            alpha = _solve_planar(target.detach(), wu.detach(), self.b.detach())
        # One Newton step with gradients: value unchanged (root), derivatives by the implicit function theorem.
        g = alpha + wu * torch.tanh(alpha + self.b) - target
        dg = 1.0 + wu * (1.0 - torch.tanh(alpha + self.b) ** 2)
        alpha = alpha - g / dg
        h = torch.tanh(alpha + self.b)
        z = x - h.unsqueeze(-1) * u
        det = 1.0 + (1.0 - h * h) * wu
        return z, -torch.log(det.abs())


def _solve_planar(target: Tensor, wu: Tensor, b: Tensor, iters: int = 60) -> Tensor:
    """Root of α + wu·tanh(α + b) = target (strictly increasing in α since wu > -1)."""
    spread = wu.abs()
    lo = target - spread
    hi = target + spread
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        above = mid + wu * torch.tanh(mid + b) > target
        hi = torch.where(above, mid, hi)
        lo = torch.where(above, lo, mid)
        if bool(((hi - lo) <= 4 * torch.finfo(target.dtype).eps * (1 + target.abs())).all()):
            break
    alpha = 0.5 * (lo + hi)
    for _ in range(2):  # polish
        th = torch.tanh(alpha + b)
        alpha = alpha - (alpha + wu * th - target) / (1.0 + wu * (1.0 - th * th))
    return alpha
