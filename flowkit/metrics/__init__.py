r"""Evaluation metrics for flows: likelihoods, sample quality, memorisation and out-of-distribution tests.

Likelihood
    :func:`nll` (mean or per-example negative log-likelihood in nats, of ``x`` given an optional
    ``context``) and :func:`bits_per_dim`, which for integer images *is*
    :meth:`flowkit.image.ImageFlow.bits_per_dim` (same defaults: one noise sample, averaged
    bound); with ``n_samples = k`` and ``importance_weighted=True`` it is the importance-weighted
    bound of Burda et al. (2016), the estimate to report for variational dequantization (Ho et
    al., 2019).
2-D densities with a known answer
    :func:`kl_to_density` — KL divergence on a grid, forward :math:`\mathrm{KL}(p\|q)`,
    reverse :math:`\mathrm{KL}(q\|p)` or both.
Two-sample tests
    :func:`mmd` (unbiased squared maximum mean discrepancy with Gaussian kernels, Gretton et
    al., 2012) and :func:`mmd_test` (its permutation test).
Images (in the feature space of the digits classifier, :mod:`flowkit.metrics.classifier`)
    :func:`frechet_distance` (FID-style, Heusel et al., 2017), :func:`precision_recall`
    (k-NN manifolds, Kynkäänniemi et al., 2019), :func:`memorization` (nearest-neighbour
    distances to the training set, the data-copying test of Meehan et al., 2020).
Importance sampling with a flow as the proposal (Boltzmann generators)
    :func:`importance_mean` (self-normalised averages), :func:`free_energy_difference`
    (:math:`\Delta F = -\log(Z_B/Z_A)` from log-weights) and :func:`effective_sample_size` (Kish).
Out-of-distribution detection
    :func:`anomaly_scores` (negative log-likelihood), :func:`auroc`, and
    :func:`typicality_test` (Nalisnick et al., 2019).

Feature spaces (argument ``features``)
    ``"auto"`` — 8×8 digits (shape ``(N, 1, 8, 8)`` or ``(N, 8, 8)``, intensities 0..16) go
    through the shipped classifier's 64-d penultimate layer; anything else is flattened to
    ``(N, D)`` as is. ``"digits"`` forces the classifier, ``None`` forces raw flattened values,
    and a callable ``x → (N, d)`` tensor is used as given.

All functions accept ``torch.Tensor`` or ``numpy`` arrays and raise ``TypeError`` /
``ValueError`` with a readable message for bad input. Computations are in float64.

Example:
    >>> import numpy as np
    >>> from flowkit import metrics
    >>> metrics.auroc(np.zeros(5), np.ones(5))
    1.0
"""

from .features import embed
from .importance import effective_sample_size, free_energy_difference, importance_mean
from .likelihood import bits_per_dim, kl_to_density, nll
from .ood import TypicalityResult, anomaly_scores, auroc, typicality_test
from .sample_quality import (
    MemorizationResult,
    PrecisionRecall,
    frechet_distance,
    memorization,
    precision_recall,
)
from .two_sample import MMDTestResult, mmd, mmd_test

__all__ = [
    "nll", "bits_per_dim", "kl_to_density", "mmd", "mmd_test", "MMDTestResult",
    "frechet_distance", "precision_recall", "PrecisionRecall", "memorization", "MemorizationResult",
    "anomaly_scores", "auroc", "typicality_test", "TypicalityResult", "embed",
    "effective_sample_size", "free_energy_difference", "importance_mean",
]
