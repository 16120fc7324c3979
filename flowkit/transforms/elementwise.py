r"""Elementwise maps: learnable :class:`Affine`, :class:`NormalCDF`, and the maps inside coupling layers.

A coupling layer is a *conditioner* (a network computing parameters from the features that
pass through) plus an *elementwise map* that transforms the other features with those
parameters. The elementwise maps are small objects with the same direction convention as a
:class:`~flowkit.Transform`, but they take their parameters as an argument and return the
log-slope of every entry (the coupling sums them):

=================  ==============  ==================================================================
map                parameters      forward (z → x), elementwise log-slope
=================  ==============  ==================================================================
:class:`Shift`     ``t``           :math:`x = z + t`, 0
:class:`AffineMap` ``s̃, t``        :math:`x = z\,e^{s} + t`, :math:`s` (``direction="generative"``), or
                                   :math:`x = (z - t)\,e^{-s}`, :math:`-s` (``"normalizing"``, the paper's)
:class:`SplineMap` ``3K − 1``      rational-quadratic spline (:mod:`flowkit.transforms.spline`)
=================  ==============  ==================================================================

Parameters arrive with the parameter axis at dimension 1: ``params[:, k]`` has the shape of
the transformed entries. A coupling hands its conditioner's output to the map's ``unpack``
first, which may split it into a tuple instead (:class:`AffineMap`: ``(s̃, t)`` by one ``chunk``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..validation import finite_real
from .base import Transform

__all__ = ["soft_clamp", "Affine", "NormalCDF", "ElementwiseMap", "Shift", "AffineMap"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


_CONSTANTS: dict[tuple[float, torch.dtype, torch.device], Tensor] = {}


def _constant(value: float, like: Tensor) -> Tensor:
    """A cached 0-dim tensor holding ``value`` in ``like``'s dtype and device.

    Multiplying by it instead of by a Python float spares autograd a scalar-to-tensor
    conversion in the forward and the backward pass (four small operators per product).
    """
    key = (value, like.dtype, like.device)
    const = _CONSTANTS.get(key)
    if const is None:
        with torch.inference_mode(False):  # usable later under autograd, too
            const = _CONSTANTS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return const


def soft_clamp(raw: Tensor, bound: float | None, negate: bool = False) -> Tensor:
    r"""The soft clamp :math:`c\tanh(\tilde s / c)` of a raw log-scale (identity when ``bound`` is ``None``).

    Smooth, odd, slope 1 at 0, and bounded by ``c``: a log-scale can never make ``exp`` overflow.
    ``c = 1`` is RealNVP's plain :math:`\tanh` and costs one operator; any other bound two
    products more. ``negate=True`` returns :math:`-c\tanh(\tilde s / c) = c\tanh(-\tilde s / c)`
    (for ``c ≠ 1`` at no extra cost: the sign folds into the scaling).

    Example:
        >>> import torch
        >>> soft_clamp(torch.tensor([0.0, 100.0]), 5.0)
        tensor([0., 5.])
    """
    if bound is None:
        return -raw if negate else raw
    if bound == 1.0:
        return torch.tanh(-raw if negate else raw)
    return torch.tanh(raw * _constant((-1.0 if negate else 1.0) / bound, raw)) * _constant(bound, raw)


class ElementwiseMap:
    """A monotone elementwise map with ``n_params`` parameters per entry (see the module docstring).

    Example:
        >>> import torch
        >>> class Scale(ElementwiseMap):   # x = z·e^{p}
        ...     n_params = 1
        ...     def forward(self, z, params):
        ...         return z * params[:, 0].exp(), params[:, 0]
        ...     def inverse(self, x, params):
        ...         return x * (-params[:, 0]).exp(), -params[:, 0]
        >>> Scale().forward(torch.ones(1, 2), torch.zeros(1, 1, 2))[0]
        tensor([[1., 1.]])
    """

    n_params: int = 1

    def unpack(self, h: Tensor, shape: Sequence[int]) -> Tensor | tuple[Tensor, ...]:
        """The conditioner output ``(batch, n_params·shape[0], *shape[1:])`` in the form ``params`` takes.

        Default: a view with the parameter axis at dimension 1. A map may return a tuple of
        ``n_params`` tensors of the entries' shape instead (:class:`AffineMap` does: one ``chunk``).
        """
        return h.view(h.shape[0], self.n_params, *shape)

    def forward(self, z: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Shift(ElementwiseMap):
    r"""NICE's additive map: :math:`x = z + t`; volume preserving (log-slope 0).

    Example:
        >>> import torch
        >>> Shift().forward(torch.zeros(1, 2), torch.ones(1, 1, 2))
        (tensor([[1., 1.]]), tensor([[0., 0.]]))
    """

    n_params = 1

    def forward(self, z: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return z + params[:, 0], torch.zeros_like(z)

    def inverse(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return x - params[:, 0], torch.zeros_like(x)


class AffineMap(ElementwiseMap):
    r"""RealNVP's affine map with a soft-clamped log-scale :math:`s = c\tanh(\tilde s/c)`.

    ``direction="normalizing"`` is the paper's parametrisation (Dinh et al., 2017, eq. 7): the
    inverse (data → latent) is :math:`z = x\,e^{s} + t` (log-slope :math:`s`) and the forward
    :math:`x = (z - t)\,e^{-s}`. ``direction="generative"`` puts the same family the other way
    round: forward :math:`x = z\,e^{s} + t`, inverse :math:`z = (x - t)\,e^{-s}`. The map's own
    default is ``"generative"`` (the MAF's map); :class:`~flowkit.AffineCoupling` chooses its own.

    The parameters arrive as ``(s̃, t)`` along dimension 1. Both directions cost one soft clamp,
    one ``exp``, one product and one sum: the side that divides by the scale clamps
    :math:`-\tilde s` instead (:math:`c\tanh(-\tilde s/c) = -s`), so no negation is needed.

    Example:
        >>> import torch
        >>> params = torch.tensor([[[0.0], [2.0]]])          # raw log-scale 0, shift 2
        >>> AffineMap(direction="normalizing").inverse(torch.ones(1, 1), params)   # z = x·e^0 + 2
        (tensor([[3.]]), tensor([[0.]]))
        >>> AffineMap().forward(torch.ones(1, 1), params)                          # generative: x = z·e^0 + 2
        (tensor([[3.]]), tensor([[0.]]))
    """

    n_params = 2

    def __init__(self, scale_bound: float | None = 5.0, direction: str = "generative") -> None:
        if scale_bound is not None:
            scale_bound = finite_real(scale_bound, "scale_bound", "AffineMap", low=0.0, low_open=True)
        if direction not in ("generative", "normalizing"):
            raise ValueError(f"AffineMap: direction must be 'generative' or 'normalizing', got {direction!r}")
        self.scale_bound = scale_bound
        self.direction = direction

    def unpack(self, h: Tensor, shape: Sequence[int]) -> tuple[Tensor, Tensor]:
        s_raw, t = h.chunk(2, dim=1)
        return s_raw, t

    def log_scale_and_shift(self, params: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """``(s, t)``: the clamped log-scale and the shift."""
        raw, t = params if isinstance(params, tuple) else params.unbind(1)
        return soft_clamp(raw, self.scale_bound), t

    def _scale_shift(self, u: Tensor, params: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """``u·e^s + t`` and its log-slope ``s``."""
        raw, t = params if isinstance(params, tuple) else params.unbind(1)
        s = soft_clamp(raw, self.scale_bound)
        return u * s.exp() + t, s

    def _unscale(self, u: Tensor, params: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """``(u - t)·e^{-s}`` and its log-slope ``-s``."""
        raw, t = params if isinstance(params, tuple) else params.unbind(1)
        neg_s = soft_clamp(raw, self.scale_bound, negate=True)
        return (u - t) * neg_s.exp(), neg_s

    def forward(self, z: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return self._scale_shift(z, params) if self.direction == "generative" else self._unscale(z, params)

    def inverse(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return self._unscale(x, params) if self.direction == "generative" else self._scale_shift(x, params)

    def __repr__(self) -> str:
        return f"AffineMap(scale_bound={self.scale_bound}, direction={self.direction!r})"


class Affine(Transform):
    r"""Learnable elementwise affine map with a positive scale.

    forward:  :math:`x = e^{s} \odot z + t`, :math:`\log|\det J| = \sum_i s_i`
    inverse:  :math:`z = (x - t) \odot e^{-s}`, :math:`\log|\det J| = -\sum_i s_i`

    ``s`` (``log_scale``) and ``t`` (``shift``) have the event's shape; both start at zero
    (the identity) unless given.

    Example:
        >>> import torch, flowkit as fk
        >>> t = fk.Affine(2, log_scale=0.5, shift=1.0)
        >>> t.forward(torch.zeros(1, 2))
        (tensor([[1., 1.]], grad_fn=<AddBackward0>), tensor([1.], grad_fn=<ExpandBackward0>))
    """

    def __init__(self, event_shape: int | Sequence[int], log_scale: Tensor | float | None = None,
                 shift: Tensor | float | None = None) -> None:
        super().__init__(event_shape)
        s = torch.zeros(self.event_shape)
        t = torch.zeros(self.event_shape)
        if log_scale is not None:
            s = s + torch.as_tensor(log_scale, dtype=s.dtype)
        if shift is not None:
            t = t + torch.as_tensor(shift, dtype=t.dtype)
        if s.shape != self.event_shape or t.shape != self.event_shape:
            raise ValueError(f"Affine: log_scale and shift must broadcast to {self.event_shape}")
        if not (torch.isfinite(s).all() and torch.isfinite(t).all()):
            raise ValueError("Affine: log_scale and shift must be finite")
        self.log_scale = nn.Parameter(s)
        self.shift = nn.Parameter(t)

    def _logdet(self, batch: int) -> Tensor:
        return self.log_scale.sum().expand(batch)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return z * torch.exp(self.log_scale) + self.shift, self._logdet(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return (x - self.shift) * torch.exp(-self.log_scale), -self._logdet(x.shape[0])


class NormalCDF(Transform):
    r"""The standard normal CDF applied elementwise: :math:`\mathbb R \to (0, 1)`.

    forward: :math:`u = \Phi(h)`, :math:`\log|\det J| = \sum_i \log\varphi(h_i)`;
    inverse: :math:`h = \Phi^{-1}(u)`, :math:`\log|\det J| = -\sum_i \log\varphi(h_i)`,
    with :math:`\varphi` the standard normal density. It pushes N(0, I) to the uniform
    distribution on the unit cube exactly, which makes it the last layer of a learned
    dequantization noise (:class:`~flowkit.image.VariationalDequantization`).
    The inverse accepts the open interval ``(0, 1)`` only.

    Example:
        >>> import torch, flowkit as fk
        >>> u, ld = fk.transforms.NormalCDF(1).forward(torch.zeros(1, 1))
        >>> float(u), round(float(ld), 4)  # Φ(0) = 0.5, log φ(0) = -½ log 2π
        (0.5, -0.9189)
    """

    def __init__(self, event_shape: int | Sequence[int]) -> None:
        super().__init__(event_shape)

    @staticmethod
    def _log_phi_sum(h: Tensor) -> Tensor:
        return (-0.5 * h.pow(2) - _HALF_LOG_2PI).reshape(h.shape[0], -1).sum(dim=1)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        return torch.special.ndtr(h), self._log_phi_sum(h)

    def inverse(self, u: Tensor) -> tuple[Tensor, Tensor]:
        if not bool(((u > 0) & (u < 1)).all()):
            raise ValueError(f"NormalCDF.inverse: inputs must lie in (0, 1), got values in "
                             f"[{float(u.min()):.4g}, {float(u.max()):.4g}]")
        h = torch.special.ndtri(u)
        return h, -self._log_phi_sum(h)
