"""Seeded 2-D toy datasets and the target energies of Rezende & Mohamed (2015).

Two families of objects live here.

**Toy datasets** (for maximum-likelihood / density-estimation training of flows).
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

**Target energies** (for variational inference / reverse-KL training of flows).
:func:`U1` ... :func:`U4` are the four unnormalised energies of Table 1 in

    D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing
    Flows", ICML 2015 (arXiv:1505.05770),

with target density ``p(z) ∝ exp(-U(z))``.  Each takes a floating tensor of
shape ``(batch, 2)`` and returns shape ``(batch,)``; they are differentiable
with autograd and work in float32 and float64.  With the helper functions

    w1(z) = sin(2π z1 / 4)
    w2(z) = 3 exp(-½ ((z1 - 1) / 0.6)^2)
    w3(z) = 3 σ((z1 - 1) / 0.3),      σ(x) = 1 / (1 + e^{-x})

the energies are

    U1(z) = ½ ((‖z‖ - 2) / 0.4)^2
            - ln( exp(-½ ((z1 - 2) / 0.6)^2) + exp(-½ ((z1 + 2) / 0.6)^2) )
    U2(z) = ½ ((z2 - w1(z)) / 0.4)^2
    U3(z) = -ln( exp(-½ ((z2 - w1(z)) / 0.35)^2)
                 + exp(-½ ((z2 - w1(z) + w2(z)) / 0.35)^2) )
    U4(z) = -ln( exp(-½ ((z2 - w1(z)) / 0.4)^2)
                 + exp(-½ ((z2 - w1(z) + w3(z)) / 0.35)^2) )

(z1, z2 are the first and second coordinate, ``z[:, 0]`` and ``z[:, 1]``.)

*Domains.*  ``exp(-U1)`` is integrable over all of R^2 (the ring term confines
it radially, and the bimodal term is bounded by 2).  ``exp(-U2)``, ``exp(-U3)``
and ``exp(-U4)`` are **not**: they confine z2 only, and for every fixed z1 the
integral over z2 is bounded below by a positive constant, so the integral over
R^2 diverges.  As in the paper (whose figures show ``[-4, 4]^2``) and in
practically every re-implementation, U2-U4 are therefore to be understood as
densities on the box ``[-4, 4]^2`` (:data:`ENERGY_BOX`).  The functions
themselves are *not* masked outside the box (masking would give ``-inf``
log-densities and NaN gradients during training); restricting to the box is a
convention that :func:`log_normalizer` makes explicit.  Note that the second
mode of U4 is centred at ``z2 = w1 - w3``, which approaches ``-4`` near
``z1 = 3``, so a small fraction of that mode is cut off by the box; the
normaliser of the box-restricted density accounts for that exactly.

:data:`ENERGIES` maps ``"U1"``..``"U4"`` to the functions, :func:`log_density`
returns ``z ↦ -U(z)`` (optionally minus ``log Z``), and :func:`log_normalizer`
computes ``log Z`` by quadrature on a fine float64 grid.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "two_moons",
    "circles",
    "rings",
    "eight_gaussians",
    "pinwheel",
    "checkerboard",
    "swiss_roll",
    "two_spirals",
    "DATASETS",
    "sample",
    "train_val_test",
    "U1",
    "U2",
    "U3",
    "U4",
    "ENERGIES",
    "ENERGY_BOX",
    "log_density",
    "log_normalizer",
]

# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check_count(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as ``int`` if it is a (non-bool) integer > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, got {type(value).__name__} ({value!r})"
        )
    value = int(value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "a positive int (> 0)"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def _check_seed(seed: object) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be an int or None, got {type(seed).__name__} ({seed!r})"
        )
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int or None, got {seed}")
    return seed


def _check_nonneg_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__} ({value!r})"
        )
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {type(dtype).__name__}")
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"dtype must be a real floating torch dtype {_FLOAT_DTYPES}, got {dtype}"
        )
    return dtype


def _prepare(
    n: object, seed: object, noise: object, dtype: object
) -> tuple[int, np.random.Generator, float, torch.dtype]:
    n_ = _check_count(n, "n")
    seed_ = _check_seed(seed)
    noise_ = _check_nonneg_real(noise, "noise")
    dtype_ = _check_dtype(dtype)
    return n_, np.random.default_rng(seed_), noise_, dtype_


def _finish(
    x: np.ndarray, rng: np.random.Generator, noise: float, dtype: torch.dtype
) -> Tensor:
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
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    factor = _check_nonneg_real(factor, "factor")
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
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    n_rings = _check_count(n_rings, "n_rings")
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
    """
    n, rng, noise, dtype = _prepare(n, seed, noise, dtype)
    n_arms = _check_count(n_arms, "n_arms")
    radial_std = _check_nonneg_real(radial_std, "radial_std")
    rate = _check_nonneg_real(rate, "rate")
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


