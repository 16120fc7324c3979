"""Two-sample tests: the unbiased squared MMD and its permutation test (Gretton et al., 2012)."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
from torch import Tensor

from ..validation import positive_int as _pos_int
from .features import _pair, _sqdist


def _bandwidths(z: Tensor, bandwidths) -> tuple[float, ...]:
    if bandwidths is None:
        n = z.shape[0]
        sub = z if n <= 1000 else z[torch.linspace(0, n - 1, 1000).long()]
        d = torch.sqrt(_sqdist(sub, sub))
        iu = torch.triu_indices(sub.shape[0], sub.shape[0], 1)
        vals = d[iu[0], iu[1]]
        vals = vals[vals > 0]
        med = float(vals.median()) if vals.numel() else 1.0
        return (0.5 * med, med, 2.0 * med)
    if isinstance(bandwidths, (int, float)) and not isinstance(bandwidths, bool):
        bw: tuple = (float(bandwidths),)
    else:
        try:
            bw = tuple(float(b) for b in bandwidths)
        except TypeError:
            raise TypeError(f"bandwidths must be None, a number or a sequence of numbers, got {bandwidths!r}") from None
    if not bw or not all(math.isfinite(b) and b > 0 for b in bw):
        raise ValueError(f"bandwidths must be finite positive numbers, got {bandwidths!r}")
    return bw


def _kernel(z: Tensor, bw: tuple[float, ...]) -> Tensor:
    d2 = _sqdist(z, z)
    return sum(torch.exp(-d2 / (2.0 * b * b)) for b in bw)  # type: ignore[return-value]


def _mmd2_from_kernel(K: Tensor, A: Tensor, n: int, m: int) -> Tensor:
    """Unbiased MMD² for each row of the 0/1 membership matrix ``A`` (``P × N``, ``n`` ones per row)."""
    diag = torch.diagonal(K)
    KA = A @ K
    s_xx = (KA * A).sum(1)
    s_xy = (KA * (1.0 - A)).sum(1)
    s_yy = K.sum() - s_xx - 2.0 * s_xy
    d_x = A @ diag
    d_y = diag.sum() - d_x
    return (s_xx - d_x) / (n * (n - 1)) + (s_yy - d_y) / (m * (m - 1)) - 2.0 * s_xy / (n * m)


def mmd(x: object, y: object, bandwidths: float | Sequence[float] | None = None, *,
        features: str | Callable[[Tensor], Tensor] | None = None) -> float:
    r"""Unbiased squared maximum mean discrepancy (Gretton et al., 2012) between two samples.

    .. math:: \widehat{\mathrm{MMD}}^2 = \frac{1}{n(n-1)}\sum_{i\ne j} k(x_i, x_j)
              + \frac{1}{m(m-1)}\sum_{i\ne j} k(y_i, y_j) - \frac{2}{nm}\sum_{i,j} k(x_i, y_j)

    with :math:`k(a, b) = \sum_\ell \exp(-\|a-b\|^2 / 2\sigma_\ell^2)`. ``bandwidths``: the
    :math:`\sigma_\ell` (a number or a sequence); ``None`` uses the median heuristic on the pooled
    sample, :math:`\sigma \in \{\tfrac12, 1, 2\}\times` the median pairwise distance. Unbiased,
    so it can be slightly negative when the distributions agree. Rows are flattened
    (``features=None``); pass ``features="auto"`` for digit images in classifier space.
    """
    fx, fy = _pair(x, y, features, ("x", "y"), min_rows=2)
    z = torch.cat([fx, fy])
    bw = _bandwidths(z, bandwidths)
    n, m = fx.shape[0], fy.shape[0]
    A = torch.zeros(1, n + m, dtype=torch.float64)
    A[0, :n] = 1.0
    return float(_mmd2_from_kernel(_kernel(z, bw), A, n, m)[0])


class MMDTestResult(NamedTuple):
    """``(statistic, p_value)`` of :func:`mmd_test`."""

    statistic: float
    p_value: float


def mmd_test(x: object, y: object, *, bandwidths: float | Sequence[float] | None = None,
             n_permutations: int = 200, seed: int | None = 0,
             features: str | Callable[[Tensor], Tensor] | None = None) -> MMDTestResult:
    r"""Permutation two-sample test of :math:`H_0: P_x = P_y` with the :func:`mmd` statistic.

    The pooled sample is split at random ``n_permutations`` times into groups of the original
    sizes; the p-value is :math:`(1 + \#\{\text{permuted} \ge \text{observed}\}) / (1 + B)`,
    exact (valid at any sample size) under :math:`H_0`. The bandwidths are fixed from the
    pooled sample, which is permutation invariant, so the test stays exact. ``seed`` seeds the
    permutations (``None``: nondeterministic).

    Returns :class:`MMDTestResult` ``(statistic, p_value)`` (a tuple).
    """
    B = _pos_int(n_permutations, "n_permutations")
    fx, fy = _pair(x, y, features, ("x", "y"), min_rows=2)
    z = torch.cat([fx, fy])
    bw = _bandwidths(z, bandwidths)
    n, m = fx.shape[0], fy.shape[0]
    N = n + m
    K = _kernel(z, bw)
    A0 = torch.zeros(1, N, dtype=torch.float64)
    A0[0, :n] = 1.0
    stat = float(_mmd2_from_kernel(K, A0, n, m)[0])
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    count = 0
    chunk = max(1, min(B, 2_000_000 // N))
    done = 0
    while done < B:
        P = min(chunk, B - done)
        keys = torch.rand(P, N, generator=gen)
        first = keys.argsort(dim=1)[:, :n]
        A = torch.zeros(P, N, dtype=torch.float64)
        A.scatter_(1, first, 1.0)
        perm_stats = _mmd2_from_kernel(K, A, n, m)
        # a small tolerance so that exact ties (e.g. the identity permutation) count as ≥
        count += int((perm_stats >= stat - 1e-12 * max(1.0, abs(stat))).sum())
        done += P
    return MMDTestResult(stat, (1 + count) / (1 + B))
