"""One registry of every public transform, with random non-identity parameters.

Every exactness test in ``test_transforms.py`` is parametrised over this list, so a new
transform is tested by adding one line here.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

import flowkit as fk
from flowkit.autoregressive import MaskedAffineAutoregressive
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
