r"""Explorers of the "flows at work" notebook: a live amortised posterior and class-conditional digits.

* :func:`posterior_explorer` — sliders move the observation :math:`x`; the conditional flow's
  :math:`q(\theta\mid x)` and the exact posterior :math:`p(\theta\mid x)` (normalised on the same
  grid) follow, with :math:`\mathrm{KL}(p\,\|\,q)` on that grid. No retraining: the flow is
  *amortised*, one network for every :math:`x`.
* :func:`class_explorer` — sliders pick a class :math:`y` and a temperature :math:`T`; samples of
  :math:`p(x\mid y)` at temperature :math:`T` (fixed noise, so only :math:`y` and :math:`T` change
  them) and, next to them, what the same flow used as a classifier by Bayes' rule says about its
  own samples: the mean of :math:`p(y'\mid x_{\text{sample}})` over the samples, uniform prior.

Both follow the design of :mod:`flowkit.course.widgets` (in-place artist updates, fixed noise,
one torch thread). Their figures live outside pyplot — an ipympl canvas in a Jupyter kernel, Agg
elsewhere — so a notebook can draw its static figures ``%matplotlib inline`` and still get live
explorers; they are at most 820 px wide (the output area is ~850 px at 1280 px with the file
browser open).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ...flow import Flow
from ...grid import grid_points
from ...validation import finite_real, positive_int
from .canvas import figure
from .explorer import Explorer
from .sliders import slider

__all__ = ["posterior_explorer", "class_explorer"]

# Okabe–Ito colour-blind-safe colours; viridis for densities
_BLUE, _GREY, _VERMILLION, _CMAP = "#0072B2", "#555555", "#D55E00", "viridis"


def _slider(description: str, value: float, lo: float, hi: float, step: float = 0.01, fmt: str = ".2f") -> Any:
    widget = slider(description, value, lo, hi, step, readout_format=fmt)
    widget.style.description_width = "95px"  # room for "temperature T"
    return widget


def _normalised(logp: Tensor, cell_area: float) -> Tensor:
    """``logp`` normalised on the grid: ``logp − log Σ exp(logp)·ΔA`` (``-inf`` stays ``-inf``)."""
    return logp - (torch.logsumexp(logp, 0) + math.log(cell_area))


def _forward_kl(log_p: Tensor, log_q: Tensor, cell_area: float) -> float:
    """Midpoint-rule :math:`\\sum p(\\log p - \\log q)\\,ΔA` over the cells where ``p > 0``."""
    p = torch.exp(log_p)
    keep = p > 0
    return float((p[keep] * (log_p[keep] - log_q[keep])).sum() * cell_area)


def posterior_explorer(flow: Flow, log_posterior: Callable[[Tensor, Tensor], Tensor], *,
                       x_ranges: tuple[tuple[float, float], tuple[float, float]] = ((-1.0, 1.0), (-1.0, 1.0)),
                       x0: tuple[float, float] = (0.0, 0.0),
                       bounds: tuple[float, float] = (-1.0, 1.0), resolution: int = 150,
                       names: tuple[str, str] = ("θ₁", "θ₂"), threads: int | None = 1) -> Explorer:
    r"""Live amortised posterior: sliders ``x1, x2`` set the observation; the panels show :math:`q(\theta\mid x)` and :math:`p(\theta\mid x)`.

    Args:
        flow: a conditional :class:`~flowkit.Flow` over 2-D :math:`\theta` with a 2-D context :math:`x`.
        log_posterior: ``(theta (M, 2) float64, x (1, 2)) → (M,)`` exact log-posterior, normalised
            or not (it is normalised on the grid; ``-inf`` outside its support is fine).
        x_ranges: slider ranges ``((lo, hi), (lo, hi))`` of the two observation coordinates.
        x0: their starting values.
        bounds: the :math:`\theta` box ``(lo, hi)`` of both panels.
        resolution: grid points per axis (the KL is computed on this grid).
        names: axis labels.

    ``state``: ``kl`` (:math:`\mathrm{KL}(p\|q)` on the grid, :math:`q` normalised there too),
    ``q_mass`` (:math:`\int q` over the box before normalising, ≈ 1 when the box holds
    :math:`q`), ``q_mean`` and ``p_mean`` (posterior means on the grid), ``x``, and ``possible``
    (``False`` when no :math:`\theta` in the box can produce :math:`x`: then ``kl`` and ``p_mean`` are NaN).

    Example:
        >>> from flowkit.data import LinearGaussian
        >>> from flowkit.data.simulators import posterior_flow
        >>> q = posterior_flow(2, 2, n_layers=1, hidden=(8,))      # untrained: N(0, I) for every x
        >>> ex = posterior_explorer(q, LinearGaussian().log_posterior, bounds=(-4.0, 4.0), resolution=40)
        >>> state = ex.update(x1=0.5, x2=-0.25)
        >>> state["possible"], state["kl"] > 0
        (True, True)
        >>> ex.close()
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"posterior_explorer: flow must be a flowkit.Flow, got {type(flow).__name__}")
    if not callable(log_posterior):
        raise TypeError(f"posterior_explorer: log_posterior must be callable, got {type(log_posterior).__name__}")
    resolution = positive_int(resolution, "resolution", "posterior_explorer", minimum=2)
    lo, hi = (finite_real(v, "bounds", "posterior_explorer") for v in bounds)
    if not lo < hi:
        raise ValueError(f"posterior_explorer: bounds must be (lo, hi) with lo < hi, got {tuple(bounds)}")
    pts64, _, _, area = grid_points((lo, hi), resolution, dtype=torch.float64)
    pts = pts64.to(next(flow.parameters()).dtype)
    fig, (ax_q, ax_p) = figure(2, (8.2, 3.8))
    images = {}
    for ax, key, title in ((ax_q, "q", "flow q(θ | x): one network for every x"),
                           (ax_p, "p", "exact posterior p(θ | x) (grid)")):
        images[key] = ax.imshow(np.zeros((resolution, resolution), np.float32), origin="lower", cmap=_CMAP,
                                extent=(lo, hi, lo, hi), interpolation="nearest", aspect="equal")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    (mean_q,) = ax_q.plot([], [], ls="none", marker="+", ms=10, mew=2, color=_VERMILLION, label="mean of q")
    (mean_p,) = ax_p.plot([], [], ls="none", marker="x", ms=8, mew=2, color="white", label="exact mean")
    for ax in (ax_q, ax_p):
        ax.legend(loc="upper right", fontsize=8)
    text = ax_q.text(0.02, 0.02, "KL(p‖q) = 0.000", transform=ax_q.transAxes, color="white", fontsize=9,
                     va="bottom", ha="left")
    sliders = {"x1": _slider("x₁", x0[0], *x_ranges[0]), "x2": _slider("x₂", x0[1], *x_ranges[1])}
    fig.tight_layout()

    def compute(v: dict[str, float]) -> dict[str, Any]:
        x = torch.tensor([[v["x1"], v["x2"]]])
        log_q_raw = flow.log_prob(pts, x.to(pts.dtype).expand(pts.shape[0], -1)).double()
        q_mass = float(torch.exp(log_q_raw).sum() * area)
        log_q, log_p = _normalised(log_q_raw, area), log_posterior(pts64, x.double()).double()
        possible = bool(torch.isfinite(log_p).any())  # some θ in the box can produce this x
        log_p = _normalised(log_p, area) if possible else torch.full_like(log_p, -math.inf)
        kl = _forward_kl(log_p, log_q, area) if possible else math.nan
        out: dict[str, Any] = {"kl": kl, "q_mass": q_mass, "x": [v["x1"], v["x2"]], "possible": possible}
        for key, lp, marker in (("q", log_q, mean_q), ("p", log_p, mean_p)):
            dens = torch.exp(lp)
            img = dens.view(resolution, resolution).float().numpy()
            images[key].set_data(img)
            images[key].set_clim(0.0, max(float(img.max()), 1e-12))
            mean = (dens[:, None] * pts64).sum(0) * area if possible or key == "q" else torch.full((2,), math.nan)
            marker.set_data([float(mean[0])], [float(mean[1])])
            out[f"{key}_mean"] = mean.tolist()
        text.set_text(f"x = ({v['x1']:+.2f}, {v['x2']:+.2f})   KL(p‖q) = {kl:.3f} nats" if possible else
                      f"x = ({v['x1']:+.2f}, {v['x2']:+.2f}): no θ in the box can produce this x")
        return out

    return Explorer("posterior_explorer", fig, sliders,
                    {"q": images["q"], "p": images["p"], "mean_q": mean_q, "mean_p": mean_p, "text": text},
                    compute, threads=threads)


