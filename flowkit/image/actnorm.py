r"""Activation normalization (Kingma & Dhariwal, 2018, Glow, Sec. 3.1).

A per-channel affine map with learnable ``bias`` :math:`b_c` and ``log_scale`` :math:`s_c`,
applied to inputs of shape ``(B, C, H, W)`` (any number of trailing spatial dims; none
for ``(B, C)``), with :math:`HW` the number of spatial positions:

* forward (z → x, generative): :math:`x_{c,h,w} = z_{c,h,w}\,e^{s_c} + b_c`,
  :math:`\log|\det J| = HW \sum_c s_c`;
* inverse (x → z, normalizing): :math:`z_{c,h,w} = (x_{c,h,w} - b_c)\,e^{-s_c}`,
  :math:`\log|\det J| = -HW \sum_c s_c`.

**Data-dependent initialisation.** The first batch seen *in training mode* sets the
parameters: through ``inverse`` (maximum-likelihood training) so that the inverse output
has per-channel mean 0 and standard deviation 1 on that batch — :math:`b_c = \bar x_c`,
:math:`s_c = \log(\mathrm{std}_c(x) + \epsilon)` — and through ``forward`` (e.g. reverse-KL
training, where activations flow z → x) so that the *forward* output is standardised —
:math:`s_c = -\log(\mathrm{std}_c(z) + \epsilon)`, :math:`b_c = -\bar z_c e^{s_c}`. A channel that is constant
on the batch (standard deviation ≤ ``eps``) carries no scale information: it is only centred
(its scale stays 1), instead of being blown up by :math:`1/\epsilon`.
The flag ``initialized`` is a registered (persistent) buffer, so it is part of
``state_dict()``: a saved and reloaded model is not re-initialised. In eval mode an
uninitialised ActNorm is simply the identity (its starting parameters).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..transforms.base import Transform
from ..validation import finite_real, positive_int

__all__ = ["ActNorm"]


class ActNorm(Transform):
    """Per-channel affine layer with data-dependent initialisation (Glow's actnorm).

    Args:
        num_channels: ``C``, the size of dimension 1 of the inputs.
        eps: added to the standard deviation at initialisation.

    Example:
        >>> import torch
        >>> a = ActNorm(2).train()
        >>> z = a.inverse(3 + 2 * torch.randn(64, 2, 4, 4))[0].detach()   # the first batch initialises it
        >>> abs(float(z.mean())) < 1e-5, abs(float(z.std(unbiased=False)) - 1) < 1e-5
        (True, True)
    """

    initialized: Tensor

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.num_channels = positive_int(num_channels, "num_channels", "ActNorm")
        self.eps = finite_real(eps, "eps", "ActNorm", low=0.0, low_open=True)
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.log_scale = nn.Parameter(torch.zeros(num_channels))
        self.register_buffer("initialized", torch.tensor(False))

    def _view(self, p: Tensor, x: Tensor) -> Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"ActNorm: expected inputs of shape (batch, {self.num_channels}, ...), "
                             f"got {tuple(x.shape)}")
        return p.view(1, -1, *([1] * (x.dim() - 2)))

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-channel mean and standard deviation; a constant channel (std ≤ eps) gets std 1 (no rescaling)."""
        flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1)
        std = flat.std(dim=1, unbiased=False)
        return flat.mean(dim=1), torch.where(std > self.eps, std, torch.ones_like(std))

    @torch.no_grad()
    def initialize(self, x: Tensor, direction: str = "inverse") -> None:
        """Data-dependent init from the batch ``x`` (see the module docstring) and set ``initialized``."""
        mean, std = self._stats(x)
        if direction == "inverse":
            self.bias.copy_(mean)
            self.log_scale.copy_(torch.log(std + self.eps))
        elif direction == "forward":
            s = -torch.log(std + self.eps)
            self.log_scale.copy_(s)
            self.bias.copy_(-mean * torch.exp(s))
        else:
            raise ValueError(f"ActNorm.initialize: direction must be 'inverse' or 'forward', got {direction!r}")
        self.initialized.fill_(True)

    def _spatial(self, x: Tensor) -> int:
        n = 1
        for s in x.shape[2:]:
            n *= s
        return n

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        s, b = self._view(self.log_scale, z), self._view(self.bias, z)  # checks the shape first
        if self.training and not bool(self.initialized):
            self.initialize(z, "forward")
        x = z * torch.exp(s) + b
        ld = (self._spatial(z) * self.log_scale.sum()).expand(z.shape[0])
        return x, ld

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, b = self._view(self.log_scale, x), self._view(self.bias, x)  # checks the shape first
        if self.training and not bool(self.initialized):
            self.initialize(x, "inverse")
        z = (x - b) * torch.exp(-s)
        ld = (-self._spatial(x) * self.log_scale.sum()).expand(x.shape[0])
        return z, ld

    def extra_repr(self) -> str:
        return f"num_channels={self.num_channels}, initialized={bool(self.initialized)}"
