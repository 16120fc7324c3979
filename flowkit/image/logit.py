r"""The logit preprocessing of RealNVP (Dinh et al., 2017, Sec. 4.1) as a counted layer.

With :math:`\lambda = \alpha + (1 - 2\alpha)\,x` and :math:`\sigma` the logistic sigmoid:

* inverse (x → y, normalizing), data :math:`x \in [0, 1]` to logit space:
  :math:`y = \operatorname{logit}(\lambda) = \log\lambda - \log(1-\lambda)`, with
  :math:`\log|\det J| = \sum_i \big[\log(1-2\alpha) - \log\lambda_i - \log(1-\lambda_i)\big]`;
* forward (y → x, generative), logit space to data space:
  :math:`x = (\sigma(y) - \alpha)/(1 - 2\alpha)`, with
  :math:`\log|\det J| = \sum_i \big[\log\sigma(y_i) + \log(1-\sigma(y_i)) - \log(1-2\alpha)\big]
  = -\sum_i \big[\operatorname{softplus}(y_i) + \operatorname{softplus}(-y_i) + \log(1-2\alpha)\big]`.

``α`` (default 0.05, RealNVP's value) keeps the logit away from ±∞ at the borders of the
data range. Because the log-det is returned like any layer's, a model ending in
``Logit`` assigns its density to the data-space :math:`x` directly, so no correction term
is needed when reporting likelihoods or bits/dim.

Note that the forward image is :math:`(-\tfrac{\alpha}{1-2\alpha},\ 1 + \tfrac{\alpha}{1-2\alpha})`,
slightly larger than :math:`[0, 1]`: the density on :math:`[0,1]^D` integrates to a little less
than 1, so likelihoods of data in :math:`[0,1]^D` are (slightly) conservative — never inflated —
and samples can have pixels a little outside :math:`[0, 1]`, which the inverse accepts.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..transforms.base import Transform
from ..validation import as_shape, finite_real, is_traced

__all__ = ["Logit"]


class Logit(Transform):
    r"""``forward``: logit space → data space; ``inverse``: :math:`x \mapsto \operatorname{logit}(\alpha + (1-2\alpha)x)`.

    Args:
        shape: event shape (any; typically ``(C, H, W)``).
        alpha: the squeeze :math:`\alpha \in [0, 0.5)`; 0.05 as in RealNVP.

    ``inverse`` accepts the closed forward image
    :math:`[-\tfrac{\alpha}{1-2\alpha},\ 1 + \tfrac{\alpha}{1-2\alpha}]` (``[0, 1]`` when ``alpha == 0``),
    so a model ending in ``Logit`` can score its own samples, and raises ``ValueError`` for
    anything outside it. At the two ends (reached in floating point when the sigmoid
    saturates, e.g. ``forward(17.)`` in float32 is exactly the upper end) :math:`\lambda` is kept
    a rounding step inside :math:`(0, 1)`, so the inverse and its log-det stay finite.

    Example:
        >>> import torch
        >>> t = Logit(2, alpha=0.05)
        >>> x, _ = t.forward(torch.tensor([[-30.0, 30.0]]))   # the ends of the forward image
        >>> bool(torch.isfinite(t.inverse(x)[1]).all())
        True
    """

    def __init__(self, shape: int | Sequence[int], alpha: float = 0.05) -> None:
        alpha = finite_real(alpha, "alpha", "Logit", low=0.0, high=0.5, high_open=True)
        super().__init__(as_shape(shape))
        self.alpha = float(alpha)
        self._log_scale = math.log1p(-2.0 * self.alpha)  # log(1 - 2α)
        pad = self.alpha / (1.0 - 2.0 * self.alpha)
        self.image = (0.0 - pad, 1.0 + pad)  # the closed forward image (data scale); 0.0 - 0.0 is +0

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        x = (torch.sigmoid(y) - self.alpha) / (1.0 - 2.0 * self.alpha)
        ld = -(F.softplus(y) + F.softplus(-y) + self._log_scale)
        return x, ld.reshape(y.shape[0], -1).sum(dim=1)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        lo, hi = self.image
        eps = torch.finfo(x.dtype).eps
        slack = 4 * eps * (1.0 + hi)  # the forward's own rounding can land a few ulps past the exact ends
        if not is_traced(x) and bool(((x < lo - slack) | (x > hi + slack)).any()):
            raise ValueError(f"Logit.inverse: inputs must lie in [{lo:.4g}, {hi:.4g}] (data scaled to the unit "
                             f"interval, alpha={self.alpha}), got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")
        lam = (self.alpha + (1.0 - 2.0 * self.alpha) * x).clamp(eps, 1.0 - eps)
        log_lam, log_1m = torch.log(lam), torch.log1p(-lam)
        ld = self._log_scale - log_lam - log_1m
        return log_lam - log_1m, ld.reshape(x.shape[0], -1).sum(dim=1)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, alpha={self.alpha}"
