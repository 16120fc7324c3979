"""Sample quality of image models: Fréchet distance, precision/recall and memorisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..validation import positive_int as _pos_int
from ..validation import probability as _prob
from .features import _nn_dist, _pair, embed


def _sym_sqrt(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance(x_a: object, x_b: object, *, features: str | Callable[[Tensor], Tensor] | None = "auto") -> float:
    r"""Fréchet distance between Gaussians fitted to two samples' features (FID-style, Heusel et al., 2017).

    .. math:: d^2 = \|\mu_a - \mu_b\|^2 + \operatorname{tr}\Sigma_a + \operatorname{tr}\Sigma_b
              - 2\operatorname{tr}\big(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}\big)^{1/2}

    The trace of :math:`(\Sigma_a\Sigma_b)^{1/2}` is computed from the eigenvalues of the
    symmetric PSD matrix :math:`\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}` (same spectrum), clipped at 0
    — stable where ``scipy.linalg.sqrtm`` of the non-symmetric product returns complex noise
    for singular covariances. The result is clipped at 0. Features: see the module
    docstring (default: the digits classifier's 64-d penultimate layer for 8×8 digits).
    The estimate is biased upwards for small samples; compare values at equal sample sizes.
    """
    fa, fb = _pair(x_a, x_b, features, ("x_a", "x_b"), min_rows=2)
    a, b = fa.numpy(), fb.numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    sa = _sym_sqrt(ca)
    ev = np.linalg.eigvalsh(sa @ cb @ sa)
    tr_sqrt = float(np.sqrt(np.clip(ev, 0.0, None)).sum())
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2.0 * tr_sqrt)
    return max(d, 0.0)


class PrecisionRecall(NamedTuple):
    """``(precision, recall)`` of :func:`precision_recall`."""

    precision: float
    recall: float


def _knn_radii(f: Tensor, k: int, chunk: int = 2048) -> Tensor:
    """Distance of each row to its k-th nearest other row (the row itself is neighbour 0)."""
    out = []
    for i in range(0, f.shape[0], chunk):
        d = torch.cdist(f[i:i + chunk], f)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def _coverage(query: Tensor, centres: Tensor, radii: Tensor, chunk: int = 2048) -> float:
    """Fraction of query rows inside at least one ball (centre, radius)."""
    inside = []
    for i in range(0, query.shape[0], chunk):
        d = torch.cdist(query[i:i + chunk], centres)
        inside.append((d <= radii[None, :] * (1 + 1e-12)).any(dim=1))
    return float(torch.cat(inside).double().mean())


def precision_recall(real: object, fake: object, *, k: int = 3,
                     features: str | Callable[[Tensor], Tensor] | None = "auto") -> PrecisionRecall:
    r"""Improved precision and recall (Kynkäänniemi et al., 2019) with k-NN manifold estimates.

    The real manifold is the union of balls around each real feature vector with radius its
    distance to its ``k``-th nearest real neighbour; likewise for the fake samples.

    * precision = fraction of fake samples inside the real manifold (sample quality);
    * recall = fraction of real samples inside the fake manifold (coverage / diversity).

    Identical sets give (1, 1); far-apart sets (0, 0). Needs more than ``k`` samples in each.
    Returns :class:`PrecisionRecall` ``(precision, recall)``.
    """
    k = _pos_int(k, "k")
    fr, ff = _pair(real, fake, features, ("real", "fake"), min_rows=k + 1)
    return PrecisionRecall(_coverage(ff, fr, _knn_radii(fr, k)), _coverage(fr, ff, _knn_radii(ff, k)))


@dataclass
class MemorizationResult:
    """Outcome of :func:`memorization`.

    Attributes:
        sample_distances: distance of each sample to its nearest training example.
        test_distances: the same for each held-out (test) example — the reference.
        ratio: median sample distance / median test distance (≈ 1 for a model that generalises,
            ≪ 1 for one that copies; > 1 for samples worse than the data).
        copy_threshold: the ``copy_quantile`` quantile of the test distances.
        copy_fraction: fraction of samples at most ``copy_threshold`` from a training example
            (≈ ``copy_quantile`` for held-out-like samples, ≈ 1 for copies).
        n_exact_copies: samples (numerically) identical to a training example.
        z_score: the Mann–Whitney statistic standardised (negative: samples closer to the
            training set than held-out data are), Meehan et al.'s :math:`Z_U`.
        p_value: one-sided Mann–Whitney p-value for "samples are closer than held-out data".
        flagged: ``p_value < alpha``.
    """

    sample_distances: np.ndarray
    test_distances: np.ndarray
    ratio: float
    copy_threshold: float
    copy_fraction: float
    n_exact_copies: int
    z_score: float
    p_value: float
    flagged: bool

    def __repr__(self) -> str:
        return (f"MemorizationResult(flagged={self.flagged}, ratio={self.ratio:.3f}, "
                f"copy_fraction={self.copy_fraction:.3f}, n_exact_copies={self.n_exact_copies}, "
                f"z_score={self.z_score:.2f}, p_value={self.p_value:.3g})")


def memorization(samples: object, train: object, test: object, *, alpha: float = 0.01, copy_quantile: float = 0.05,
                 features: str | Callable[[Tensor], Tensor] | None = None) -> MemorizationResult:
    r"""Does a model copy its training data? Nearest-neighbour distances to the training set.

    For each generated sample, :math:`d(s) = \min_{t\in\text{train}}\|s - t\|`; the reference is
    the same distance for held-out ``test`` examples, which the model never saw. A model that
    generalises produces samples that are as far from the training set as fresh data are; a
    model that memorises produces samples closer to it. The decision is the one-sided
    Mann–Whitney U test of the two distance samples (the data-copying test of Meehan,
    Chaudhuri & Dasgupta, 2020), flagged when ``p_value < alpha``; ``ratio`` and
    ``copy_fraction`` quantify how much. Distances are Euclidean in raw pixel space by default
    (``features=None``); ``features="auto"`` uses the digits classifier's features.
    """
    from scipy.stats import mannwhitneyu

    alpha = _prob(alpha, "alpha")
    copy_quantile = _prob(copy_quantile, "copy_quantile")
    fs, ftr = _pair(samples, train, features, ("samples", "train"))
    ft = embed(test, features, name="test")
    if ft.shape[1] != ftr.shape[1]:
        raise ValueError(f"test and train have different dimensions: {ft.shape[1]} vs {ftr.shape[1]}")
    ds = _nn_dist(fs, ftr).numpy()
    dt = _nn_dist(ft, ftr).numpy()
    med_t = float(np.median(dt))
    ratio = float(np.median(ds) / med_t) if med_t > 0 else (math.inf if np.median(ds) > 0 else 1.0)
    thr = float(np.quantile(dt, copy_quantile))
    scale = max(med_t, 1e-300)
    n1, n2 = len(ds), len(dt)
    res = mannwhitneyu(ds, dt, alternative="less")
    z = (float(res.statistic) - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return MemorizationResult(ds, dt, ratio, thr, float(np.mean(ds <= thr)), int(np.sum(ds <= 1e-9 * scale)),
                              z, float(res.pvalue), bool(res.pvalue < alpha))
