"""The :class:`Transform` contract and the two ways to combine transforms.

Convention (used everywhere in flowkit)
---------------------------------------
``forward`` is the generative direction z → x and ``inverse`` the normalizing
direction x → z. Each returns ``(output, logabsdet)`` where ``logabsdet`` has
shape ``(batch,)`` and is ``log |det J|`` of *that* direction's Jacobian::

    x, ld_f = t.forward(z)     # ld_f = log|det ∂x/∂z|
    z, ld_i = t.inverse(x)     # ld_i = log|det ∂z/∂x| = -ld_f
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import Tensor, nn

from ._validation import as_shape, module_dtype, validate_batch

__all__ = ["Transform", "Compose", "Inverse"]


class Transform(nn.Module):
    """Base class of every invertible map in flowkit.

    Subclasses implement :meth:`_forward` and :meth:`_inverse`; the public
    :meth:`forward` / :meth:`inverse` validate the input first (shape, dtype,
    finiteness, non-empty batch) and then call them. Containers call the
    underscored methods of their children directly, so a long stack validates
    its input once.

    Attributes:
        event_shape: shape of one sample on the x side (the data side).
        latent_shape: shape of one sample on the z side; equals ``event_shape``
            for every shape-preserving transform.
        has_inverse: ``False`` for a transform whose inverse cannot be computed;
            a :class:`~flowkit.Flow` then refuses to evaluate densities.
    """

    has_inverse: bool = True

    def __init__(self, event_shape: int | Sequence[int] | None = None,
                 latent_shape: int | Sequence[int] | None = None) -> None:
        super().__init__()
        self.event_shape: tuple[int, ...] | None = None if event_shape is None else as_shape(event_shape)
        if latent_shape is None:
            self.latent_shape = self.event_shape
        else:
            self.latent_shape = as_shape(latent_shape, "latent_shape")

    # -- to be implemented by subclasses -------------------------------------------
    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- public, validated ------------------------------------------------------------
    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Map z → x. Returns ``(x, log|det ∂x/∂z|)`` with the log-det of shape ``(batch,)``."""
        validate_batch(z, self.latent_shape, name="z", where=f"{type(self).__name__}.forward",
                       dtype=module_dtype(self))
        return self._forward(z)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map x → z. Returns ``(z, log|det ∂z/∂x|)`` with the log-det of shape ``(batch,)``."""
        if not self.has_inverse:
            raise ValueError(f"{type(self).__name__} has no inverse, so it cannot map x → z")
        validate_batch(x, self.event_shape, name="x", where=f"{type(self).__name__}.inverse",
                       dtype=module_dtype(self))
        return self._inverse(x)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}" if self.event_shape is not None else ""


class Compose(Transform):
    """Apply transforms one after another: ``Compose([t1, t2, t3])``.

    forward:  x = t3(t2(t1(z))),    log|det J| = Σ_k log|det J_k|
    inverse:  z = t1⁻¹(t2⁻¹(t3⁻¹(x))), the log-dets of the inverses summed.

    The list order is the generative order: ``t1`` touches the base sample first.
    """

    def __init__(self, transforms: Iterable[Transform]) -> None:
        transforms = list(transforms)
        if not transforms:
            raise ValueError("Compose needs at least one transform")
        for i, t in enumerate(transforms):
            if not isinstance(t, Transform):
                raise TypeError(f"Compose: item {i} is a {type(t).__name__}, not a flowkit.Transform")
        latent = next((t.latent_shape for t in transforms if t.latent_shape is not None), None)
        event = next((t.event_shape for t in reversed(transforms) if t.event_shape is not None), None)
        # Shape-changing layers: the z side is the first declared latent shape; the x side the last event shape.
        super().__init__(event, latent)
        self.transforms = nn.ModuleList(transforms)
        self.has_inverse = all(t.has_inverse for t in transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i: int) -> Transform:
        return self.transforms[i]

    def __iter__(self):
        return iter(self.transforms)

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        total = z.new_zeros(z.shape[0])
        for t in self.transforms:
            z, ld = t._forward(z)
            total = total + ld
        return z, total

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        for t in reversed(self.transforms):
            x, ld = t._inverse(x)
            total = total + ld
        return x, total

    def forward_steps(self, z: Tensor) -> list[Tensor]:
        """All intermediate values ``[z, t1(z), t2(t1(z)), …, x]`` (for plots of the deformation)."""
        validate_batch(z, self.latent_shape, name="z", where="Compose.forward_steps", dtype=module_dtype(self))
        out = [z]
        for t in self.transforms:
            z, _ = t._forward(z)
            out.append(z)
        return out


class Inverse(Transform):
    """Swap the directions of a transform: ``Inverse(t).forward == t.inverse``.

    Useful to turn a normalizing-direction layer into a generative one, e.g. an
    inverse autoregressive flow from a masked autoregressive one.
    """

    def __init__(self, transform: Transform) -> None:
        if not isinstance(transform, Transform):
            raise TypeError(f"Inverse expects a flowkit.Transform, got {type(transform).__name__}")
        super().__init__(transform.latent_shape, transform.event_shape)
        self.base_transform = transform
        self.has_inverse = True  # forward of the wrapped transform always exists

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        if not self.base_transform.has_inverse:
            raise ValueError(f"{type(self.base_transform).__name__} has no inverse, so Inverse(...) has no forward")
        return self.base_transform._inverse(z)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.base_transform._forward(x)