def _tile(images: Tensor, ncol: int) -> np.ndarray:
    """``(n, 1, h, w)`` images as one ``(rows·(h+1)−1, ncol·(w+1)−1)`` mosaic (NaN gutters)."""
    n, _, h, w = images.shape
    rows = math.ceil(n / ncol)
    out = np.full((rows * (h + 1) - 1, ncol * (w + 1) - 1), np.nan, np.float32)
    for i in range(n):
        r, c = divmod(i, ncol)
        out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = images[i, 0].float().numpy()
    return out


def class_explorer(model: Any, *, n_samples: int = 24, ncol: int = 6, seed: int = 0, y0: int = 3,
                   temperature: float = 0.8, threads: int | None = 1) -> Explorer:
    r"""Class-conditional samples with a class and a temperature slider, and the classifier's verdict on them.

    Args:
        model: a class-conditional image flow with ``one_hot``, ``sample_images`` and
            ``class_log_likelihoods`` (a :class:`~flowkit.image.ConditionalRealNVP`).
        n_samples, ncol: samples shown and their columns.
        seed: the noise of the samples (the same for every slider value).
        y0, temperature: starting slider values.

    ``state``: ``label`` (the class), ``temperature``, ``posterior`` (mean over the samples of
    :math:`p(y'\mid x)` for every class :math:`y'`, uniform prior), ``agreement`` (fraction of
    samples whose most probable class is ``label``), ``images`` (the integer samples).

    Example:
        >>> from flowkit.image import ConditionalRealNVP
        >>> ex = class_explorer(ConditionalRealNVP(n_couplings=1, hidden=8, seed=0), n_samples=4, ncol=2)
        >>> state = ex.update(label=2, T=0.5)
        >>> [round(p, 3) for p in state["posterior"][:3]]       # untrained: the same p(x|y) for every y
        [0.1, 0.1, 0.1]
        >>> ex.close()
    """
    for name in ("one_hot", "sample_images", "class_log_likelihoods"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"class_explorer: model must be a class-conditional image flow with {name}(), "
                            f"got {type(model).__name__}")
    n_samples = positive_int(n_samples, "n_samples", "class_explorer")
    ncol = positive_int(ncol, "ncol", "class_explorer")
    K, levels = int(model.n_classes), int(model.n_bins)
    model.eval()
    fig, (ax_s, ax_b) = figure(2, (8.2, 3.6), width_ratios=[1.25, 1.0])
    mosaic = ax_s.imshow(_tile(torch.zeros(n_samples, 1, 8, 8), ncol), cmap="gray_r", vmin=0, vmax=levels - 1,
                         interpolation="nearest")
    ax_s.set_xticks([])
    ax_s.set_yticks([])
    ax_s.set_xlabel("the same noise z for every class and temperature")
    title = ax_s.set_title("samples of p(x | y)", fontsize=10)
    bars = ax_b.bar(range(K), np.zeros(K), color=_BLUE)
    ax_b.axhline(1.0 / K, color=_GREY, ls="--", lw=1, label=f"uniform prior 1/{K}")
    ax_b.set_ylim(0.0, 1.0)
    ax_b.set_xticks(range(K))
    ax_b.set_xlabel("class y′")
    ax_b.set_ylabel("mean p(y′ | sample)")
    ax_b.set_title("the same flow as a classifier (Bayes' rule)", fontsize=10)
    ax_b.legend(loc="upper right", fontsize=8)
    sliders = {"label": _slider("class y", float(y0), 0.0, float(K - 1), step=1.0, fmt=".0f"),
               "T": _slider("temperature T", temperature, 0.0, 1.2, step=0.05)}
    fig.tight_layout()

    def compute(v: dict[str, float]) -> dict[str, Any]:
        label, T = int(round(v["label"])), float(v["T"])
        context = model.one_hot(torch.tensor([label]))
        imgs = model.sample_images(n_samples, context, temperature=T,
                                   generator=torch.Generator().manual_seed(seed))
        ll = model.class_log_likelihoods(imgs)
        post = torch.softmax(ll, dim=1)  # uniform prior: p(y'|x) ∝ p(x|y')
        mean_post = post.mean(0)
        agreement = float((post.argmax(1) == label).float().mean())
        mosaic.set_data(_tile(imgs, ncol))
        for k, bar in enumerate(bars):
            bar.set_height(float(mean_post[k]))
            bar.set_color(_VERMILLION if k == label else _BLUE)
        title.set_text(f"{n_samples} samples of p(x | y = {label}), T = {T:.2f}; "
                       f"{agreement:.0%} classified as {label}")
        return {"label": label, "temperature": T, "posterior": mean_post.tolist(), "agreement": agreement,
                "images": imgs}

    artists = {"mosaic": mosaic, "title": title, **{f"bar_{k}": bar for k, bar in enumerate(bars)}}
    return Explorer("class_explorer", fig, sliders, artists, compute, threads=threads)
