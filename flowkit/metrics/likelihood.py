"""Likelihoods of data under a flow, and the KL divergence to a known 2-D density."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..validation import as_real_tensor as _as_tensor
from ..validation import positive_int as _pos_int


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
    from ..image import ImageFlow

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
    from ..grid import grid_points

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