def _lookup(name: object, registry: dict[str, Callable], kind: str) -> Callable:
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
    """
    return _lookup(name, DATASETS, "dataset")(n, seed=seed, **kw)


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
    """
    fn = _lookup(name, DATASETS, "dataset")
    counts = (
        _check_count(n_train, "n_train"),
        _check_count(n_val, "n_val", allow_zero=True),
        _check_count(n_test, "n_test", allow_zero=True),
    )
    children = np.random.SeedSequence(_check_seed(seed)).spawn(3)
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


# --------------------------------------------------------------------------- #
# Rezende & Mohamed (2015) energies
# --------------------------------------------------------------------------- #

ENERGY_BOX: tuple[float, float] = (-4.0, 4.0)
"""The square ``[-4, 4]^2`` on which U2-U4 are defined (and the paper plots)."""

_DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    # exp(-U1) is integrable on R^2; at radius 6 the ring term is 10 sigma out,
    # so [-6, 6]^2 holds all of the mass to double precision.
    "U1": (-6.0, 6.0),
    # U2-U4 are only normalisable on a bounded set: the paper's box.
    "U2": ENERGY_BOX,
    "U3": ENERGY_BOX,
    "U4": ENERGY_BOX,
}


def _check_z(z: object) -> Tensor:
    if not isinstance(z, Tensor):
        raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
    if not z.is_floating_point():
        raise TypeError(f"z must have a floating dtype, got {z.dtype}")
    if z.dim() != 2 or z.shape[1] != 2:
        raise ValueError(f"z must have shape (batch, 2), got {tuple(z.shape)}")
    return z


def _w1(z1: Tensor) -> Tensor:
    return torch.sin(2.0 * math.pi * z1 / 4.0)


def _w2(z1: Tensor) -> Tensor:
    return 3.0 * torch.exp(-0.5 * ((z1 - 1.0) / 0.6) ** 2)


def _w3(z1: Tensor) -> Tensor:
    return 3.0 * torch.sigmoid((z1 - 1.0) / 0.3)


def U1(z: Tensor) -> Tensor:
    """Energy U1 of Rezende & Mohamed (2015), Table 1 (ring with two lobes).

    ``U1(z) = ½((‖z‖ − 2)/0.4)² − ln(exp(−½((z1 − 2)/0.6)²) + exp(−½((z1 + 2)/0.6)²))``

    ``z``: floating tensor of shape ``(batch, 2)``; returns shape ``(batch,)``.
    ``exp(-U1)`` is an *unnormalised* density, integrable on all of R^2; see
    :func:`log_normalizer`.  The log-sum-exp uses ``torch.logaddexp``.
    """
    z = _check_z(z)
    z1 = z[:, 0]
    r = torch.linalg.vector_norm(z, dim=1)  # gradient 0 (not NaN) at z = 0
    ring = 0.5 * ((r - 2.0) / 0.4) ** 2
    lobes = torch.logaddexp(
        -0.5 * ((z1 - 2.0) / 0.6) ** 2, -0.5 * ((z1 + 2.0) / 0.6) ** 2
    )
    return ring - lobes


def U2(z: Tensor) -> Tensor:
    """Energy U2 of Rezende & Mohamed (2015), Table 1 (sine wave).

    ``U2(z) = ½((z2 − w1(z))/0.4)²`` with ``w1(z) = sin(2π z1/4)``.

    ``z``: floating tensor of shape ``(batch, 2)``; returns shape ``(batch,)``.
    ``exp(-U2)`` is *unnormalised* and not integrable over R^2 (it does not
    decay in z1); it is a density only on the box ``[-4, 4]^2``
    (:data:`ENERGY_BOX`), which is what :func:`log_normalizer` integrates over.
    """
    z = _check_z(z)
    z1, z2 = z[:, 0], z[:, 1]
    return 0.5 * ((z2 - _w1(z1)) / 0.4) ** 2


