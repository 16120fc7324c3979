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
and the dequantizer's ``log q`` are added here. See :mod:`flowkit.image.bpd`. Every estimate takes an explicit ``generator`` for its
noise (by default a fresh one seeded 0), so evaluations are reproducible.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..distributions import BaseDistribution, StandardNormal
from ..flow import Flow
from ..transforms.base import Transform
from ..validation import choice, positive_int
from .bpd import dequantized_nll, nats_to_bits_per_dim
from .dequantization import Dequantization, UniformDequantization

__all__ = ["ImageFlow"]


class ImageFlow(Flow):
    """A flow over ``[0,1)``-scaled images of integer data with ``n_bins`` levels.

    Args:
        transform: the map z → y (its ``event_shape`` is the image shape ``(C, H, W)``).
        n_bins: ``K``, the number of intensity levels of the integer data (17 for the
            8×8 digits, 256 for 8-bit images).
        dequantizer: a :class:`~flowkit.image.dequantization.Dequantization`; default
            :class:`~flowkit.image.UniformDequantization`. A
            :class:`~flowkit.image.VariationalDequantization` is trained along with the
            model (its parameters are part of this module).
        base: base distribution; default ``StandardNormal(transform.latent_shape)``.

    Example:
        >>> import torch, flowkit as fk
        >>> model = fk.image.RealNVP(n_couplings=1, hidden=8, seed=0)
        >>> x = torch.randint(0, 17, (4, 1, 8, 8))
        >>> model.nll(x).shape, float(model.bits_per_dim(x)) > 0
        (torch.Size([4]), True)
    """

    def __init__(self, transform: Transform, n_bins: int, dequantizer: Dequantization | None = None,
                 base: BaseDistribution | None = None, event_shape: int | Sequence[int] | None = None) -> None:
        n_bins = positive_int(n_bins, "n_bins", "ImageFlow", minimum=2)
        if base is None:
            if transform.latent_shape is None:
                raise ValueError("ImageFlow: the transform does not declare its latent shape; pass a base")
            base = StandardNormal(transform.latent_shape)
        super().__init__(transform, base, event_shape)
        if self.event_shape is None:
            raise ValueError("ImageFlow: the image shape is unknown; pass event_shape")
        if dequantizer is not None and not isinstance(dequantizer, Dequantization):
            raise TypeError(f"ImageFlow: dequantizer must be a flowkit.image Dequantization, got {type(dequantizer).__name__}")
        self.n_bins = n_bins
        self.dequantizer: nn.Module = dequantizer if dequantizer is not None else UniformDequantization()

    @property
    def num_dims(self) -> int:
        """``D``, the number of scalar dimensions of one image."""
        return math.prod(self.event_shape)

    def _check_images(self, x_int: Tensor) -> None:
        if not isinstance(x_int, Tensor):
            raise TypeError(f"ImageFlow: images must be a torch.Tensor, got {type(x_int).__name__}")
        if x_int.dim() != len(self.event_shape) + 1 or tuple(x_int.shape[1:]) != tuple(self.event_shape):
            raise ValueError(f"ImageFlow: images must have shape (batch, {', '.join(map(str, self.event_shape))}), "
                             f"got {tuple(x_int.shape)}")

    def dequantize(self, x_int: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(y, log q(u|x))``: integer images → continuous ``y = (x+u)/K`` in [0, 1) and the noise log-density."""
        self._check_images(x_int)
        dtype = self._dtype() or torch.get_default_dtype()
        return self.dequantizer(x_int, self.n_bins, dtype=dtype, generator=generator)

    def nll(self, x_int: Tensor, generator: torch.Generator | None = None, context: Tensor | None = None) -> Tensor:
        r"""Per-image bound on the discrete NLL in nats, :math:`-\log p(y) + \log q(u\mid x) + D\log K`, shape ``(batch,)``.

        One dequantization sample per image (an unbiased estimate of the bound, which is
        itself ≥ the true NLL); use it as the training loss (``.mean()``). ``context``: for a
        conditional model, one row per image.
        """
        y, log_q = self.dequantize(x_int, generator)
        return dequantized_nll(self.log_prob(y, context), self.num_dims, self.n_bins, log_q)

    @torch.no_grad()
    def bits_per_dim(self, x_int: Tensor, *, n_samples: int = 1, importance_weighted: bool = False,
                     generator: torch.Generator | None = None, reduction: str = "mean",
                     batch_size: int = 1024, context: Tensor | None = None) -> Tensor:
        r"""Bits per dimension of integer images (an upper bound, see :mod:`flowkit.image.bpd`).

        The one bits/dim of flowkit: an evaluation metric computed without gradients (train on
        :meth:`nll`), in chunks of ``batch_size`` images.

        Args:
            x_int: integer images ``(batch, C, H, W)`` with values in ``0..n_bins-1``.
            n_samples: dequantization samples per image. The estimate averages the bounds;
                with ``importance_weighted=True`` it uses the tighter bound
                :math:`-\log\frac1S\sum_s p(y_s)/q(u_s\mid x)` (Burda et al., 2016), the one
                to report for variational dequantization (Ho et al., 2019).
            generator: the noise's generator; default a fresh ``torch.Generator`` seeded 0, so
                the same model and images always give the same number.
            reduction: ``"mean"`` (a scalar) or ``"none"`` (one value per image).
            context: for a conditional model, one row per image.
        """
        n_samples = positive_int(n_samples, "n_samples", "bits_per_dim")
        batch_size = positive_int(batch_size, "batch_size", "bits_per_dim")
        choice(reduction, "reduction", ("mean", "none"), "bits_per_dim")
        self._check_images(x_int)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        out, was_training = [], self.training
        self.eval()
        try:
            for i in range(0, x_int.shape[0], batch_size):
                xb = x_int[i:i + batch_size]
                cb = None if context is None else context[i:i + batch_size]
                nlls = torch.stack([self.nll(xb, generator, cb) for _ in range(n_samples)])  # (S, B)
                if importance_weighted:
                    out.append(-(torch.logsumexp(-nlls, dim=0) - math.log(n_samples)))
                else:
                    out.append(nlls.mean(dim=0))
        finally:
            self.train(was_training)
        bpd = nats_to_bits_per_dim(torch.cat(out), self.num_dims)
        return bpd.mean() if reduction == "mean" else bpd

    @torch.no_grad()
    def sample_images(self, n: int, context: Tensor | None = None, *, temperature: float = 1.0,
                      generator: torch.Generator | None = None) -> Tensor:
        """``n`` integer images (``torch.long``, values ``0..n_bins-1``): ``floor(K · clamp(x, 0, 1))``."""
        x = self.sample(n, context, temperature=temperature, generator=generator)
        return torch.clamp(torch.floor(x.clamp(0.0, 1.0) * self.n_bins), 0, self.n_bins - 1).long()
