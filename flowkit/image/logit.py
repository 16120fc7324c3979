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
than 1, so likelihoods of data in :math:`[0,1]^D` are (slightly) conservative — never inflated.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import as_shape
from ..base import Transform

__all__ = ["Logit"]


class Logit(Transform):
    r"""``forward``: logit space → data space :math:`[0,1]`; ``inverse``: :math:`x \mapsto \operatorname{logit}(\alpha + (1-2\alpha)x)`.

    Args:
        shape: event shape (any; typically ``(C, H, W)``).
        alpha: the squeeze :math:`\alpha \in [0, 0.5)`; 0.05 as in RealNVP.

    ``inverse`` raises ``ValueError`` for inputs outside the unit interval: outside
    :math:`(0, 1)` when ``alpha == 0``; for ``alpha > 0`` the map is smooth and finite on the
    closed interval, so the endpoints 0 and 1 are accepted — dequantized data
    ``y = (x + u)/K`` hit them in floating point (``u = 0``, or ``x + u`` rounding up to
    ``K``) — but anything below 0 or above 1 is rejected.
    """

    def __init__(self, shape: int | Sequence[int], alpha: float = 0.05) -> None:
        if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and 0.0 <= alpha < 0.5):
            raise ValueError(f"Logit: alpha must be a number in [0, 0.5), got {alpha!r}")
        super().__init__(as_shape(shape))
        self.alpha = float(alpha)
        self._log_scale = math.log1p(-2.0 * self.alpha)  # log(1 - 2α)

    def _forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        x = (torch.sigmoid(y) - self.alpha) / (1.0 - 2.0 * self.alpha)
        ld = -(F.softplus(y) + F.softplus(-y) + self._log_scale)
        return x, ld.reshape(y.shape[0], -1).sum(dim=1)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.alpha > 0:
            bad = (x < 0) | (x > 1)
            interval = "[0, 1]"
        else:
            bad = (x <= 0) | (x >= 1)
            interval = "(0, 1)"
        if bool(bad.any()):
            lo, hi = float(x.min()), float(x.max())
            raise ValueError(f"Logit.inverse: inputs must lie in {interval} (data scaled to the unit "
                             f"interval), got values in [{lo:.4g}, {hi:.4g}]")
        lam = self.alpha + (1.0 - 2.0 * self.alpha) * x
        log_lam, log_1m = torch.log(lam), torch.log1p(-lam)
        y = log_lam - log_1m
        ld = self._log_scale - log_lam - log_1m
        return y, ld.reshape(x.shape[0], -1).sum(dim=1)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, alpha={self.alpha}"
