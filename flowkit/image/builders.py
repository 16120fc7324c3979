"""Ready-made image flows: :func:`RealNVP` (Dinh et al., 2017) and :func:`Glow` (Kingma & Dhariwal, 2018).

Both return an :class:`~flowkit.image.ImageFlow` whose transform is ::

    Compose([MultiScale(levels, splits), Logit(shape, alpha)])     # generative order

i.e. data ``y ∈ [0,1)^D`` → logit space → multi-scale flow → flat latent ``z ∈ R^D`` with a
standard normal base. Default sizes are chosen for the 8×8 digits (``(1, 8, 8)``, 17 levels)
so a few minutes of CPU training reach a good likelihood.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from torch import nn

from ..base import Compose, Transform
from ..coupling import AffineCoupling
from ._shapes import as_chw, positive_int
from .actnorm import ActNorm
from .dequantization import UniformDequantization, VariationalDequantization
from .imageflow import ImageFlow
from .invconv import InvConv1x1
from .logit import Logit
from .masks import channel_mask, checkerboard_mask
from .multiscale import MultiScale, Split
from .resnet import ResNet
from .squeeze import Squeeze

__all__ = ["RealNVP", "Glow"]


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _normalizing_order(layers: Sequence[Transform]) -> Compose:
    """A Compose from layers listed data-side first (Compose itself lists the generative order)."""
    return Compose(list(reversed(list(layers))))


def _coupling(shape: tuple[int, int, int], mask: torch.Tensor, hidden: int, n_blocks: int) -> AffineCoupling:
    C = shape[0]
    # scale_bound=3 as in the shipped digits checkpoints (conv couplings on images need no wider bound)
    return AffineCoupling(shape, mask=mask, conditioner=ResNet(C, 2 * C, hidden=hidden, n_blocks=n_blocks),
                          scale_bound=3.0)


def _dequantizer(dequantization: str | nn.Module, shape: tuple[int, int, int], hidden: int) -> nn.Module:
    if isinstance(dequantization, nn.Module):
        return dequantization
    if dequantization == "uniform":
        return UniformDequantization()
    if dequantization == "variational":
        return VariationalDequantization(shape, hidden=hidden)
    raise ValueError(f"dequantization must be 'uniform', 'variational' or a module, got {dequantization!r}")


def _mask(shape: tuple[int, int, int], flip: bool, kind: str) -> torch.Tensor:
    C, H, W = shape
    if kind == "checkerboard" and H * W >= 2:
        return checkerboard_mask(C, H, W, flip)
    return channel_mask(C, H, W, flip)


def _check_divisible(H: int, W: int, factor: int, n_levels: int, who: str) -> None:
    if H % factor or W % factor:
        raise ValueError(f"{who}: n_levels={n_levels} needs height and width divisible by {factor}, "
                         f"got {H}×{W}; use fewer levels")


def RealNVP(shape: Sequence[int] = (1, 8, 8), n_levels: int = 2, n_couplings: int = 3, hidden: int = 32,
            n_blocks: int = 1, *, n_bins: int = 17, alpha: float = 0.05, actnorm: bool = True,
            dequantization: str | nn.Module = "uniform", seed: int | None = None) -> ImageFlow:
    """RealNVP's multi-scale architecture (Dinh et al., 2017, Sec. 3.6) for small images.

    Per level (normalizing order): ``n_couplings`` affine couplings with alternating
    checkerboard masks, a :class:`Squeeze`, ``n_couplings`` couplings with alternating
    channel masks, then a :class:`Split` factoring out half the channels. The last level has
    ``n_couplings + 1`` checkerboard couplings (channel masks where only one pixel is left).
    Conditioners are :class:`ResNet` s of width ``hidden`` with ``n_blocks`` residual blocks.
    RealNVP's batch normalisation is replaced by an :class:`ActNorm` after each coupling
    (``actnorm=True``), which keeps the model a deterministic bijection.

    Args:
        shape: image shape ``(C, H, W)``; ``H`` and ``W`` must be divisible by ``2**(n_levels-1)``.
        n_bins: intensity levels of the data (17 for the digits).
        alpha: the :class:`Logit` preprocessing's α.
        dequantization: ``"uniform"``, ``"variational"`` or a dequantizer module.
        seed: seed the parameter initialisation (without touching the global RNG).
    """
    C, H, W = as_chw(shape, "RealNVP")
    positive_int(n_levels, "n_levels", "RealNVP")
    positive_int(n_couplings, "n_couplings", "RealNVP")
    _check_divisible(H, W, 2 ** (n_levels - 1), n_levels, "RealNVP")
    with _seeded(seed):
        levels, splits = [], []
        cur = (C, H, W)
        for lvl in range(n_levels):
            layers: list[Transform] = []

            def add(shape_: tuple[int, int, int], k: int, kind: str) -> None:
                layers.append(_coupling(shape_, _mask(shape_, bool(k % 2), kind), hidden, n_blocks))
                if actnorm:
                    layers.append(ActNorm(shape_[0]))

            last = lvl == n_levels - 1
            if last:
                for k in range(n_couplings + 1):
                    add(cur, k, "checkerboard")
                levels.append(_normalizing_order(layers))
                break
            for k in range(n_couplings):
                add(cur, k, "checkerboard")
            sq = Squeeze(cur)
            layers.append(sq)
            cur = sq.latent_shape  # type: ignore[assignment]
            for k in range(n_couplings):
                add(cur, k, "channel")
            levels.append(_normalizing_order(layers))
            split = Split(cur)
            splits.append(split)
            cur = split.kept_shape
        transform = Compose([MultiScale(levels, splits), Logit((C, H, W), alpha)])
        return ImageFlow(transform, n_bins, _dequantizer(dequantization, (C, H, W), hidden))


def Glow(shape: Sequence[int] = (1, 8, 8), n_levels: int = 2, n_steps: int = 4, hidden: int = 32,
         n_blocks: int = 1, *, lu: bool = True, n_bins: int = 17, alpha: float = 0.05,
         dequantization: str | nn.Module = "uniform", seed: int | None = None) -> ImageFlow:
    """Glow's multi-scale architecture (Kingma & Dhariwal, 2018, Fig. 2) for small images.

    Per level (normalizing order): :class:`Squeeze`, then ``n_steps`` steps of flow
    ``ActNorm → InvConv1x1(lu) → AffineCoupling`` (channel masks, alternating halves; a
    :class:`ResNet` conditioner of width ``hidden``), then — except after the last level — a
    :class:`Split` with Glow's learned conditional prior. Data enter through :class:`Logit`.

    Args:
        shape: image shape ``(C, H, W)``; ``H`` and ``W`` must be divisible by ``2**n_levels``.
        lu: LU-parametrised 1×1 convolutions.
        n_bins, alpha, dequantization, seed: as in :func:`RealNVP`.
    """
    C, H, W = as_chw(shape, "Glow")
    positive_int(n_levels, "n_levels", "Glow")
    positive_int(n_steps, "n_steps", "Glow")
    _check_divisible(H, W, 2 ** n_levels, n_levels, "Glow")
    with _seeded(seed):
        levels, splits = [], []
        cur = (C, H, W)
        for lvl in range(n_levels):
            sq = Squeeze(cur)
            layers: list[Transform] = [sq]
            cur = sq.latent_shape  # type: ignore[assignment]
            for k in range(n_steps):
                layers += [ActNorm(cur[0]), InvConv1x1(cur[0], lu=lu),
                           _coupling(cur, channel_mask(*cur, flip=bool(k % 2)), hidden, n_blocks)]
            levels.append(_normalizing_order(layers))
            if lvl < n_levels - 1:
                split = Split(cur)
                splits.append(split)
                cur = split.kept_shape
        transform = Compose([MultiScale(levels, splits), Logit((C, H, W), alpha)])
        return ImageFlow(transform, n_bins, _dequantizer(dequantization, (C, H, W), hidden))
