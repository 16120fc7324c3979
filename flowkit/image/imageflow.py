r""":class:`ImageFlow`: a :class:`flowkit.Flow` over images, with dequantization and bits/dim.

An ``ImageFlow`` *is* a :class:`~flowkit.Flow` (``log_prob``, ``sample``,
``sample_and_log_prob`` as usual) whose density lives on continuous images
:math:`y\in[0,1)^D` (data scale). It adds the discrete-data layer on top:

* :meth:`ImageFlow.nll` — the per-image NLL bound in nats of *integer* images with
  ``n_bins`` levels: dequantize ``y = (x+u)/K`` (uniform or variational noise), then
  :math:`-\log p(y) + \log q(u\mid x) + D\log K` — the training loss;
* :meth:`ImageFlow.bits_per_dim` — the same in bits per dimension;
* :meth:`ImageFlow.sample_images` — integer samples ``floor(K·clamp(x, 0, 1))``.

Every term is counted: the transform's log-det includes any :class:`~flowkit.image.Logit`
layer and every :class:`~flowkit.image.Split` (conditional prior), the base scores the full
flat latent (including all factored-out halves), and the ``D log K`` of the 1/K scaling
and the dequantizer's ``log q`` are added here. See :mod:`flowkit.image.bpd`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..base import Transform
from ..distributions import BaseDistribution, StandardNormal
from ..flow import Flow
from .bpd import bits_per_dim as _bpd
from .dequantization import UniformDequantization

__all__ = ["ImageFlow"]


class ImageFlow(Flow):
    """A flow over ``[0,1)``-scaled images of integer data with ``n_bins`` levels.

    Args:
        transform: the map z → y (its ``event_shape`` is the image shape ``(C, H, W)``).
        n_bins: ``K``, the number of intensity levels of the integer data (17 for the
            8×8 digits, 256 for 8-bit images).
        dequantizer: a module ``(x_int, n_bins, dtype=, generator=) → (y, log_q)``;
            default :class:`~flowkit.image.UniformDequantization`. A
            :class:`~flowkit.image.VariationalDequantization` is trained along with the
            model (its parameters are part of this module).
        base: base distribution; default ``StandardNormal(transform.latent_shape)``.
    """

    def __init__(self, transform: Transform, n_bins: int, dequantizer: nn.Module | None = None,
                 base: BaseDistribution | None = None, event_shape: int | Sequence[int] | None = None) -> None:
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
            raise ValueError(f"ImageFlow: n_bins must be an int >= 2, got {n_bins!r}")
        if base is None:
            if transform.latent_shape is None:
                raise ValueError("ImageFlow: the transform does not declare its latent shape; pass a base")
            base = StandardNormal(transform.latent_shape)
        super().__init__(transform, base, event_shape)
        if self.event_shape is None:
            raise ValueError("ImageFlow: the image shape is unknown; pass event_shape")
        self.n_bins = n_bins
        self.dequantizer = dequantizer if dequantizer is not None else UniformDequantization()

    @property
    def num_dims(self) -> int:
        """``D``, the number of scalar dimensions of one image."""
        return math.prod(self.event_shape)

    def _float_dtype(self) -> torch.dtype:
        return self._dtype() or torch.get_default_dtype()

    def _check_images(self, x_int: Tensor) -> None:
        if not isinstance(x_int, Tensor):
            raise TypeError(f"ImageFlow: images must be a torch.Tensor, got {type(x_int).__name__}")
        if x_int.dim() != len(self.event_shape) + 1 or tuple(x_int.shape[1:]) != tuple(self.event_shape):
            raise ValueError(f"ImageFlow: images must have shape (batch, {', '.join(map(str, self.event_shape))}), "
                             f"got {tuple(x_int.shape)}")

    def dequantize(self, x_int: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(y, log q(u|x))``: integer images → continuous ``y = (x+u)/K`` in [0, 1) and the noise log-density."""
        self._check_images(x_int)
        return self.dequantizer(x_int, self.n_bins, dtype=self._float_dtype(), generator=generator)

    def nll(self, x_int: Tensor, generator: torch.Generator | None = None) -> Tensor:
        r"""Per-image bound on the discrete NLL in nats, :math:`-\log p(y) + \log q(u\mid x) + D\log K`, shape ``(batch,)``.

        One dequantization sample per image (an unbiased estimate of the bound, which is
        itself ≥ the true NLL); use it as the training loss (``.mean()``).
        """
        y, log_q = self.dequantize(x_int, generator)
        return -self.log_prob(y) + log_q + self.num_dims * math.log(self.n_bins)

    @torch.no_grad()
    def bits_per_dim(self, x_int: Tensor, *, n_samples: int = 1, importance_weighted: bool = False,
                     generator: torch.Generator | None = None, reduction: str = "mean") -> Tensor:
        r"""Bits per dimension of integer images (an upper bound, see :mod:`flowkit.image.bpd`).

        An evaluation metric: computed without gradients (train on :meth:`nll`).

        Args:
            x_int: integer images ``(batch, C, H, W)`` with values in ``0..n_bins-1``.
            n_samples: dequantization samples per image. The estimate averages the bounds;
                with ``importance_weighted=True`` it uses the tighter bound
                :math:`-\log\frac1S\sum_s p(y_s)/q(u_s\mid x)` (Burda et al., 2016).
            reduction: ``"mean"`` (a scalar) or ``"none"`` (one value per image).
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"bits_per_dim: n_samples must be a positive int, got {n_samples!r}")
        if reduction not in ("mean", "none"):
            raise ValueError(f"bits_per_dim: reduction must be 'mean' or 'none', got {reduction!r}")
        nlls = torch.stack([self.nll(x_int, generator) for _ in range(n_samples)])  # (S, B)
        if importance_weighted:
            nll = -(torch.logsumexp(-nlls, dim=0) - math.log(n_samples))
        else:
            nll = nlls.mean(dim=0)
        bpd = _bpd(nll, self.num_dims)
        return bpd.mean() if reduction == "mean" else bpd

    @torch.no_grad()
    def sample_images(self, n: int, *, temperature: float = 1.0,
                      generator: torch.Generator | None = None) -> Tensor:
        """``n`` integer images (``torch.long``, values ``0..n_bins-1``): ``floor(K · clamp(x, 0, 1))``."""
        x = self.sample(n, temperature=temperature, generator=generator)
        return torch.clamp(torch.floor(x.clamp(0.0, 1.0) * self.n_bins), 0, self.n_bins - 1).long()
