"""One registry of every public transform, with random non-identity parameters.

Every exactness test in ``test_transforms.py`` is parametrised over this list, so a new
transform is tested by adding one line here.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

import flowkit as fk
from flowkit.image import ActNorm, InvConv1x1, Logit, MultiScale, Split, Squeeze, channel_mask, checkerboard_mask
from flowkit.transforms.autoregressive import MaskedAffineAutoregressive
from flowkit.transforms.spline import RQSplineCoupling


def randomize(module: nn.Module, std: float = 0.5, seed: int = 0) -> nn.Module:
    """Overwrite every floating parameter with N(0, std²) noise (a non-identity map)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
    return module


def _coupling_stack(d: int) -> fk.Transform:
    return fk.Compose([fk.AffineCoupling(d, hidden=(16,)), fk.Reverse(d), fk.AffineCoupling(d, hidden=(16,))])


# name -> (factory(features) -> transform, parameter std, feature sizes to test)
REGISTRY: dict[str, tuple[Callable[[int], fk.Transform], float]] = {
    "Affine": (lambda d: fk.Affine(d), 0.5),
    "Planar": (lambda d: fk.Planar(d), 1.0),
    "Radial": (lambda d: fk.Radial(d), 1.0),
    "AdditiveCoupling": (lambda d: fk.AdditiveCoupling(d, hidden=(16, 16)), 0.5),
    "AffineCoupling": (lambda d: fk.AffineCoupling(d, hidden=(16, 16)), 0.5),
    "AffineCoupling-flipped": (lambda d: fk.AffineCoupling(d, mask=fk.split_mask(d, flip=True), hidden=(16,)), 0.5),
    "AffineCoupling-alternating": (lambda d: fk.AffineCoupling(d, mask=fk.alternating_mask(d), hidden=(16,)), 0.5),
    "Permute": (lambda d: fk.Permute(d, seed=3), 0.0),
    "Reverse": (lambda d: fk.Reverse(d), 0.0),
    "Compose(couplings)": (_coupling_stack, 0.3),
    "Inverse(Planar)": (lambda d: fk.Inverse(fk.Planar(d)), 1.0),
    "Compose(planar, radial)": (lambda d: fk.Compose([fk.Planar(d), fk.Radial(d), fk.Planar(d)]), 0.8),
    "MAF": (lambda d: MaskedAffineAutoregressive(d, hidden=(16, 16)), 0.5),
    "MAF-reversed": (lambda d: MaskedAffineAutoregressive(d, hidden=(16,), reverse=True), 0.5),
    "IAF=Inverse(MAF)": (lambda d: fk.Inverse(MaskedAffineAutoregressive(d, hidden=(16, 16))), 0.5),
    # std 0.3: with 0.5 the raw spline parameters reach ~17, giving bins so steep that the
    # density has spikes narrower than the integration grid and float32 inversion of the
    # nearly flat bins loses ~1e-3 (conditioning, not a bug: float64 passes).
    "RQSplineCoupling": (lambda d: RQSplineCoupling(d, hidden=(16, 16), n_bins=6), 0.3),
    "RQSplineCoupling-alternating": (lambda d: RQSplineCoupling(d, mask=fk.alternating_mask(d), hidden=(16,),
                                                                n_bins=5, bound=3.0), 0.3),
}


def make(name: str, features: int = 2, dtype: torch.dtype = torch.float32, seed: int = 0) -> fk.Transform:
    factory, std = REGISTRY[name]
    t = factory(features)
    if std > 0:
        randomize(t, std, seed)
    return t.to(dtype)


# Conditional transforms: name -> (factory(features, context_features) -> transform, parameter std).
CONDITIONAL: dict[str, tuple[Callable[[int, int], fk.Transform], float]] = {
    "AffineCoupling|c": (lambda d, c: fk.AffineCoupling(d, hidden=(16,), context_features=c), 0.5),
    "AffineCoupling-normalizing|c": (lambda d, c: fk.AffineCoupling(d, hidden=(16,), context_features=c,
                                                                     direction="normalizing"), 0.5),
    "AdditiveCoupling|c": (lambda d, c: fk.AdditiveCoupling(d, hidden=(16,), context_features=c), 0.5),
    "RQSplineCoupling|c": (lambda d, c: RQSplineCoupling(d, hidden=(16,), n_bins=5, context_features=c), 0.3),
    "MAF|c": (lambda d, c: MaskedAffineAutoregressive(d, hidden=(16,), context_features=c), 0.5),
    "Compose(conditional, plain)|c": (lambda d, c: fk.Compose([fk.AffineCoupling(d, hidden=(16,), context_features=c),
                                                               fk.Reverse(d), fk.Planar(d),
                                                               fk.AffineCoupling(d, hidden=(16,), context_features=c)]),
                                      0.4),
    "Inverse(MAF)|c": (lambda d, c: fk.Inverse(MaskedAffineAutoregressive(d, hidden=(16,), context_features=c)), 0.5),
}


def make_conditional(name: str, features: int = 2, context_features: int = 3, dtype: torch.dtype = torch.float32,
                     seed: int = 0) -> fk.Transform:
    factory, std = CONDITIONAL[name]
    return randomize(factory(features, context_features), std, seed).to(dtype)


def _conv(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, c_out, 3, padding=1))


def _multiscale() -> fk.Transform:
    deep = fk.Compose([fk.AffineCoupling((4, 2, 2), mask=checkerboard_mask(4, 2, 2), conditioner=_conv(4, 8))])
    data_side = fk.Compose([fk.AffineCoupling((2, 4, 4), mask=checkerboard_mask(2, 4, 4), conditioner=_conv(2, 4)),
                            Squeeze((2, 4, 4))][::-1])
    return MultiScale([deep, data_side], [Split((8, 2, 2))])


# Image and shape-changing transforms: name -> (factory() -> transform, parameter std, sample shape of z).
IMAGE: dict[str, tuple[Callable[[], fk.Transform], float, tuple[int, ...]]] = {
    "Squeeze": (lambda: Squeeze((2, 4, 4)), 0.0, (8, 2, 2)),
    "Logit": (lambda: Logit((2, 3, 3), alpha=0.05), 0.0, (2, 3, 3)),
    "ActNorm": (lambda: ActNorm(3), 0.5, (3, 2, 2)),
    "InvConv1x1": (lambda: InvConv1x1(4), 0.5, (4, 2, 2)),
    "InvConv1x1-LU": (lambda: InvConv1x1(4, lu=True), 0.5, (4, 2, 2)),
    "AffineCoupling-checkerboard": (lambda: fk.AffineCoupling((2, 4, 4), mask=checkerboard_mask(2, 4, 4),
                                                              conditioner=_conv(2, 4)), 0.3, (2, 4, 4)),
    "AffineCoupling-channel": (lambda: fk.AffineCoupling((4, 2, 2), mask=channel_mask(4, 2, 2),
                                                         conditioner=_conv(4, 8)), 0.3, (4, 2, 2)),
    "Split": (lambda: Split((4, 2, 2)), 0.3, (4, 2, 2)),
    "MultiScale": (_multiscale, 0.2, (32,)),
}


def make_image(name: str, dtype: torch.dtype = torch.float32, seed: int = 0) -> tuple[fk.Transform, tuple[int, ...]]:
    factory, std, shape = IMAGE[name]
    t = factory()
    if std > 0:
        randomize(t, std, seed)
    return t.to(dtype), shape
