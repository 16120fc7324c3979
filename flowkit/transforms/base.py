"""The :class:`Transform` contract and the two ways to combine transforms.

Convention (used everywhere in flowkit)
---------------------------------------
``forward`` is the generative direction z → x and ``inverse`` the normalizing direction
x → z. Each takes an optional ``context`` (the conditioning input of a conditional flow,
one row per sample) and returns ``(output, logabsdet)`` where ``logabsdet`` has shape
``(batch,)`` and is ``log |det J|`` of *that* direction's Jacobian::

    x, ld_f = t.forward(z)          # ld_f = log|det ∂x/∂z|
    z, ld_i = t.inverse(x)          # ld_i = log|det ∂z/∂x| = -ld_f
    x, ld_f = t.forward(z, context) # a conditional transform: x = f(z; context)

Validation
----------
A subclass implements plain ``forward`` and ``inverse``; :class:`Transform` wraps them once,
when the class is created, so that the *outermost* call checks its input (a tensor of shape
``(batch, *shape)``, the module's dtype, finite, non-empty; a context with one row per input
row) and raises a readable ``TypeError``/``ValueError``. Calls made while another flowkit
transform or flow is running — the layers inside a :class:`Compose`, a coupling's inner
map — skip the checks, so a deep stack validates its input once. Inside ``torch.func``
transforms (``vmap``, ``grad``) the value-dependent finiteness check is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from typing import Callable, Iterable, Iterator, Sequence

from torch import Tensor, nn

from ..validation import (
    as_shape,
    check_module_device,
    module_dtype,
    validate_batch,
    validate_context,
)

__all__ = ["Transform", "Compose", "Inverse", "inside_flowkit"]

class _State(threading.local):
    depth = 0  # > 0 while a validated flowkit call runs on this thread


_state = _State()


def _depth() -> int:
    return _state.depth


@contextlib.contextmanager
def inside_flowkit() -> Iterator[None]:
    """Mark the code in the block as running inside a validated flowkit call (inner calls skip checks).

    Example:
        >>> import torch, flowkit as fk
        >>> with inside_flowkit():   # no input checks inside: for code that already checked
        ...     x, ld = fk.Reverse(2).forward(torch.tensor([[1.0, 2.0]]))
        >>> x
        tensor([[2., 1.]])
    """
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1


def _takes_context(fn: Callable) -> bool:
    params = list(inspect.signature(fn).parameters.values())[1:]  # drop self
    return len(params) >= 2 or any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def _validated(fn: Callable, direction: str) -> Callable:
    """Wrap a subclass's ``forward``/``inverse`` with the input checks of the outermost call."""
    takes_context = _takes_context(fn)

    @functools.wraps(fn)
    def method(self: Transform, inputs: Tensor, context: Tensor | None = None):
        if _state.depth:  # an inner layer: the outermost call has checked the input
            return fn(self, inputs, context) if takes_context else fn(self, inputs)
        self.validate_inputs(direction, inputs, context)
        _state.depth += 1
        try:
            return fn(self, inputs, context) if takes_context else fn(self, inputs)
        finally:
            _state.depth -= 1

    method._flowkit_validated = True  # type: ignore[attr-defined]
    return method


