"""Seeded 2-D toy datasets for maximum-likelihood (density-estimation) training of flows.

Each generator has the signature ::

    fn(n: int, *, seed: int | None = 0, noise: float = <default>,
       dtype: torch.dtype = torch.float32) -> torch.Tensor   # shape (n, 2)

and draws from a *local* ``numpy.random.default_rng(seed)``; global RNG state
(NumPy's or PyTorch's) is never read or modified, so the same ``seed`` always
gives bit-identical samples and ``seed=None`` gives fresh OS entropy.  ``noise``
is the standard deviation of isotropic Gaussian jitter in the *output*
coordinates (for ``eight_gaussians`` and ``pinwheel`` it is the width of the
mixture components, see their docstrings).  All datasets are centred at the
origin (in expectation) and scaled to lie roughly in ``[-4, 4]^2`` with
per-coordinate standard deviation of order 1-2, i.e. "standardised-ish", so
that flows with a standard normal base distribution train well without
further preprocessing.  Rows are returned in random order, so any prefix is
an unbiased sub-sample.

Available: :func:`two_moons`, :func:`circles`, :func:`rings`,
:func:`eight_gaussians`, :func:`pinwheel`, :func:`checkerboard`,
:func:`swiss_roll`, :func:`two_spirals`; the registry :data:`DATASETS`,
:func:`sample` (by name) and :func:`train_val_test` (three independent splits).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ..validation import finite_real, float_dtype, nonneg_int, positive_int, seed_or_none

__all__ = ["two_moons", "circles", "rings", "eight_gaussians", "pinwheel", "checkerboard", "swiss_roll",
           "two_spirals", "DATASETS", "sample", "train_val_test", "lookup"]


def _prepare(n: object, seed: object, noise: object, dtype: object) -> tuple[int, np.random.Generator, float, torch.dtype]:
    n_ = positive_int(n, "n")
    noise_ = finite_real(noise, "noise", low=0.0)
    return n_, np.random.default_rng(seed_or_none(seed)), noise_, float_dtype(dtype)


def _finish(x: np.ndarray, rng: np.random.Generator, noise: float, dtype: torch.dtype) -> Tensor:
    """Add isotropic Gaussian noise (std ``noise``) and convert to a tensor."""
    if noise > 0:
        x = x + noise * rng.standard_normal(x.shape)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(dtype)


# --------------------------------------------------------------------------- #
# Toy datasets
# --------------------------------------------------------------------------- #


def two_moons(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.1,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Two interleaving half circles ("moons"), shape ``(n, 2)``.

    The classic construction (upper arc ``(cos t, sin t)`` and lower arc
    ``(1 - cos t, 0.5 - sin t)``, ``t ~ U[0, π]``, each point on either arc with
    probability ½) is centred and scaled by 2, giving x1 ∈ [-3, 3] and
    x2 ∈ [-1.5, 1.5] before noise, i.e. roughly inside ``[-4, 4]^2`` and
    standardised-ish for a standard-normal base.  ``noise`` is the std of
    isotropic Gaussian jitter in these output units (default 0.1).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> two_moons(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    t = rng.uniform(0.0, math.pi, size=n)
    lower = rng.random(n) < 0.5
    x1 = np.where(lower, 1.0 - np.cos(t), np.cos(t))
    x2 = np.where(lower, 0.5 - np.sin(t), np.sin(t))
    x = 2.0 * (np.stack([x1, x2], axis=1) - np.array([0.5, 0.25]))
    return _finish(x, rng, noise, dtype)


def circles(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.1,
    dtype: torch.dtype = torch.float32,
    factor: float = 0.5,
) -> Tensor:
    """Two concentric circles, shape ``(n, 2)``.

    Outer radius 3 and inner radius ``3 * factor`` (default 1.5); each point
    lies on either circle with probability ½ at a uniform angle.  Lies in
    ``[-4, 4]^2`` up to noise (standardised-ish for a standard-normal base).
    ``noise`` is the std of isotropic Gaussian jitter (default 0.1).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> circles(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    factor = finite_real(factor, "factor", low=0.0)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must lie in (0, 1), got {factor}")
    theta = rng.uniform(0.0, 2.0 * math.pi, size=n)
    radius = np.where(rng.random(n) < 0.5, 3.0, 3.0 * factor)
    x = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return _finish(x, rng, noise, dtype)


def rings(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.08,
    dtype: torch.dtype = torch.float32,
    n_rings: int = 4,
) -> Tensor:
    """Several concentric rings, shape ``(n, 2)``.

    ``n_rings`` (default 4) rings with radii evenly spaced in ``(0, 3]``
    (0.75, 1.5, 2.25, 3 for four rings); each point picks a ring uniformly at
    random and a uniform angle.  Lies in ``[-4, 4]^2`` up to noise
    (standardised-ish for a standard-normal base).  ``noise`` is the std of
    isotropic Gaussian jitter (default 0.08).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> rings(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    n_rings = positive_int(n_rings, "n_rings")
    radii = 3.0 * np.arange(1, n_rings + 1) / n_rings
    radius = radii[rng.integers(0, n_rings, size=n)]
    theta = rng.uniform(0.0, 2.0 * math.pi, size=n)
    x = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return _finish(x, rng, noise, dtype)


def eight_gaussians(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.35,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Equal-weight mixture of 8 isotropic Gaussians on a circle, shape ``(n, 2)``.

    Component means sit at radius ``2√2 ≈ 2.83`` at angles ``kπ/4``; ``noise``
    is the component standard deviation (default 0.35), so the data lie
    roughly in ``[-4, 4]^2`` (standardised-ish for a standard-normal base).
    ``noise=0`` puts every point exactly on a mean.
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> eight_gaussians(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    angles = np.arange(8) * (math.pi / 4.0)
    centres = 2.0 * math.sqrt(2.0) * np.stack([np.cos(angles), np.sin(angles)], 1)
    x = centres[rng.integers(0, 8, size=n)]
    return _finish(x, rng, noise, dtype)


def pinwheel(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.1,
    dtype: torch.dtype = torch.float32,
    n_arms: int = 5,
    radial_std: float = 0.3,
    rate: float = 0.25,
) -> Tensor:
    """Pinwheel with ``n_arms`` (default 5) curved arms, shape ``(n, 2)``.

    The construction of Johnson et al. (2016, used in FFJORD): a point
    ``(r, s)`` with ``r ~ N(1, radial_std^2)`` and ``s ~ N(0, noise^2)`` is
    rotated by ``arm_angle + rate * exp(r)`` and scaled by 2, so that arms bend
    more further out.  ``noise`` is the *tangential* std (arm thickness,
    default 0.1); ``radial_std`` (default 0.3) sets the arm length.  With the
    defaults the data lie roughly in ``[-4, 4]^2`` (standardised-ish for a
    standard-normal base).  Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> pinwheel(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    n_arms = positive_int(n_arms, "n_arms")
    radial_std = finite_real(radial_std, "radial_std", low=0.0)
    rate = finite_real(rate, "rate", low=0.0)
    arm = rng.integers(0, n_arms, size=n)
    r = 1.0 + radial_std * rng.standard_normal(n)
    s = noise * rng.standard_normal(n)
    angle = 2.0 * math.pi * arm / n_arms + rate * np.exp(r)
    c, sn = np.cos(angle), np.sin(angle)
    x = 2.0 * np.stack([c * r - sn * s, sn * r + c * s], axis=1)
    return _finish(x, rng, 0.0, dtype)


def checkerboard(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Uniform density on the "black" squares of a 4x4 checkerboard, shape ``(n, 2)``.

    The board covers ``[-4, 4]^2`` with squares of side 2; the 8 occupied
    squares are those whose lower-left corner ``(a, b)`` has ``(a + b) / 2``
    even.  Standardised-ish (per-coordinate std ≈ 2.3) for a standard-normal
    base.  ``noise`` is the std of optional Gaussian jitter (default 0, i.e.
    exactly uniform with sharp edges).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> checkerboard(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    x1 = rng.uniform(-2.0, 2.0, size=n)
    x2 = rng.random(n) - 2.0 * rng.integers(0, 2, size=n) + np.mod(np.floor(x1), 2)
    x = 2.0 * np.stack([x1, x2], axis=1)
    return _finish(x, rng, noise, dtype)


def swiss_roll(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.2,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """2-D projection of the Swiss roll, shape ``(n, 2)``.

    ``t ~ U[1.5π, 4.5π]`` and the point ``(t cos t, t sin t) / 4`` (the
    ``(x, z)`` projection of the usual 3-D roll, height dropped), shifted by
    its exact mean ``(0.5, 1/(6π))`` so that it is centred; the spiral has
    radius up to ``4.5π/4 ≈ 3.5`` and lies roughly in ``[-4, 4]^2``
    (standardised-ish for a standard-normal base).  ``noise`` is the std of
    isotropic Gaussian jitter in output units (default 0.2).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> swiss_roll(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    t = 1.5 * math.pi * (1.0 + 2.0 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 4.0
    x = x - np.array([0.5, 1.0 / (6.0 * math.pi)])  # exact mean of the roll
    return _finish(x, rng, noise, dtype)


def two_spirals(
    n: int,
    *,
    seed: int | None = 0,
    noise: float = 0.1,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Two interleaved point-symmetric spirals (1.5 turns each), shape ``(n, 2)``.

    ``s = 3π sqrt(u)`` with ``u ~ U[0, 1]`` (uniform-ish density along the
    arc) and the point ``(-s cos s, s sin s) / 3`` or its negation, each with
    probability ½.  The spirals reach radius ``π ≈ 3.14``, so the data lie
    roughly in ``[-4, 4]^2`` (standardised-ish for a standard-normal base).
    ``noise`` is the std of isotropic Gaussian jitter (default 0.1).
    Seeded by a local ``numpy.random.default_rng(seed)``.

    Example:
        >>> two_spirals(4, seed=0).shape
        torch.Size([4, 2])
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    s = 3.0 * math.pi * np.sqrt(rng.random(n))
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    x = sign[:, None] * np.stack([-s * np.cos(s), s * np.sin(s)], axis=1) / 3.0
    return _finish(x, rng, noise, dtype)


DATASETS: dict[str, Callable[..., Tensor]] = {
    "two_moons": two_moons,
    "circles": circles,
    "rings": rings,
    "eight_gaussians": eight_gaussians,
    "pinwheel": pinwheel,
    "checkerboard": checkerboard,
    "swiss_roll": swiss_roll,
    "two_spirals": two_spirals,
}
"""Registry of dataset name → generator function."""


def lookup(name: object, registry: dict[str, Callable], kind: str) -> Callable:
    """The entry ``name`` of ``registry``; a ``ValueError`` listing the valid names if there is none.

    Example:
        >>> lookup("two_moons", DATASETS, "dataset") is two_moons
        True
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(repr(k) for k in registry)
        raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}") from None


def sample(name: str, n: int, *, seed: int | None = 0, **kw: object) -> Tensor:
    """Draw ``n`` points from the dataset registered as ``name`` in :data:`DATASETS`.

    Extra keyword arguments (``noise``, ``dtype``, dataset-specific options)
    are forwarded.  Raises ``ValueError`` (listing the valid names) for an
    unknown ``name``.

    Example:
        >>> bool((sample("two_moons", 5, seed=1) == two_moons(5, seed=1)).all())
        True
    """
    return lookup(name, DATASETS, "dataset")(n, seed=seed, **kw)


def train_val_test(
    name: str,
    n_train: int,
    n_val: int,
    n_test: int,
    seed: int | None = 0,
    **kw: object,
) -> tuple[Tensor, Tensor, Tensor]:
    """Three independent samples (train, validation, test) from dataset ``name``.

    Each split is drawn with its own seed derived from ``seed`` via
    ``numpy.random.SeedSequence(seed).spawn(3)``, so the splits are
    statistically independent, reproducible for a given ``seed``, and do not
    share points (for continuous data, coincidences have probability zero).
    ``n_train`` must be positive; ``n_val`` and ``n_test`` may be 0, giving an
    empty ``(0, 2)`` tensor.  Extra keywords (``noise``, ``dtype``, ...) are
    forwarded to the generator.

    Example:
        >>> train, val, test = train_val_test("two_moons", 100, 20, 20, seed=0)
        >>> train.shape, val.shape, test.shape
        (torch.Size([100, 2]), torch.Size([20, 2]), torch.Size([20, 2]))
    """
    fn = lookup(name, DATASETS, "dataset")
    counts = (
        positive_int(n_train, "n_train"),
        nonneg_int(n_val, "n_val"),
        nonneg_int(n_test, "n_test"),
    )
    children = np.random.SeedSequence(seed_or_none(seed)).spawn(3)
    out = []
    for count, child in zip(counts, children):
        child_seed = int.from_bytes(
            child.generate_state(4, dtype=np.uint32).tobytes(), "little"
        )
        if count == 0:
            x = fn(1, seed=child_seed, **kw)[:0]  # validates kw, keeps dtype
        else:
            x = fn(count, seed=child_seed, **kw)
        out.append(x)
    return out[0], out[1], out[2]
