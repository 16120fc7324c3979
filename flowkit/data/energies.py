"""Target energies of Rezende & Mohamed (2015) for variational inference (reverse-KL training).

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

import torch
from torch import Tensor

from ..validation import positive_int
from .toy import lookup

__all__ = ["U1", "U2", "U3", "U4", "ENERGIES", "ENERGY_BOX", "log_density", "log_normalizer"]


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

    Example:
        >>> import torch
        >>> U1(torch.tensor([[2.0, 0.0]])).shape
        torch.Size([1])
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

    Example:
        >>> import torch
        >>> float(U2(torch.zeros(1, 2)))
        0.0
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

    Example:
        >>> import torch
        >>> U3(torch.zeros(3, 2)).shape
        torch.Size([3])
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

    Example:
        >>> import torch
        >>> U4(torch.zeros(3, 2)).shape
        torch.Size([3])
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

    Example:
        >>> round(log_normalizer("U1"), 4)
        1.8775
    """
    energy = lookup(name, ENERGIES, "energy")
    lo, hi = _default_or_bounds(name, bounds)
    n = positive_int(n, "n")
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

    Example:
        >>> import torch
        >>> log_p = log_density("U1", normalize=True)
        >>> log_p(torch.zeros(2, 2)).shape
        torch.Size([2])
    """
    energy = lookup(name, ENERGIES, "energy")
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