def U3(z: Tensor) -> Tensor:
    """Energy U3 of Rezende & Mohamed (2015), Table 1 (sine wave with a split).

    ``U3(z) = −ln(exp(−½((z2 − w1(z))/0.35)²) + exp(−½((z2 − w1(z) + w2(z))/0.35)²))``
    with ``w1(z) = sin(2π z1/4)`` and ``w2(z) = 3 exp(−½((z1 − 1)/0.6)²)``.

    ``z``: floating tensor of shape ``(batch, 2)``; returns shape ``(batch,)``.
    ``exp(-U3)`` is *unnormalised* and not integrable over R^2 (it does not
    decay in z1); it is a density only on the box ``[-4, 4]^2``
    (:data:`ENERGY_BOX`).  The log-sum-exp uses ``torch.logaddexp``.
    """
    z = _check_z(z)
    z1, z2 = z[:, 0], z[:, 1]
    d = z2 - _w1(z1)
    return -torch.logaddexp(
        -0.5 * (d / 0.35) ** 2, -0.5 * ((d + _w2(z1)) / 0.35) ** 2
    )


def U4(z: Tensor) -> Tensor:
    """Energy U4 of Rezende & Mohamed (2015), Table 1 (sine wave with a step).

    ``U4(z) = −ln(exp(−½((z2 − w1(z))/0.4)²) + exp(−½((z2 − w1(z) + w3(z))/0.35)²))``
    with ``w1(z) = sin(2π z1/4)`` and ``w3(z) = 3 σ((z1 − 1)/0.3)``.

    ``z``: floating tensor of shape ``(batch, 2)``; returns shape ``(batch,)``.
    ``exp(-U4)`` is *unnormalised* and not integrable over R^2 (it does not
    decay in z1); it is a density only on the box ``[-4, 4]^2``
    (:data:`ENERGY_BOX`).  Near ``z1 = 3`` the second branch is centred at
    ``z2 ≈ -4``, so part of it falls outside the box.  The log-sum-exp uses
    ``torch.logaddexp``.
    """
    z = _check_z(z)
    z1, z2 = z[:, 0], z[:, 1]
    d = z2 - _w1(z1)
    return -torch.logaddexp(
        -0.5 * (d / 0.4) ** 2, -0.5 * ((d + _w3(z1)) / 0.35) ** 2
    )


ENERGIES: dict[str, Callable[[Tensor], Tensor]] = {
    "U1": U1,
    "U2": U2,
    "U3": U3,
    "U4": U4,
}
"""Registry of the Rezende & Mohamed (2015) energies by name."""


def _check_bounds(bounds: object) -> tuple[float, float]:
    try:
        lo, hi = bounds  # type: ignore[misc]
    except (TypeError, ValueError):
        raise TypeError(f"bounds must be a pair (lo, hi), got {bounds!r}") from None
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"bounds must contain real numbers, got {bounds!r}")
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds must be finite with lo < hi, got {(lo, hi)}")
    return lo, hi


