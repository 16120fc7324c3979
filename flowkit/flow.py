"""A normalizing flow: a base distribution pushed through an invertible transform."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ._validation import as_shape, module_dtype, validate_batch
from .base import Transform
from .distributions import BaseDistribution, _check_n

__all__ = ["Flow"]


class Flow(nn.Module):
    r"""The density :math:`p_x` of ``x = f(z)``, ``z ~ p_z``, for an invertible ``f``.

    By the change of variables formula, with :math:`f^{-1}` the ``inverse``
    (normalizing) direction of ``transform``:

    .. math:: \log p_x(x) = \log p_z(f^{-1}(x)) + \log\left|\det \frac{\partial f^{-1}}{\partial x}\right|
              = \log p_z(z) - \log\left|\det \frac{\partial f}{\partial z}\right|.

    Args:
        transform: the map z → x (its ``forward`` is generative).
        base: the base distribution over z.
        event_shape: shape of one x; defaults to ``transform.event_shape`` and then
            to ``base.event_shape``.

    A ``Flow`` is an ``nn.Module``: ``.to(device)``, ``.double()``,
    ``state_dict()`` and ``torch.save`` behave as usual.
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

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density of each row of ``x`` (shape ``(batch, *event_shape)``) → ``(batch,)``."""
        if not self.transform.has_inverse:
            raise ValueError(
                f"{type(self.transform).__name__} has no inverse, so this flow cannot evaluate "
                "log p(x) for given x; use sample_and_log_prob for the density of its own samples"
            )
        validate_batch(x, self.event_shape, name="x", where="Flow.log_prob", dtype=self._dtype())
        z, ld = self.transform._inverse(x)
        return self.base._log_prob(z) + ld

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples x = f(z), z ~ base (scaled by ``temperature``)."""
        z = self.base.sample(n, temperature=temperature, generator=generator)
        if z.shape[0] == 0:
            return z.new_zeros((0, *self.event_shape))
        x, _ = self.transform._forward(z)
        return x

    def sample_and_log_prob(self, n: int, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Samples and their exact log-density in one forward pass (no inverse needed).

        ``log p(x) = log p_z(z) - log|det ∂x/∂z|`` — differentiable, as reverse-KL training needs.
        """
        n = _check_n(n)
        if n == 0:
            raise ValueError("sample_and_log_prob needs n >= 1")
        z = self.base.sample(n, generator=generator)
        x, ld = self.transform._forward(z)
        return x, self.base._log_prob(z) - ld

    def forward(self, *args, **kwargs):  # noqa: D401 - deliberately unusable
        """Not used: call ``log_prob(x)``, ``sample(n)`` or ``transform.forward(z)`` explicitly."""
        raise TypeError(
            "Flow is not called directly: use flow.log_prob(x) for densities, flow.sample(n) "
            "for samples, or flow.transform.forward(z) for the map z → x"
        )
