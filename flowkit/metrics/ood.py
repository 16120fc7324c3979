"""Out-of-distribution detection with likelihoods: anomaly scores, AUROC and the typicality test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn

from ..validation import positive_int as _pos_int
from ..validation import probability as _prob
from ..validation import scores as _scores
from .likelihood import _check_model, nll


def anomaly_scores(flow: nn.Module, x: object, context: object = None, *, n_samples: int = 1,
                   seed: int | None = 0, batch_size: int = 1024) -> Tensor:
    r"""Per-example anomaly score: the negative log-likelihood in nats (higher = more anomalous).

    :func:`~flowkit.metrics.nll` with ``reduction="none"``: for continuous data
    :math:`-\log p(x\mid c)`; for integer images of an :class:`~flowkit.image.ImageFlow` the
    dequantized NLL bound, importance weighted over ``n_samples`` noise draws (seeded ``seed``).
    Returns a float64 tensor ``(N,)``. Nalisnick et al. (2019, "Do deep generative models know
    what they don't know?") show that likelihood alone can rank OOD data as *more* likely; see
    :func:`typicality_test`.

    Example:
        >>> import torch, flowkit as fk
        >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
        >>> s = anomaly_scores(flow, torch.tensor([[0.0, 0.0], [5.0, 5.0]]))
        >>> bool(s[1] > s[0])
        True
    """
    _check_model(flow, "anomaly_scores")
    out = nll(flow, x, context, reduction="none", n_samples=n_samples, seed=seed, batch_size=batch_size)
    assert isinstance(out, Tensor)
    return out


def auroc(scores_in: object, scores_out: object) -> float:
    r"""Area under the ROC curve for separating out-of-distribution from in-distribution by score.

    Higher scores must mean "more anomalous" (e.g. :func:`anomaly_scores`). Computed by the
    rank (Mann–Whitney) formula, :math:`P(s_\text{out} > s_\text{in}) + \tfrac12 P(s_\text{out} = s_\text{in})`:
    1 = perfect separation, 0.5 = chance (e.g. identical score sets), 0 = perfectly inverted.
    """
    from scipy.stats import rankdata

    a = _scores(scores_in, "scores_in")
    b = _scores(scores_out, "scores_out")
    ranks = rankdata(np.concatenate([a, b]))  # average ranks for ties
    n_in, n_out = len(a), len(b)
    u = ranks[n_in:].sum() - n_out * (n_out + 1) / 2
    return float(u / (n_in * n_out))


@dataclass
class TypicalityResult:
    """Outcome of :func:`typicality_test`.

    Attributes:
        statistic: :math:`\\hat\\epsilon = |\\overline{\\text{NLL}}_\\text{batch} - \\hat H|`.
        threshold: the ``1 - alpha`` bootstrap quantile :math:`\\epsilon_\\alpha^M`.
        p_value: fraction of bootstrap statistics ≥ the observed one (with the +1 correction).
        batch_mean_nll: the batch's average NLL; entropy_estimate: :math:`\\hat H`.
        batch_size: ``M``.
        out_of_distribution: ``statistic > threshold``.
    """

    statistic: float
    threshold: float
    p_value: float
    batch_mean_nll: float
    entropy_estimate: float
    batch_size: int
    out_of_distribution: bool


def typicality_test(scores: object, train_scores: object, *, calibration_scores: object | None = None,
                    alpha: float = 0.01, n_bootstrap: int = 1000, seed: int | None = 0) -> TypicalityResult:
    r"""Typicality test for a batch of inputs (Nalisnick, Matsukawa, Teh & Lakshminarayanan, 2019).

    "Detecting out-of-distribution inputs to deep generative models using typicality": a batch
    :math:`x_{1..M}` is in-distribution when its average NLL is close to the model's entropy,
    i.e. the batch lies in the *typical set*, not merely in a high-density region. With NLL
    scores (:func:`anomaly_scores`):

    .. math:: \hat\epsilon = \Big|\frac1M\sum_m -\log p(x_m) - \hat H\Big|,\qquad
              \hat H = \frac1N\sum_n -\log p(x^\text{train}_n),

    and the batch is flagged out-of-distribution when :math:`\hat\epsilon > \epsilon^M_\alpha`,
    the ``1 - alpha`` quantile of the same statistic over ``n_bootstrap`` batches of size ``M``
    resampled (with replacement) from ``calibration_scores`` — NLLs of held-out
    in-distribution data, as in the paper (default: ``train_scores``; held-out scores are
    better when the model overfits). Unlike a per-example likelihood threshold it flags a
    batch that is *too likely*, e.g. points concentrated at the mode of a Gaussian.
    """
    s = _scores(scores, "scores")
    tr = _scores(train_scores, "train_scores", min_len=2)
    cal = tr if calibration_scores is None else _scores(calibration_scores, "calibration_scores", min_len=2)
    alpha = _prob(alpha, "alpha")
    B = _pos_int(n_bootstrap, "n_bootstrap")
    M = len(s)
    H = float(tr.mean())
    eps = abs(float(s.mean()) - H)
    rng = np.random.default_rng(seed)
    boot = np.empty(B)
    for lo in range(0, B, 256):
        hi = min(B, lo + 256)
        idx = rng.integers(0, len(cal), size=(hi - lo, M))
        boot[lo:hi] = np.abs(cal[idx].mean(axis=1) - H)
    thr = float(np.quantile(boot, 1.0 - alpha))
    p = (1 + int(np.sum(boot >= eps))) / (1 + B)
    return TypicalityResult(eps, thr, p, float(s.mean()), H, M, bool(eps > thr))
