"""Coupling layers (Dinh et al., 2015 NICE; Dinh et al., 2017 RealNVP).

A coupling layer splits the input with a binary mask into a part ``z_a`` that passes
through unchanged and a part ``z_b`` that is transformed elementwise with parameters
computed from ``z_a`` by an arbitrary *conditioner* network. The Jacobian is triangular
(after ordering the features as ``[a, b]``), so its log-determinant is the sum of the
logs of the elementwise slopes, and the inverse needs only one conditioner pass.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .base import Transform
from .nets import MLP, zero_init_last_layer

__all__ = ["Coupling", "AdditiveCoupling", "AffineCoupling", "split_mask", "alternating_mask"]


def split_mask(features: int, flip: bool = False) -> Tensor:
    """Mask keeping the first ``features // 2`` features fixed (the last ones when ``flip``)."""
    mask = torch.arange(features) < features // 2
    return ~mask if flip else mask


def alternating_mask(features: int, flip: bool = False) -> Tensor:
    """Mask keeping the even-indexed features fixed (the odd ones when ``flip``)."""
    mask = torch.arange(features) % 2 == 0
    return ~mask if flip else mask


class Coupling(Transform):
    """Shared machinery of coupling layers; subclasses define the elementwise map.

    Args:
        features_or_shape: ``D`` for vectors, or an event shape such as ``(C, H, W)``.
        mask: boolean tensor of the event's shape, ``True`` where the input passes
            through unchanged (``z_a``) and conditions the rest. Defaults to the split
            mask of the first half (vectors only).
        conditioner: any module. For vector events it maps ``z_a`` of shape
            ``(batch, n_a)`` to ``(batch, n_params * n_b)``. For other shapes it maps
            the masked input ``z * mask`` of shape ``(batch, C, H, W)`` to
            ``(batch, n_params * C, H, W)``. Defaults to an :class:`~flowkit.nets.MLP`
            (vectors only) with ``hidden`` units.
        zero_init: zero the conditioner's last Linear/Conv layer so a fresh layer is
            exactly the identity.
    """

    n_params: int = 1

    def __init__(self, features_or_shape: int | Sequence[int], mask: Tensor | None = None,
                 conditioner: nn.Module | None = None, hidden: Sequence[int] = (64, 64),
                 zero_init: bool = True) -> None:
        super().__init__(features_or_shape)
        shape = self.event_shape
        assert shape is not None
        self.vector = len(shape) == 1
        if mask is None:
            if not self.vector:
                raise ValueError(f"{type(self).__name__}: give a mask for event shape {shape}")
            mask = split_mask(shape[0])
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool:
            if not torch.all((mask == 0) | (mask == 1)):
                raise ValueError(f"{type(self).__name__}: mask must be boolean (or 0/1)")
            mask = mask.bool()
        if tuple(mask.shape) != shape:
            raise ValueError(f"{type(self).__name__}: mask must have the event shape {shape}, got {tuple(mask.shape)}")
        n_a = int(mask.sum())
        n_b = mask.numel() - n_a
        if n_a == 0 or n_b == 0:
            raise ValueError(f"{type(self).__name__}: mask must keep some features fixed and transform others "
                             f"(it keeps {n_a} of {mask.numel()})")
        self.register_buffer("mask", mask)
        if self.vector:
            idx_a, idx_b = mask.nonzero().flatten(), (~mask).nonzero().flatten()
            self.register_buffer("idx_a", idx_a)
            self.register_buffer("idx_b", idx_b)
            # [z_a, z_b] -> original order; for a split mask (a block, then b) slices and cat suffice
            self.register_buffer("_unsort", torch.argsort(torch.cat([idx_a, idx_b])), persistent=False)
            self._split_at = len(idx_a) if bool(mask[: len(idx_a)].all()) else None
            self._split_flip = None if self._split_at is not None else (
                len(idx_b) if bool((~mask)[: len(idx_b)].all()) else None)

        if conditioner is None:
            if not self.vector:
                raise ValueError(f"{type(self).__name__}: give a conditioner network for event shape {shape}")
            conditioner = MLP(n_a, self.n_params * n_b, hidden=hidden, zero_init=zero_init)
        elif zero_init:
            zero_init_last_layer(conditioner)
        self.conditioner = conditioner
        self._n_b = n_b

    # -- parameters from the conditioning part ---------------------------------------
    def _params(self, z: Tensor) -> tuple[Tensor, Tensor | None]:
        """Returns ``(inputs_b, params)`` with params of shape ``(batch, n_params, *shape_b)``."""
        if self.vector:
            za, zb = self._split(z)
            h = self.conditioner(za)
            expected = (z.shape[0], self.n_params * self._n_b)
            if tuple(h.shape) != expected:
                raise ValueError(f"{type(self).__name__}: conditioner returned shape {tuple(h.shape)}, "
                                 f"expected {expected}")
            return zb, h.view(z.shape[0], self.n_params, self._n_b)
        h = self.conditioner(z * self.mask)
        expected = (z.shape[0], self.n_params * z.shape[1], *z.shape[2:])
        if tuple(h.shape) != expected:
            raise ValueError(f"{type(self).__name__}: conditioner returned shape {tuple(h.shape)}, expected {expected}")
        return z, h.view(z.shape[0], self.n_params, *z.shape[1:])

    def _split(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``(z_a, z_b)`` by slicing when the mask is a block split, else by gathering."""
        if self._split_at is not None:
            return z[:, : self._split_at], z[:, self._split_at:]
        if self._split_flip is not None:
            return z[:, self._split_flip:], z[:, : self._split_flip]
        return z[:, self.idx_a], z[:, self.idx_b]

    def _combine(self, z: Tensor, new_b: Tensor, ld_elem: Tensor) -> tuple[Tensor, Tensor]:
        if self.vector:
            if self._split_at is not None:
                out = torch.cat([z[:, : self._split_at], new_b], dim=1)
            elif self._split_flip is not None:
                out = torch.cat([new_b, z[:, self._split_flip:]], dim=1)
            else:
                out = torch.cat([z[:, self.idx_a], new_b], dim=1)[:, self._unsort]
            return out, ld_elem.sum(dim=1)
        keep = self.mask
        out = torch.where(keep, z, new_b)
        ld = (ld_elem * (~keep)).reshape(z.shape[0], -1).sum(dim=1)
        return out, ld

    def _elementwise(self, zb: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        zb, params = self._params(z)
        xb, ld = self._elementwise(zb, params, inverse=False)
        return self._combine(z, xb, ld)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        xb, params = self._params(x)  # the fixed part is identical in x and z
        zb, ld = self._elementwise(xb, params, inverse=True)
        return self._combine(x, zb, ld)


class AdditiveCoupling(Coupling):
    r"""NICE's additive coupling (Dinh et al., 2015): volume preserving.

    forward:  :math:`x_a = z_a,\ x_b = z_b + t(z_a)`;  inverse: :math:`z_b = x_b - t(x_a)`;
    both log-dets are 0 (the Jacobian is unit lower-triangular).
    """

    n_params = 1

    def _elementwise(self, zb: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        t = params[:, 0]
        out = zb - t if inverse else zb + t
        return out, torch.zeros_like(zb)


class AffineCoupling(Coupling):
    r"""RealNVP's affine coupling (Dinh et al., 2017) with a bounded log-scale.

    forward:  :math:`x_a = z_a,\ x_b = z_b \odot e^{s(z_a)} + t(z_a)`,
    :math:`\log|\det J| = \sum_i s_i(z_a)`;
    inverse:  :math:`z_b = (x_b - t(x_a)) \odot e^{-s(x_a)}`, :math:`\log|\det J| = -\sum_i s_i(x_a)`.

    The raw conditioner output :math:`\tilde s` is soft-clamped,
    :math:`s = c\,\tanh(\tilde s / c)` with ``scale_bound`` ``c`` (default 5, i.e. scales in
    :math:`[e^{-5}, e^{5}]` per layer): bounded scales keep training finite where an
    unbounded ``exp`` can overflow, while staying far from a cap so tight it cannot fit
    the data. (Measured on two moons with noise 0.05, 8 layers, 2000 steps: test NLL 0.87
    with ``c = 3``, 0.56 with ``c = 5``, 0.51 unbounded.)
    """

    n_params = 2

    def __init__(self, features_or_shape: int | Sequence[int], mask: Tensor | None = None,
                 conditioner: nn.Module | None = None, hidden: Sequence[int] = (64, 64),
                 zero_init: bool = True, scale_bound: float = 5.0) -> None:
        if not (isinstance(scale_bound, (int, float)) and math.isfinite(scale_bound) and scale_bound > 0):
            raise ValueError(f"AffineCoupling: scale_bound must be a finite positive number, got {scale_bound!r}")
        super().__init__(features_or_shape, mask, conditioner, hidden, zero_init)
        self.scale_bound = float(scale_bound)

    def log_scale(self, raw: Tensor) -> Tensor:
        """Soft clamp ``c·tanh(raw/c)`` of the raw log-scale."""
        c = self.scale_bound
        return c * torch.tanh(raw / c)

    def _elementwise(self, zb: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        s = self.log_scale(params[:, 0])
        t = params[:, 1]
        if inverse:
            return (zb - t) * torch.exp(-s), -s
        return zb * torch.exp(s) + t, s

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, scale_bound={self.scale_bound}"
