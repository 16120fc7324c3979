r"""Evaluation metrics for flows: likelihoods, sample quality, memorisation and out-of-distribution tests.

Likelihood
    :func:`nll` (mean or per-example negative log-likelihood in nats) and :func:`bits_per_dim`
    (wraps :meth:`flowkit.image.ImageFlow.bits_per_dim`: with ``n_samples = k`` and
    ``importance_weighted=True`` it is the importance-weighted bound of Burda et al. (2016),
    the estimate to report for variational dequantization, Ho et al. (2019)).
2-D densities with a known answer
    :func:`kl_to_density` — KL divergence on a grid, forward :math:`\mathrm{KL}(p\|q)`,
    reverse :math:`\mathrm{KL}(q\|p)` or both.
Two-sample tests
    :func:`mmd` (unbiased squared maximum mean discrepancy with Gaussian kernels, Gretton et
    al., 2012) and :func:`mmd_test` (its permutation test).
Images (in the feature space of the digits classifier, :mod:`flowkit.classifier`)
    :func:`frechet_distance` (FID-style, Heusel et al., 2017), :func:`precision_recall`
    (k-NN manifolds, Kynkäänniemi et al., 2019), :func:`memorization` (nearest-neighbour
    distances to the training set, the data-copying test of Meehan et al., 2020).
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "nll", "bits_per_dim", "kl_to_density", "mmd", "mmd_test", "MMDTestResult",
    "frechet_distance", "precision_recall", "PrecisionRecall", "memorization", "MemorizationResult",
    "anomaly_scores", "auroc", "typicality_test", "TypicalityResult", "embed",
]


# ----------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------
def _as_tensor(x: object, name: str, *, min_rows: int = 1, allow_int: bool = True) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.dtype == torch.bool or x.is_complex() or (not allow_int and not x.is_floating_point()):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.dim() == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got shape {tuple(x.shape)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _scores(x: object, name: str, min_len: int = 1) -> np.ndarray:
    t = _as_tensor(x, name, min_rows=min_len)
    if t.dim() != 1:
        raise ValueError(f"{name} must be one-dimensional (one score per example), got shape {tuple(t.shape)}")
    return t.detach().cpu().double().numpy()


def _pos_int(v: object, name: str, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}")
    return int(v)


def _prob(v: object, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 < v < 1.0):
        raise ValueError(f"{name} must be a number in (0, 1), got {v!r}")
    return float(v)


def _is_digits(x: Tensor) -> bool:
    return (x.dim() == 4 and tuple(x.shape[1:]) == (1, 8, 8)) or (x.dim() == 3 and tuple(x.shape[1:]) == (8, 8))


@torch.no_grad()
def embed(x: object, features: str | Callable[[Tensor], Tensor] | None = "auto", *, name: str = "x",
          batch_size: int = 2048) -> Tensor:
    """The float64 feature matrix ``(N, d)`` of ``x`` in the chosen feature space (see the module docstring)."""
    t = _as_tensor(x, name)
    if features == "auto":
        features = "digits" if _is_digits(t) else None
    if features is None:
        return t.reshape(t.shape[0], -1).double().cpu()
    if features == "digits":
        from .classifier import load_classifier

        if not _is_digits(t) and not (t.dim() == 2 and t.shape[1] == 64):
            raise ValueError(f"{name}: the digits classifier needs 8×8 images (N, 1, 8, 8), got {tuple(t.shape)}")
        if t.is_floating_point() and float(t.max()) <= 1.0 + 1e-6 and float(t.max()) > 0:
            raise ValueError(f"{name}: digits features expect intensities on the 0..16 scale (e.g. "
                             "ImageFlow.sample_images), but the values are all in [0, 1]; multiply by 16")
        clf = load_classifier()
        return torch.cat([clf.features(t[i:i + batch_size]) for i in range(0, t.shape[0], batch_size)]).double()
    if isinstance(features, str):
        raise ValueError(f"features must be 'auto', 'digits', None or a callable, got {features!r}")
    if not callable(features):
        raise TypeError(f"features must be 'auto', 'digits', None or a callable, got {type(features).__name__}")
    f = features(t)
    f = _as_tensor(f, f"features({name})")
    if f.shape[0] != t.shape[0]:
        raise ValueError(f"features({name}) returned {f.shape[0]} rows for {t.shape[0]} inputs")
    return f.reshape(f.shape[0], -1).detach().double().cpu()


def _pair(a: object, b: object, features, names: tuple[str, str], min_rows: int = 1) -> tuple[Tensor, Tensor]:
    fa = embed(a, features, name=names[0])
    fb = embed(b, features, name=names[1])
    for f, n in ((fa, names[0]), (fb, names[1])):
        if f.shape[0] < min_rows:
            raise ValueError(f"{n} needs at least {min_rows} examples, got {f.shape[0]}")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} have different dimensions: {fa.shape[1]} vs {fb.shape[1]}")
    return fa, fb


def _sqdist(a: Tensor, b: Tensor) -> Tensor:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return d.clamp_min_(0.0)


def _nn_dist(query: Tensor, ref: Tensor, chunk: int = 2048) -> Tensor:
    """Euclidean distance of each query row to its nearest row of ``ref``."""
    out = [torch.cdist(query[i:i + chunk], ref).min(dim=1).values for i in range(0, query.shape[0], chunk)]
    return torch.cat(out)


# ----------------------------------------------------------------------------------------
# likelihoods
# ----------------------------------------------------------------------------------------
def _check_model(flow: object, where: str) -> nn.Module:
    if not isinstance(flow, nn.Module) or not callable(getattr(flow, "log_prob", None)):
        raise TypeError(f"{where} expects a flow (an nn.Module with log_prob), got {type(flow).__name__}")
    return flow


def _param_dtype(m: nn.Module) -> torch.dtype | None:
    for p in m.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


@torch.no_grad()
def _log_prob(flow: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    was = flow.training
    flow.eval()
    try:
        dtype = _param_dtype(flow)
        if dtype is not None and x.is_floating_point() and x.dtype != dtype:
            raise TypeError(f"x has dtype {x.dtype} but the flow's parameters are {dtype}")
        return torch.cat([flow.log_prob(x[i:i + batch_size]).double().cpu()
                          for i in range(0, x.shape[0], batch_size)])
    finally:
        flow.train(was)


def nll(flow: nn.Module, x: object, *, reduction: str = "mean", batch_size: int = 4096) -> float | Tensor:
    r"""Negative log-likelihood :math:`-\log p(x)` in nats of continuous data under ``flow``.

    Returns the mean (``reduction="mean"``, a float) or one value per row (``"none"``, a float64
    tensor). Evaluated without gradients in eval mode. For integer images of an
    :class:`~flowkit.image.ImageFlow` use :func:`bits_per_dim` or :func:`anomaly_scores`.
    """
    flow = _check_model(flow, "nll")
    if reduction not in ("mean", "none"):
        raise ValueError(f"nll: reduction must be 'mean' or 'none', got {reduction!r}")
    t = _as_tensor(x, "x", allow_int=False)
    out = -_log_prob(flow, t, _pos_int(batch_size, "batch_size"))
    return float(out.mean()) if reduction == "mean" else out


def bits_per_dim(model: nn.Module, x: object, *, n_samples: int = 1, importance_weighted: bool = True,
                 seed: int | None = 0, reduction: str = "mean", batch_size: int = 4096) -> float | Tensor:
    r"""Bits per dimension of ``x`` under ``model``.

    * :class:`~flowkit.image.ImageFlow` and integer images: wraps
      ``model.bits_per_dim(x, n_samples=k, importance_weighted=...)`` — the dequantized bound
      (see :mod:`flowkit.image.bpd`). With ``importance_weighted=True`` (default) and ``k`` samples
      it is :math:`-\log\frac1k\sum_s p(y_s)/q(u_s\mid x)` in bits/dim (Burda et al., 2016), an
      upper bound that tightens as ``k`` grows; the right estimate to report for variational
      dequantization (Ho et al., 2019). ``importance_weighted=False`` averages the ``k`` bounds.
      The noise comes from a generator seeded ``seed`` (``None``: the global RNG).
    * any other flow and continuous ``x``: :math:`-\log p(x)/(D\log 2)` (a differential
      quantity, it can be negative); ``n_samples`` must be 1.

    Returns a float (``reduction="mean"``) or a float64 tensor ``(N,)`` (``"none"``).
    """
    from .image import ImageFlow

    _check_model(model, "bits_per_dim")
    n_samples = _pos_int(n_samples, "n_samples")
    if reduction not in ("mean", "none"):
        raise ValueError(f"bits_per_dim: reduction must be 'mean' or 'none', got {reduction!r}")
    t = _as_tensor(x, "x")
    if isinstance(model, ImageFlow):
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                bpd = torch.cat([model.bits_per_dim(t[i:i + batch_size], n_samples=n_samples,
                                                    importance_weighted=bool(importance_weighted),
                                                    generator=gen, reduction="none").double().cpu()
                                 for i in range(0, t.shape[0], batch_size)])
        finally:
            model.train(was)
    else:
        if n_samples != 1:
            raise ValueError("bits_per_dim: n_samples > 1 needs an ImageFlow (dequantization noise); "
                             "a continuous flow's log p(x) is exact")
        if not t.is_floating_point():
            raise TypeError("bits_per_dim: integer data needs an ImageFlow (with dequantization)")
        D = math.prod(t.shape[1:]) if t.dim() > 1 else 1
        bpd = -_log_prob(model, t, batch_size) / (D * math.log(2.0))
    return float(bpd.mean()) if reduction == "mean" else bpd


# ----------------------------------------------------------------------------------------
# KL on a 2-D grid
# ----------------------------------------------------------------------------------------
def kl_to_density(q: nn.Module | Callable[[Tensor], Tensor], log_p: Callable[[Tensor], Tensor],
                  bounds: float | Sequence[float] = 4.0, resolution: int = 400, *,
                  direction: str = "forward", mass_tol: float = 1e-2) -> float | dict[str, float]:
    r"""KL divergence between a 2-D model ``q`` and a known *normalised* density ``p`` on a grid.

    * ``direction="forward"``: :math:`\mathrm{KL}(p\|q) = \int p\,(\log p - \log q)` — the
      divergence maximum-likelihood training minimises (mass covering);
    * ``"reverse"``: :math:`\mathrm{KL}(q\|p) = \int q\,(\log q - \log p)` — what
      :func:`flowkit.fit_reverse_kl` minimises (mode seeking);
    * ``"both"``: ``{"forward": …, "reverse": …}``.

    Midpoint rule on ``resolution²`` cells of ``bounds`` (see :mod:`flowkit.grid`), in
    float64 where ``log_p`` allows. Cells where the weighting density underflows to 0
    contribute 0; a cell where it is positive and the other density is 0 makes the KL
    ``inf``. The density the expectation is taken under (``p`` forward, ``q`` reverse) must
    hold its mass in the box: ``ValueError`` if its integral differs from 1 by more than
    ``mass_tol`` (a too small box, or an unnormalised ``log_p``).

    Args:
        q: a flow (``log_prob`` is used) or a callable ``points (M, 2) → log q (M,)``.
        log_p: callable ``points (M, 2) → log p (M,)``, e.g.
            ``flowkit.data.log_density("U1", normalize=True)``.
    """
    from .grid import grid_points

    if direction not in ("forward", "reverse", "both"):
        raise ValueError(f"kl_to_density: direction must be 'forward', 'reverse' or 'both', got {direction!r}")
    if not callable(log_p):
        raise TypeError(f"kl_to_density: log_p must be callable, got {type(log_p).__name__}")
    if isinstance(q, nn.Module):
        _check_model(q, "kl_to_density")
        q_dtype = _param_dtype(q) or torch.float64
        log_q_fn = q.log_prob
        module = q
    elif callable(q):
        q_dtype, log_q_fn, module = torch.float64, q, None
    else:
        raise TypeError(f"kl_to_density: q must be a flow or a callable, got {type(q).__name__}")
    if isinstance(mass_tol, bool) or not isinstance(mass_tol, (int, float)) or not mass_tol > 0:
        raise ValueError(f"kl_to_density: mass_tol must be a positive number, got {mass_tol!r}")
    pts, _, _, area = grid_points(bounds, resolution, dtype=torch.float64)

    def evaluate(fn, dtype: torch.dtype, who: str) -> Tensor:
        with torch.no_grad():
            out = torch.cat([fn(pts[i:i + 65536].to(dtype)).double() for i in range(0, pts.shape[0], 65536)])
        if out.shape != (pts.shape[0],):
            raise ValueError(f"kl_to_density: {who} returned shape {tuple(out.shape)} for {pts.shape[0]} points")
        if torch.isnan(out).any() or (out == math.inf).any():
            raise ValueError(f"kl_to_density: {who} returned NaN or +inf on the grid")
        return out

    was = module.training if module is not None else None
    if module is not None:
        module.eval()
    try:
        lq = evaluate(log_q_fn, q_dtype, "q")
    finally:
        if module is not None:
            module.train(was)
    lp = evaluate(log_p, torch.float64, "log_p")

    def kl(la: Tensor, lb: Tensor, who: str) -> float:
        pa = torch.exp(la)
        mass = float(pa.sum() * area)
        if abs(mass - 1.0) > mass_tol:
            raise ValueError(f"kl_to_density: {who} integrates to {mass:.4f} on the grid, not 1 (±{mass_tol}); "
                             "enlarge bounds, raise resolution or pass a normalised log density")
        pos = pa > 0
        if bool((pos & torch.isinf(lb)).any()):
            return math.inf
        return float((pa[pos] * (la[pos] - lb[pos])).sum() * area)

    out = {}
    if direction in ("forward", "both"):
        out["forward"] = kl(lp, lq, "p")
    if direction in ("reverse", "both"):
        out["reverse"] = kl(lq, lp, "q")
    return out if direction == "both" else out[direction]


# ----------------------------------------------------------------------------------------
# MMD
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# image metrics
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# out-of-distribution detection
# ----------------------------------------------------------------------------------------
def anomaly_scores(flow: nn.Module, x: object, *, n_samples: int = 1, seed: int | None = 0,
                   batch_size: int = 4096) -> Tensor:
    r"""Per-example anomaly score: the negative log-likelihood in nats (higher = more anomalous).

    Continuous data: :math:`-\log p(x)`. Integer images of an :class:`~flowkit.image.ImageFlow`:
    the dequantized NLL bound, importance weighted over ``n_samples`` noise draws (seeded
    ``seed``). Returns a float64 tensor ``(N,)``. Nalisnick et al. (2019, "Do deep generative
    models know what they don't know?") show that likelihood alone can rank OOD data as *more*
    likely; see :func:`typicality_test`.
    """
    from .image import ImageFlow

    _check_model(flow, "anomaly_scores")
    t = _as_tensor(x, "x")
    if isinstance(flow, ImageFlow) and not t.is_floating_point():
        bpd = bits_per_dim(flow, t, n_samples=n_samples, importance_weighted=True, seed=seed,
                           reduction="none", batch_size=batch_size)
        assert isinstance(bpd, Tensor)
        return bpd * (flow.num_dims * math.log(2.0))
    if n_samples != 1:
        raise ValueError("anomaly_scores: n_samples > 1 needs an ImageFlow and integer images")
    out = nll(flow, t, reduction="none", batch_size=batch_size)
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