class Transform(nn.Module):
    """Base class of every invertible map in flowkit.

    Subclasses implement ``forward(z, context=None)`` (z → x) and ``inverse(x, context=None)``
    (x → z), each returning ``(output, log|det J|)`` with the log-det of shape ``(batch,)``.
    A transform that is not conditional may leave out the ``context`` parameter; a context
    passed to it (e.g. by a :class:`Compose` of conditional and plain layers) is ignored.
    The input checks are installed by the base class (see the module docstring).

    Attributes:
        event_shape: shape of one sample on the x side (the data side); ``None`` if any.
        latent_shape: shape of one sample on the z side; equals ``event_shape`` for every
            shape-preserving transform.
        context_shape: shape of one row of the context for a conditional transform whose
            context has a fixed shape; ``None`` otherwise.
        has_inverse: ``False`` for a transform whose inverse cannot be computed;
            a :class:`~flowkit.Flow` then refuses to evaluate densities.

    Example:
        >>> import math, torch, flowkit as fk
        >>> class Double(fk.Transform):
        ...     def forward(self, z):
        ...         return 2 * z, torch.full((z.shape[0],), z.shape[1] * math.log(2))
        ...     def inverse(self, x):
        ...         return x / 2, torch.full((x.shape[0],), -x.shape[1] * math.log(2))
        >>> fk.check(Double(3), torch.randn(16, 3)).passed
        True
    """

    has_inverse: bool = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for direction in ("forward", "inverse"):
            fn = cls.__dict__.get(direction)
            if fn is not None and callable(fn) and not getattr(fn, "_flowkit_validated", False):
                setattr(cls, direction, _validated(fn, direction))

    def __init__(self, event_shape: int | Sequence[int] | None = None,
                 latent_shape: int | Sequence[int] | None = None,
                 context_shape: int | Sequence[int] | None = None) -> None:
        super().__init__()
        self.event_shape: tuple[int, ...] | None = None if event_shape is None else as_shape(event_shape)
        if latent_shape is None:
            self.latent_shape = self.event_shape
        else:
            self.latent_shape = as_shape(latent_shape, "latent_shape")
        self.context_shape = None if context_shape is None else as_shape(context_shape, "context_shape")

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Map z → x. Returns ``(x, log|det ∂x/∂z|)`` with the log-det of shape ``(batch,)``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward(z, context=None)")

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Map x → z. Returns ``(z, log|det ∂z/∂x|)`` with the log-det of shape ``(batch,)``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement inverse(x, context=None)")

    def validate_inputs(self, direction: str, inputs: object, context: object = None) -> None:
        """The checks of an outermost call (see the module docstring); raises ``TypeError``/``ValueError``."""
        where = f"{type(self).__name__}.{direction}"
        if direction == "inverse" and not self.has_inverse:
            raise ValueError(f"{type(self).__name__} has no inverse, so it cannot map x → z")
        shape = self.latent_shape if direction == "forward" else self.event_shape
        name = "z" if direction == "forward" else "x"
        check_module_device(self, where)
        dtype = module_dtype(self)
        validate_batch(inputs, shape, name=name, where=where, dtype=dtype)
        if context is not None:
            validate_context(context, inputs.shape[0], where=where, dtype=dtype,  # type: ignore[union-attr]
                             shape=self.context_shape)

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}" if self.event_shape is not None else ""


class Compose(Transform):
    """Apply transforms one after another: ``Compose([t1, t2, t3])``.

    forward:  x = t3(t2(t1(z))),    log|det J| = Σ_k log|det J_k|
    inverse:  z = t1⁻¹(t2⁻¹(t3⁻¹(x))), the log-dets of the inverses summed.

    The list order is the generative order: ``t1`` touches the base sample first. A
    ``context`` is passed to every layer (plain layers ignore it).

    Example:
        >>> import torch, flowkit as fk
        >>> t = fk.Compose([fk.AffineCoupling(2), fk.Reverse(2), fk.AffineCoupling(2)])
        >>> x, ld = t.forward(torch.randn(5, 2))
        >>> x.shape, ld.shape
        (torch.Size([5, 2]), torch.Size([5]))
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
        super().__init__(event, latent)
        self.transforms = nn.ModuleList(transforms)
        self.has_inverse = all(t.has_inverse for t in transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i: int) -> Transform:
        return self.transforms[i]

    def __iter__(self):
        return iter(self.transforms)

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = z.new_zeros(z.shape[0])
        for t in self.transforms:
            z, ld = t(z, context)
            total = total + ld
        return z, total

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        for t in reversed(self.transforms):
            x, ld = t.inverse(x, context)
            total = total + ld
        return x, total

    def forward_steps(self, z: Tensor, context: Tensor | None = None) -> list[Tensor]:
        """All intermediate values ``[z, t1(z), t2(t1(z)), …, x]`` (for plots of the deformation)."""
        self.validate_inputs("forward", z, context)
        out = [z]
        with inside_flowkit():
            for t in self.transforms:
                z, _ = t(z, context) if context is not None else t(z)
                out.append(z)
        return out


class Inverse(Transform):
    """Swap the directions of a transform: ``Inverse(t).forward == t.inverse``.

    Useful to turn a normalizing-direction layer into a generative one, e.g. an
    inverse autoregressive flow from a masked autoregressive one.

    Example:
        >>> import torch, flowkit as fk
        >>> t = fk.Affine(2, log_scale=1.0)
        >>> bool(torch.allclose(fk.Inverse(t).forward(torch.ones(1, 2))[0], t.inverse(torch.ones(1, 2))[0]))
        True
    """

    def __init__(self, transform: Transform) -> None:
        if not isinstance(transform, Transform):
            raise TypeError(f"Inverse expects a flowkit.Transform, got {type(transform).__name__}")
        super().__init__(transform.latent_shape, transform.event_shape, transform.context_shape)
        self.base_transform = transform
        self.has_inverse = True  # forward of the wrapped transform always exists

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if not self.base_transform.has_inverse:
            raise ValueError(f"{type(self.base_transform).__name__} has no inverse, so Inverse(...) has no forward")
        return self.base_transform.inverse(z, context)

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.base_transform(x, context)
