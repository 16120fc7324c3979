r"""Likelihoods of data under a flow (:func:`nll`, :func:`bits_per_dim`), and the KL to a known 2-D density.

Example:
    >>> import torch, flowkit as fk
    >>> from flowkit.metrics import nll
    >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
    >>> nll(flow, torch.zeros(4, 2)) == float(-flow.log_prob(torch.zeros(1, 2)).detach())
    True
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..validation import as_real_tensor as _as_tensor
from ..validation import choice, finite_real, flow_module, module_dtype, positive_int, seed_or_none, validate_context

__all__ = ["nll", "bits_per_dim", "kl_to_density"]


def _check_model(flow: object, where: str) -> nn.Module:
    return flow_module(flow, where)


def _device(m: nn.Module) -> torch.device:
    for p in m.parameters():
        return p.device
    return torch.device("cpu")


def _generator(seed: int | None, where: str) -> torch.Generator:
    """A CPU generator seeded ``seed`` (``None``: seeded from fresh entropy, not reproducible)."""
    seed = seed_or_none(seed, where)
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def _context(context: object, n: int, where: str, dtype: torch.dtype | None) -> Tensor | None:
    return None if context is None else validate_context(context, n, where=where, dtype=dtype)


def _is_images(model: nn.Module, x: Tensor) -> bool:
    from ..image import ImageFlow

    return isinstance(model, ImageFlow) and not x.is_floating_point()


@torch.no_grad()
def _neg_log_prob(flow: nn.Module, x: Tensor, context: Tensor | None, batch_size: int) -> Tensor:
    """``-log p(x | context)`` per row (float64, CPU), in eval mode, in chunks on the flow's device."""
    dtype, device = module_dtype(flow), _device(flow)
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype} but the flow's parameters are {dtype}")
    was = flow.training
    flow.eval()
    try:
        return torch.cat([-flow.log_prob(x[i:i + batch_size].to(device),  # type: ignore[operator]
                                         None if context is None else context[i:i + batch_size].to(device))
                          .double().cpu() for i in range(0, x.shape[0], batch_size)])
    finally:
        flow.train(was)


def nll(flow: nn.Module, x: object, context: object = None, *, reduction: str = "mean", n_samples: int = 1,
        seed: int | None = 0, batch_size: int = 1024) -> float | Tensor:
    r"""Negative log-likelihood in nats of ``x`` (given ``context``) under ``flow``: :math:`-\log p(x\mid c)`.

    * continuous ``x`` and any flow: :math:`-\log p(x\mid c)` by the change of variables
      (exact; ``n_samples`` must be 1);
    * integer images and an :class:`~flowkit.image.ImageFlow`: the dequantized upper bound
      :math:`-\log\frac1k\sum_s p(y_s)/q(u_s\mid x)` over ``k = n_samples`` noise draws
      (Burda et al., 2016; with ``k = 1`` the plain bound of :meth:`~flowkit.image.ImageFlow.nll`),
      noise from a generator seeded ``seed`` (``None``: fresh entropy).

    Returns the mean (``reduction="mean"``, a float) or one value per row (``"none"``, a float64
    CPU tensor). Evaluated without gradients, in eval mode, in chunks of ``batch_size`` rows moved
    to the flow's device.

    Example:
        >>> import math, torch, flowkit as fk
        >>> flow = fk.Flow(fk.Affine(1), fk.StandardNormal(1))
        >>> round(nll(flow, torch.zeros(3, 1)), 6) == round(0.5 * math.log(2 * math.pi), 6)
        True
    """
    flow = _check_model(flow, "nll")
    choice(reduction, "reduction", ("mean", "none"), "nll")
    t = _as_tensor(x, "x")
    n_samples = positive_int(n_samples, "n_samples", "nll")
    if _is_images(flow, t):
        bpd = bits_per_dim(flow, t, context, n_samples=n_samples, importance_weighted=True, seed=seed,
                           reduction="none", batch_size=batch_size)
        out = bpd * (flow.num_dims * math.log(2.0))  # type: ignore[operator, attr-defined]
    else:
        if not t.is_floating_point():
            raise TypeError(f"nll: x must hold real numbers (integer images need an ImageFlow), got dtype {t.dtype}")
        if n_samples != 1:
            raise ValueError(f"nll: n_samples={n_samples} needs an ImageFlow and integer images (dequantization "
                             "noise); a continuous flow's log p(x) is exact, use n_samples=1")
        ctx = _context(context, t.shape[0], "nll", module_dtype(flow))
        out = _neg_log_prob(flow, t, ctx, positive_int(batch_size, "batch_size", "nll"))
    return float(out.mean()) if reduction == "mean" else out


