"""Base distributions p_z for flows: a fixed standard normal and a learnable diagonal one."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ._validation import as_shape, validate_batch

__all__ = ["BaseDistribution", "StandardNormal", "DiagNormal"]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"number of samples n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"number of samples n must be >= 0, got {n}")
    return n


class BaseDistribution(nn.Module):
    """A distribution over events of shape ``event_shape`` with ``log_prob`` and ``sample``.

    ``log_prob(z)`` takes ``(batch, *event_shape)`` and returns ``(batch,)``;
    ``sample(n)`` returns ``(n, *event_shape)`` on the module's device and dtype.
    """

    def __init__(self, event_shape: int | Sequence[int]) -> None:
        super().__init__()
        self.event_shape: tuple[int, ...] = as_shape(event_shape)
        # A buffer so that .to(device/dtype) moves the distribution like any module.
        self.register_buffer("_ref", torch.zeros(()), persistent=False)

    @property
    def dim(self) -> int:
        """Number of scalar dimensions of one event."""
        return math.prod(self.event_shape)

    def _validate(self, z: Tensor) -> Tensor:
        return validate_batch(z, self.event_shape, name="z", where=f"{type(self).__name__}.log_prob",
                              dtype=self._ref.dtype)

    def log_prob(self, z: Tensor) -> Tensor:
        self._validate(z)
        return self._log_prob(z)

    def _log_prob(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples; ``temperature`` T scales the noise (T < 1: typical, sharper samples)."""
        n = _check_n(n)
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        eps = torch.randn((n, *self.event_shape), generator=generator, device=self._ref.device, dtype=self._ref.dtype)
        return self._from_noise(eps * temperature)

    def _from_noise(self, eps: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class StandardNormal(BaseDistribution):
    r"""N(0, I) over ``event_shape``: :math:`\log p(z) = -\tfrac12\lVert z\rVert^2 - \tfrac{D}{2}\log 2\pi`."""

    def _log_prob(self, z: Tensor) -> Tensor:
        sq = z.reshape(z.shape[0], -1).pow(2).sum(dim=1)
        return -0.5 * sq - 0.5 * self.dim * _LOG_2PI

    def _from_noise(self, eps: Tensor) -> Tensor:
        return eps


class DiagNormal(BaseDistribution):
    r"""Learnable N(μ, diag σ²), σ = exp(log_scale).

    :math:`\log p(z) = \sum_i [-\tfrac12 ((z_i-μ_i)/σ_i)^2 - \log σ_i - \tfrac12\log 2\pi]`.
    Starts as the standard normal (μ = 0, log σ = 0).
    """

    def __init__(self, event_shape: int | Sequence[int]) -> None:
        super().__init__(event_shape)
        self.loc = nn.Parameter(torch.zeros(self.event_shape))
        self.log_scale = nn.Parameter(torch.zeros(self.event_shape))

    def _log_prob(self, z: Tensor) -> Tensor:
        u = (z - self.loc) * torch.exp(-self.log_scale)
        per = -0.5 * u.pow(2) - self.log_scale - 0.5 * _LOG_2PI
        return per.reshape(z.shape[0], -1).sum(dim=1)

    def _from_noise(self, eps: Tensor) -> Tensor:
        return self.loc + torch.exp(self.log_scale) * eps