def log_normalizer(
    name: str,
    bounds: tuple[float, float] | None = None,
    n: int = 1001,
) -> float:
    """Numerical ``log Z = log ∫ exp(-U(z)) dz`` over the square ``bounds^2``.

    Uses the composite trapezoidal rule on an ``n × n`` grid in float64,
    accumulated in log space (``logsumexp``); with the default ``n`` and bounds
    the error in ``log Z`` is below ~1e-6 (about 1e-12 for U1-U3, whose
    integrands vanish smoothly at the edges; ~5e-7 for U4, whose second branch
    is cut by the box edge ``z2 = -4``).  Values: U1 ≈ 1.87750, U2 ≈ 2.08209,
    U3 ≈ 2.64171, U4 ≈ 2.68457.  Default ``bounds``:

    * ``"U1"``: ``(-6, 6)`` — ``exp(-U1)`` is integrable on R^2 and the square
      holds all of its mass to double precision, so this is the R^2 normaliser
      (``log Z ≈ 1.87750``, ``Z ≈ 6.537``).
    * ``"U2"``, ``"U3"``, ``"U4"``: ``(-4, 4)`` — these are not integrable on
      R^2; the result is the normaliser of the density *restricted to the
      paper's box* ``[-4, 4]^2``.  Other bounds give other truncations.

    Returns a Python float.  Raises ``ValueError`` for an unknown ``name``.
    """
    energy = _lookup(name, ENERGIES, "energy")
    lo, hi = _default_or_bounds(name, bounds)
    n = _check_count(n, "n")
    if n < 2:
        raise ValueError(f"n must be >= 2 grid points per axis, got {n}")
    t = torch.linspace(lo, hi, n, dtype=torch.float64)
    h = (hi - lo) / (n - 1)
    logw = torch.full((n,), math.log(h), dtype=torch.float64)
    logw[0] = logw[-1] = math.log(h / 2.0)  # trapezoid end weights
    g1, g2 = torch.meshgrid(t, t, indexing="ij")
    with torch.no_grad():
        logp = -energy(torch.stack([g1.reshape(-1), g2.reshape(-1)], dim=1))
    logp = logp.reshape(n, n) + logw[:, None] + logw[None, :]
    return float(torch.logsumexp(logp.reshape(-1), dim=0))


def _default_or_bounds(name: str, bounds: object) -> tuple[float, float]:
    if bounds is None:
        return _DEFAULT_BOUNDS[name]
    return _check_bounds(bounds)


def log_density(name: str, *, normalize: bool = False, wall: float | None = None) -> Callable[[Tensor], Tensor]:
    """Return the log density ``z ↦ -U(z)`` of energy ``name`` (``"U1"``..``"U4"``).

    By default the result is the *unnormalised* log density ``-U(z)`` (exactly
    what reverse-KL / variational training needs).  With ``normalize=True`` the
    numerical :func:`log_normalizer` (default bounds) is subtracted, giving the
    normalised log density — on R^2 for U1, on the box ``[-4, 4]^2`` for U2-U4
    (values outside the box are then meaningless).  Raises ``ValueError`` for
    an unknown ``name``.

    ``wall=w`` makes the target normalisable on the whole plane: outside
    :data:`ENERGY_BOX` it subtracts the quadratic wall ``½ Σ_i (dist_i / w)²``,
    where ``dist_i`` is how far coordinate ``i`` lies outside the box.  U2–U4 do
    not decay along ``z1``, so a flow trained by reverse KL on the plain ``-U``
    is rewarded for spreading beyond the box, and a KL computed with the box's
    log Z can come out negative; with a steep wall (e.g. ``w = 0.05``) the target
    is what the paper means, and its log Z differs from the box's only by the
    sliver of mass in the wall.  ``normalize`` and ``wall`` cannot be combined
    (the box normaliser does not include the wall).
    """
    energy = _lookup(name, ENERGIES, "energy")
    if wall is not None:
        if normalize:
            raise ValueError("log_density: normalize=True uses the box normaliser, which does not include the wall; "
                             "pass one of normalize or wall")
        if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not math.isfinite(wall) or wall <= 0:
            raise ValueError(f"log_density: wall must be a finite positive width, got {wall!r}")
    offset = log_normalizer(name) if normalize else 0.0
    edge = ENERGY_BOX[1]

    def _log_density(z: Tensor) -> Tensor:
        out = -energy(z)
        if wall is not None:
            outside = torch.relu(z.abs() - edge)
            out = out - 0.5 * (outside / wall).pow(2).sum(dim=1)
        return out - offset if offset else out

    _log_density.__name__ = f"log_density_{name}"
    _log_density.__qualname__ = _log_density.__name__
    _log_density.__doc__ = (
        f"{'Normalised' if normalize else 'Unnormalised'} log density "
        f"-{name}(z){' - log Z' if normalize else ''}{' with a wall outside the box' if wall else ''} "
        "of Rezende & Mohamed (2015); z has shape (batch, 2)."
    )
    return _log_density