def bits_per_dim(model: nn.Module, x: object, context: object = None, *, n_samples: int = 1,
                 importance_weighted: bool = False, seed: int | None = 0, reduction: str = "mean",
                 batch_size: int = 1024) -> float | Tensor:
    r"""Bits per dimension of ``x`` under ``model``: :math:`-\log p(x)/(D\log 2)`.

    * :class:`~flowkit.image.ImageFlow` and integer images: **delegates** to
      :meth:`ImageFlow.bits_per_dim <flowkit.image.ImageFlow.bits_per_dim>` (the one bits/dim of
      flowkit, same defaults) with a noise generator seeded ``seed`` (``None``: fresh entropy):
      the dequantized bound averaged over ``n_samples`` draws, or with
      ``importance_weighted=True`` the tighter :math:`-\log\frac1k\sum_s p(y_s)/q(u_s\mid x)`
      (Burda et al., 2016), the estimate to report for variational dequantization (Ho et al.,
      2019). With ``n_samples=1`` the two are identical.
    * any other flow and continuous ``x``: :math:`-\log p(x)/(D\log 2)` (a differential
      quantity, it can be negative); ``n_samples`` must be 1.

    Returns a float (``reduction="mean"``) or a float64 CPU tensor ``(N,)`` (``"none"``).

    Example:
        >>> import torch, flowkit as fk
        >>> model = fk.image.RealNVP(n_couplings=1, hidden=8, seed=0)
        >>> x = torch.randint(0, 17, (8, 1, 8, 8), generator=torch.Generator().manual_seed(0))
        >>> bits_per_dim(model, x, seed=1) == float(model.bits_per_dim(x, generator=torch.Generator().manual_seed(1)))
        True
    """
    _check_model(model, "bits_per_dim")
    n_samples = positive_int(n_samples, "n_samples", "bits_per_dim")
    choice(reduction, "reduction", ("mean", "none"), "bits_per_dim")
    t = _as_tensor(x, "x")
    if _is_images(model, t):
        device = _device(model)
        ctx = None if context is None else _as_tensor(context, "context").to(device)
        out = model.bits_per_dim(t.to(device), n_samples=n_samples,  # type: ignore[operator]
                                 importance_weighted=bool(importance_weighted), generator=_generator(seed, "bits_per_dim"),
                                 reduction=reduction, batch_size=batch_size, context=ctx)
        return float(out) if reduction == "mean" else out.double().cpu()
    if n_samples != 1:
        raise ValueError("bits_per_dim: n_samples > 1 needs an ImageFlow (dequantization noise); "
                         "a continuous flow's log p(x) is exact")
    if not t.is_floating_point():
        raise TypeError("bits_per_dim: integer data needs an ImageFlow (with dequantization)")
    D = math.prod(t.shape[1:]) if t.dim() > 1 else 1
    ctx = _context(context, t.shape[0], "bits_per_dim", module_dtype(model))
    bpd = _neg_log_prob(model, t, ctx, positive_int(batch_size, "batch_size", "bits_per_dim")) / (D * math.log(2.0))
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

    Example:
        >>> import math, torch, flowkit as fk
        >>> q = fk.Flow(fk.Affine(2), fk.StandardNormal(2)).double()
        >>> log_p = lambda x: -0.5 * (x ** 2).sum(1) - math.log(2 * math.pi)
        >>> abs(kl_to_density(q, log_p, bounds=8.0, resolution=200)) < 1e-8
        True
    """
    from ..grid import grid_points

    choice(direction, "direction", ("forward", "reverse", "both"), "kl_to_density")
    if not callable(log_p):
        raise TypeError(f"kl_to_density: log_p must be callable, got {type(log_p).__name__}")
    if isinstance(q, nn.Module):
        _check_model(q, "kl_to_density")
    elif not callable(q):
        raise TypeError(f"kl_to_density: q must be a flow or a callable, got {type(q).__name__}")
    mass_tol = finite_real(mass_tol, "mass_tol", "kl_to_density", low=0.0, low_open=True)
    pts, _, _, area = grid_points(bounds, resolution, dtype=torch.float64)
    lq = _on_grid(q, pts, "q")
    lp = _on_grid(log_p, pts, "log_p")
    out = {}
    if direction in ("forward", "both"):
        out["forward"] = _grid_kl(lp, lq, area, mass_tol, "p")
    if direction in ("reverse", "both"):
        out["reverse"] = _grid_kl(lq, lp, area, mass_tol, "q")
    return out if direction == "both" else out[direction]


@torch.no_grad()
def _on_grid(fn: nn.Module | Callable[[Tensor], Tensor], pts: Tensor, who: str) -> Tensor:
    """``fn`` (a flow's ``log_prob`` in eval mode, or a callable) on the grid points, float64, checked."""
    module = fn if isinstance(fn, nn.Module) else None
    dtype = (module_dtype(module) or torch.float64) if module is not None else torch.float64
    call = module.log_prob if module is not None else fn  # type: ignore[union-attr]
    was = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        out = torch.cat([call(pts[i:i + 65536].to(dtype)).double() for i in range(0, pts.shape[0], 65536)])
    finally:
        if module is not None:
            module.train(was)
    if out.shape != (pts.shape[0],):
        raise ValueError(f"kl_to_density: {who} returned shape {tuple(out.shape)} for {pts.shape[0]} points")
    if torch.isnan(out).any() or (out == math.inf).any():
        raise ValueError(f"kl_to_density: {who} returned NaN or +inf on the grid")
    return out


def _grid_kl(la: Tensor, lb: Tensor, area: float, mass_tol: float, who: str) -> float:
    r"""Midpoint-rule :math:`\int a\,(\log a - \log b)` from log-densities on the grid."""
    pa = torch.exp(la)
    mass = float(pa.sum() * area)
    if abs(mass - 1.0) > mass_tol:
        raise ValueError(f"kl_to_density: {who} integrates to {mass:.4f} on the grid, not 1 (±{mass_tol}); "
                         "enlarge bounds, raise resolution or pass a normalised log density")
    pos = pa > 0
    if bool((pos & torch.isinf(lb)).any()):
        return math.inf
    return float((pa[pos] * (la[pos] - lb[pos])).sum() * area)
