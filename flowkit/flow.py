"""A normalizing flow: a base distribution pushed through an invertible transform."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .distributions import BaseDistribution, broadcast_context
from .transforms.base import Transform, inside_flowkit
from .validation import (
    as_shape,
    check_module_device,
    module_dtype,
    nonneg_int,
    positive_int,
    validate_batch,
    validate_context,
)

__all__ = ["Flow"]


class Flow(nn.Module):
    r"""The density :math:`p_x` of ``x = f(z)``, ``z ~ p_z``, for an invertible ``f``.

    By the change of variables formula, with :math:`f^{-1}` the ``inverse``
    (normalizing) direction of ``transform``:

    .. math:: \log p_x(x) = \log p_z(f^{-1}(x)) + \log\left|\det \frac{\partial f^{-1}}{\partial x}\right|
              = \log p_z(z) - \log\left|\det \frac{\partial f}{\partial z}\right|.

    A conditional flow models :math:`p(x\mid c)`: every method takes an optional ``context``
    ``c`` (one row per sample), passed to the transform and to the base distribution.

    Args:
        transform: the map z → x (its ``forward`` is generative).
        base: the base distribution over z.
        event_shape: shape of one x; defaults to ``transform.event_shape`` and then
            to ``base.event_shape``.

    A ``Flow`` is an ``nn.Module``: ``.to(device)``, ``.double()``,
    ``state_dict()`` and ``torch.save`` behave as usual.

    Example:
        >>> import torch, flowkit as fk
        >>> flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
        >>> x = flow.sample(3)
        >>> flow.log_prob(x).shape
        torch.Size([3])
    """

    def __init__(self, transform: Transform, base: BaseDistribution,
                 event_shape: int | Sequence[int] | None = None) -> None:
        super().__init__()
        if not isinstance(transform, Transform):
            raise TypeError(f"transform must be a flowkit.Transform, got {type(transform).__name__}")
        if not isinstance(base, BaseDistribution):
            raise TypeError(f"base must be a flowkit base distribution, got {type(base).__name__}")
        if transform.latent_shape is not None and tuple(transform.latent_shape) != tuple(base.event_shape):
            raise ValueError(
                f"the transform expects latents of shape {transform.latent_shape} but the base "
                f"distribution has event_shape {base.event_shape}"
            )
        self.transform = transform
        self.base = base
        if event_shape is not None:
            self.event_shape = as_shape(event_shape)
        else:
            self.event_shape = transform.event_shape or base.event_shape

    def _dtype(self) -> torch.dtype | None:
        return module_dtype(self)

    def log_prob(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """Exact log-density of each row of ``x`` (shape ``(batch, *event_shape)``) → ``(batch,)``."""
        if not self.transform.has_inverse:
            raise ValueError(
                f"{type(self.transform).__name__} has no inverse, so this flow cannot evaluate "
                "log p(x) for given x; use sample_and_log_prob for the density of its own samples"
            )
        check_module_device(self, "Flow.log_prob")
        dtype = self._dtype()
        validate_batch(x, self.event_shape, name="x", where="Flow.log_prob", dtype=dtype)
        if context is not None:
            validate_context(context, x.shape[0], where="Flow.log_prob", dtype=dtype)
        with inside_flowkit():
            z, ld = self.transform.inverse(x, context)
            return self.base.log_prob(z, context) + ld

    def sample(self, n: int, context: Tensor | None = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples x = f(z), z ~ base (noise scaled by ``temperature``).

        With a ``context`` of ``n`` rows, sample ``i`` is drawn given row ``i``; a single
        row is used for all ``n`` samples.
        """
        n = nonneg_int(n, "n", "Flow.sample")
        if n == 0:
            return self.base.sample(0, temperature=temperature).new_zeros((0, *self.event_shape))
        context = None if context is None else broadcast_context(context, n, "Flow.sample")
        z = self.base.sample(n, context, temperature=temperature, generator=generator)
        with inside_flowkit():
            x, _ = self.transform(z, context)
        return x

    def sample_and_log_prob(self, n: int, context: Tensor | None = None, *,
                            generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Samples and their exact log-density in one forward pass (no inverse needed).

        ``log p(x) = log p_z(z) - log|det ∂x/∂z|`` — differentiable, as reverse-KL training needs.
        """
        n = positive_int(n, "n", "Flow.sample_and_log_prob") if n != 0 else 0
        if n == 0:
            empty = self.base.sample(0)
            return empty.new_zeros((0, *self.event_shape)), empty.new_zeros(0)
        context = None if context is None else broadcast_context(context, n, "Flow.sample_and_log_prob")
        z = self.base.sample(n, context, generator=generator)
        with inside_flowkit():
            x, ld = self.transform(z, context)
            return x, self.base.log_prob(z, context) - ld

    def forward(self, *args, **kwargs):  # noqa: D401 - deliberately unusable
        """Not used: call ``log_prob(x)``, ``sample(n)`` or ``transform.forward(z)`` explicitly."""
        raise TypeError(
            "Flow is not called directly: use flow.log_prob(x) for densities, flow.sample(n) "
            "for samples, or flow.transform.forward(z) for the map z → x"
        )
