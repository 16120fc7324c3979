"""Base distributions p_z for flows: a fixed standard normal, a learnable diagonal one, and a conditional one."""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .transforms.base import _depth, _takes_context, inside_flowkit
from .validation import (
    as_shape,
    finite_real,
    nonneg_int,
    positive_int,
    validate_batch,
    validate_context,
)

__all__ = ["BaseDistribution", "StandardNormal", "DiagNormal", "ConditionalDiagNormal"]

_LOG_2PI = math.log(2.0 * math.pi)


def _validated_log_prob(fn: Callable) -> Callable:
    takes_context = _takes_context(fn)

    @functools.wraps(fn)
    def log_prob(self: BaseDistribution, z: Tensor, context: Tensor | None = None) -> Tensor:
        if _depth() == 0:
            where = f"{type(self).__name__}.log_prob"
            validate_batch(z, self.event_shape, name="z", where=where, dtype=self._ref.dtype)
            if context is not None:
                validate_context(context, z.shape[0], where=where, dtype=self._ref.dtype)
        with inside_flowkit():
            return fn(self, z, context) if takes_context else fn(self, z)

    log_prob._flowkit_validated = True  # type: ignore[attr-defined]
    return log_prob


class BaseDistribution(nn.Module):
    """A distribution over events of shape ``event_shape`` with ``log_prob`` and ``sample``.

    Subclasses implement ``log_prob(z, context=None)`` (``(batch, *event_shape)`` → ``(batch,)``)
    and ``from_noise(eps, context=None)``, the map from standard-normal noise to a sample
    (reparameterised sampling); a distribution that is not conditional may leave out
    ``context``. Input checks are installed once per class, as for :class:`~flowkit.Transform`.
    ``sample(n)`` returns ``(n, *event_shape)`` on the module's device and dtype.

    Example:
        >>> import torch, flowkit as fk
        >>> class Laplace(fk.BaseDistribution):
        ...     def log_prob(self, z):
        ...         return (-z.abs() - torch.log(torch.tensor(2.0))).sum(1)
        ...     def from_noise(self, eps):
        ...         u = torch.special.ndtr(eps) - 0.5            # uniform on (-1/2, 1/2)
        ...         return -torch.sign(u) * torch.log1p(-2 * u.abs())
        >>> Laplace(2).sample(3).shape
        torch.Size([3, 2])
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("log_prob")
        if fn is not None and not getattr(fn, "_flowkit_validated", False):
            cls.log_prob = _validated_log_prob(fn)  # type: ignore[method-assign]

    def __init__(self, event_shape: int | Sequence[int]) -> None:
        super().__init__()
        self.event_shape: tuple[int, ...] = as_shape(event_shape)
        # A buffer so that .to(device/dtype) moves the distribution like any module.
        self.register_buffer("_ref", torch.zeros(()), persistent=False)

    @property
    def dim(self) -> int:
        """Number of scalar dimensions of one event."""
        return math.prod(self.event_shape)

    def log_prob(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob(z, context=None)")

    def from_noise(self, eps: Tensor, context: Tensor | None = None) -> Tensor:
        """The sample for standard-normal noise ``eps`` (reparameterisation)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement from_noise(eps, context=None)")

    def sample(self, n: int, context: Tensor | None = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples; ``temperature`` T scales the noise (T < 1: typical, sharper samples).

        With a ``context`` of ``n`` rows, sample ``i`` is drawn given row ``i``; a single row
        is used for all ``n`` samples.
        """
        n = nonneg_int(n, "n", f"{type(self).__name__}.sample")
        temperature = finite_real(temperature, "temperature", f"{type(self).__name__}.sample", low=0.0)
        eps = torch.randn((n, *self.event_shape), generator=generator, device=self._ref.device, dtype=self._ref.dtype)
        if context is not None:
            context = broadcast_context(context, n, f"{type(self).__name__}.sample")
        with inside_flowkit():
            if _takes_context(type(self).from_noise):
                return self.from_noise(eps * temperature, context)
            return self.from_noise(eps * temperature)


def broadcast_context(context: object, n: int, where: str) -> Tensor:
    """A context with ``n`` rows: given as ``n`` rows, or one row repeated."""
    c = validate_batch(context, None, name="context", where=where)
    if c.shape[0] == 1 and n != 1:
        return c.expand(n, *c.shape[1:])
    if c.shape[0] != n:
        raise ValueError(f"context in {where} has {c.shape[0]} rows for {n} samples; "
                         "pass one row per sample, or a single row for all of them")
    return c


class StandardNormal(BaseDistribution):
    r"""N(0, I) over ``event_shape``: :math:`\log p(z) = -\tfrac12\lVert z\rVert^2 - \tfrac{D}{2}\log 2\pi`.

    Example:
        >>> import torch, flowkit as fk
        >>> float(fk.StandardNormal(2).log_prob(torch.zeros(1, 2)))  # -log(2π)
        -1.8378770351409912
    """

    def log_prob(self, z: Tensor) -> Tensor:
        sq = z.reshape(z.shape[0], -1).pow(2).sum(dim=1)
        return -0.5 * sq - 0.5 * self.dim * _LOG_2PI

    def from_noise(self, eps: Tensor) -> Tensor:
        return eps


def _diag_normal_log_prob(z: Tensor, loc: Tensor, log_scale: Tensor) -> Tensor:
    u = (z - loc) * torch.exp(-log_scale)
    per = -0.5 * u.pow(2) - log_scale - 0.5 * _LOG_2PI
    return per.reshape(z.shape[0], -1).sum(dim=1)


class DiagNormal(BaseDistribution):
    r"""Learnable N(μ, diag σ²), σ = exp(log_scale).

    :math:`\log p(z) = \sum_i [-\tfrac12 ((z_i-μ_i)/σ_i)^2 - \log σ_i - \tfrac12\log 2\pi]`.
    Starts as the standard normal (μ = 0, log σ = 0).

    Example:
        >>> import torch, flowkit as fk
        >>> fk.DiagNormal(2).sample(4).shape
        torch.Size([4, 2])
    """

    def __init__(self, event_shape: int | Sequence[int]) -> None:
        super().__init__(event_shape)
        self.loc = nn.Parameter(torch.zeros(self.event_shape))
        self.log_scale = nn.Parameter(torch.zeros(self.event_shape))

    def log_prob(self, z: Tensor) -> Tensor:
        return _diag_normal_log_prob(z, self.loc, self.log_scale)

    def from_noise(self, eps: Tensor) -> Tensor:
        return self.loc + torch.exp(self.log_scale) * eps


class ConditionalDiagNormal(BaseDistribution):
    r"""N(μ(c), diag σ(c)²) whose mean and log-scale are computed from the context ``c`` by a network.

    :math:`\log p(z\mid c) = \sum_i [-\tfrac12 ((z_i-μ_i(c))/σ_i(c))^2 - \log σ_i(c) - \tfrac12\log 2\pi]`.
    The default network is a zero-initialised linear map, so the distribution starts as
    N(0, I) for every context (e.g. a learned Gaussian per class with one-hot contexts).

    Args:
        event_shape: shape of one event.
        context_features: size of one context row (flat).
        net: optional module ``(batch, context_features) → (batch, 2·D)`` (mean, then log-scale).

    Example:
        >>> import torch, flowkit as fk
        >>> p = fk.ConditionalDiagNormal(2, context_features=3)
        >>> p.log_prob(torch.zeros(4, 2), torch.eye(3)[[0, 1, 2, 0]]).shape
        torch.Size([4])
    """

    def __init__(self, event_shape: int | Sequence[int], context_features: int, net: nn.Module | None = None) -> None:
        super().__init__(event_shape)
        self.context_features = positive_int(context_features, "context_features", "ConditionalDiagNormal")
        if net is None:
            net = nn.Linear(self.context_features, 2 * self.dim)
            nn.init.zeros_(net.weight)
            nn.init.zeros_(net.bias)
        self.net = net

    def loc_and_log_scale(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """``(μ(c), log σ(c))``, each of shape ``(batch, *event_shape)``."""
        if context is None:
            raise ValueError("ConditionalDiagNormal needs a context (one row per sample)")
        h = self.net(context.reshape(context.shape[0], -1))
        loc, log_scale = h[:, : self.dim], h[:, self.dim:]
        return loc.reshape(-1, *self.event_shape), log_scale.reshape(-1, *self.event_shape)

    def log_prob(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        loc, log_scale = self.loc_and_log_scale(context)  # type: ignore[arg-type]
        return _diag_normal_log_prob(z, loc, log_scale)

    def from_noise(self, eps: Tensor, context: Tensor | None = None) -> Tensor:
        loc, log_scale = self.loc_and_log_scale(context)  # type: ignore[arg-type]
        return loc + torch.exp(log_scale) * eps
