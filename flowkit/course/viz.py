"""Matplotlib plots for 2-D flows: densities, samples, energies, grid deformations, training curves.

Every function takes an optional ``ax`` (or ``axes``), labels what it draws (axis
labels and a title) and returns the artist(s) it created, so they can be updated in
place (``image.set_data(...)``, ``points.set_offsets(...)``; the live explorers of
:mod:`flowkit.widgets` keep their own precomputed grids for speed). Colour maps default to the
perceptually uniform, colour-blind-safe ``viridis``; categorical colours are from
the Okabe–Ito palette.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..grid import _as_bounds, evaluate_on_grid
from ..validation import module_dtype
from .diagrams import plot_stage_diagram, shape_str
from .mosaic import DIGITS_CMAP, FIG_WIDTH, digit_mosaic, show_digits

__all__ = [
    "plot_density", "plot_samples", "plot_energy", "plot_grid_deformation", "plot_history",
    "digit_mosaic", "show_digits", "DIGITS_CMAP", "FIG_WIDTH", "plot_stage_diagram", "shape_str",
]

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

# Base samples by quadrant of z: (−,−), (+,−), (−,+), (+,+); distinct from the blue/orange grid lines.
_QUADRANT_COLORS = ("#009E73", "#CC79A7", "#000000", "#56B4E9")

_XLABEL, _YLABEL = "$x_1$", "$x_2$"


def _new_ax(ax: Any, figsize: tuple[float, float] = (4.6, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _log_prob_fn(model_or_log_prob: Any, arg: str = "model_or_log_prob") -> tuple[Callable[[Tensor], Tensor], torch.dtype, nn.Module | None]:
    """A callable x → log p(x), the dtype to evaluate in, and the module (if any) to put in eval mode."""
    if isinstance(model_or_log_prob, nn.Module) and callable(getattr(model_or_log_prob, "log_prob", None)):
        module = model_or_log_prob
        return module.log_prob, module_dtype(module) or torch.float32, module
    if isinstance(model_or_log_prob, nn.Module):
        raise TypeError(f"{arg}: the module {type(model_or_log_prob).__name__} has no log_prob method; "
                        "pass a flowkit.Flow or a callable x -> log p(x)")
    if callable(model_or_log_prob):
        return model_or_log_prob, torch.float32, None
    raise TypeError(f"{arg} must be a flowkit.Flow (anything with .log_prob) or a callable x -> log p(x), "
                    f"got {type(model_or_log_prob).__name__}")


def _grid_log_prob(model_or_log_prob: Any, bounds: Any, resolution: int, arg: str) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    fn, dtype, module = _log_prob_fn(model_or_log_prob, arg)
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        _, _, logp = evaluate_on_grid(fn, bounds, resolution, dtype=dtype)
    finally:
        if module is not None:
            module.train(was_training)
    if logp.shape != (resolution, resolution):  # pragma: no cover - guarded by evaluate_on_grid
        raise ValueError(f"log-density returned shape {tuple(logp.shape)} on the grid")
    arr = logp.detach().double().cpu().numpy()
    if np.isnan(arr).any():
        warnings.warn(f"the log-density is NaN at {int(np.isnan(arr).sum())} grid points; they are left blank",
                      RuntimeWarning, stacklevel=3)
    (x0, x1), (y0, y1) = _as_bounds(bounds)
    return arr, (x0, x1, y0, y1)


def _image_values(logp: np.ndarray, log: bool, normalize_max: bool) -> np.ndarray:
    if normalize_max:
        finite = logp[np.isfinite(logp)]
        if finite.size:
            logp = logp - finite.max()
    return logp if log else np.exp(logp)


def _finish_axes(ax: Any, title: str, extent: tuple[float, float, float, float] | None = None) -> None:
    ax.set_xlabel(_XLABEL)
    ax.set_ylabel(_YLABEL)
    ax.set_title(title)
    if extent is not None:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")


def _draw_heatmap(ax: Any, values: np.ndarray, extent: tuple[float, float, float, float], cmap: str,
                  log: bool, colorbar: bool, cbar_label: str, log_range: float) -> Any:
    kw: dict[str, Any] = {}
    if log:
        finite = values[np.isfinite(values)]
        if finite.size:
            hi = float(finite.max())
            kw.update(vmin=max(float(finite.min()), hi - log_range), vmax=hi)
    img = ax.imshow(values, origin="lower", extent=extent, cmap=cmap, interpolation="nearest", aspect="equal", **kw)
    if colorbar:
        cb = ax.figure.colorbar(img, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(cbar_label)
    return img


def plot_density(model_or_log_prob: Any, ax: Any = None, bounds: float | Sequence[Any] = 4.0,
                 resolution: int = 200, cmap: str = "viridis", title: str | None = None, log: bool = False,
                 *, colorbar: bool = False, log_range: float = 20.0) -> Any:
    """Heatmap of the density ``exp(log p(x))`` (or ``log p`` with ``log=True``) on a square grid.

    Args:
        model_or_log_prob: a :class:`~flowkit.Flow` (its ``log_prob`` is evaluated in eval
            mode under ``no_grad``, in the flow's dtype) or any callable ``x → log p(x)``
            mapping ``(batch, 2)`` to ``(batch,)``.
        ax: Axes to draw on (a new figure if ``None``).
        bounds: ``b`` for the box ``[-b, b]²``, ``(lo, hi)`` or ``((x0, x1), (y0, y1))``.
        resolution: grid points per axis (cell centres, see :func:`flowkit.grid.grid_points`).
        cmap: colour map (default ``viridis``, colour-blind safe).
        title: defaults to ``"density p(x)"`` / ``"log-density log p(x)"``.
        log: show ``log p`` instead of ``p``; the colour range then spans at most
            ``log_range`` nats below the maximum (the data are not clipped).
        colorbar: add a labelled colour bar.

    Returns:
        the ``AxesImage`` (``image.get_array()`` holds the plotted values, rows indexed by x₂).
    """
    arr, extent = _grid_log_prob(model_or_log_prob, bounds, resolution, "model_or_log_prob")
    ax = _new_ax(ax)
    values = _image_values(arr, log, normalize_max=False)
    label = "log p(x)" if log else "p(x)"
    img = _draw_heatmap(ax, values, extent, cmap, log, colorbar, label, log_range)
    _finish_axes(ax, title if title is not None else ("log-density log p(x)" if log else "density p(x)"), extent)
    return img


def plot_energy(log_density: Callable[[Tensor], Tensor], ax: Any = None, bounds: float | Sequence[Any] = 4.0,
                resolution: int = 200, title: str | None = None, *, cmap: str = "viridis", log: bool = False,
                colorbar: bool = False, log_range: float = 20.0) -> Any:
    """Heatmap of an *unnormalised* target ``p̃(x) = exp(log_density(x))``, scaled to peak 1.

    The normaliser is unknown, so the image shows ``exp(log p̃(x) − max_grid log p̃)``
    (``log=True``: ``log p̃ − max``). For an energy ``U`` pass ``lambda x: -U(x)``.

    Returns:
        the ``AxesImage``.
    """
    arr, extent = _grid_log_prob(log_density, bounds, resolution, "log_density")
    ax = _new_ax(ax)
    values = _image_values(arr, log, normalize_max=True)
    label = "log p̃(x) − max" if log else "p̃(x) / max p̃"
    img = _draw_heatmap(ax, values, extent, cmap, log, colorbar, label, log_range)
    default = "unnormalised target log p̃(x)" if log else "unnormalised target p̃(x) (scaled to max 1)"
    _finish_axes(ax, title if title is not None else default, extent)
    return img


def _as_points(x: Any, name: str = "x") -> np.ndarray:
    if isinstance(x, Tensor):
        arr = x.detach().cpu().double().numpy()
    else:
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a tensor or array of shape (n, 2), got {type(x).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {arr.shape}")
    return arr


def plot_samples(x: Any, ax: Any = None, bounds: float | Sequence[Any] | None = None, s: float = 2,
                 alpha: float = 0.5, title: str | None = None, color: Any = None) -> Any:
    """Scatter plot of 2-D samples ``x`` (tensor or array of shape ``(n, 2)``).

    ``bounds`` fixes the axis limits (same forms as in :func:`plot_density`); ``None``
    lets matplotlib choose. ``color`` defaults to Okabe–Ito blue. Returns the ``PathCollection``.
    """
    arr = _as_points(x)
    ax = _new_ax(ax)
    pts = ax.scatter(arr[:, 0], arr[:, 1], s=s, alpha=alpha, color=color if color is not None else OKABE_ITO[0],
                     linewidths=0, rasterized=arr.shape[0] > 5000)
    extent = None
    if bounds is not None:
        (x0, x1), (y0, y1) = _as_bounds(bounds)
        extent = (x0, x1, y0, y1)
    _finish_axes(ax, title if title is not None else f"samples (n = {arr.shape[0]})", extent)
    return pts


# ----------------------------------------------------------------------------------------
# grid deformation
# ----------------------------------------------------------------------------------------
def _stages(transform: Any, z: Tensor) -> tuple[list[Tensor], list[str]]:
    from ..transforms.base import Compose, Transform

    if isinstance(transform, Compose):
        layers = list(transform)
        if hasattr(transform, "forward_steps"):
            outs = transform.forward_steps(z)
        else:  # pragma: no cover - forward_steps exists in flowkit.Compose
            outs = [z]
            for t in layers:
                outs.append(t.forward(outs[-1])[0])
    elif isinstance(transform, Transform):
        layers = [transform]
        outs = [z, transform.forward(z)[0]]
    else:
        raise TypeError(f"transform must be a flowkit.Transform or Flow, got {type(transform).__name__}")
    k = len(layers)
    names = ["z (base)"]
    for i, t in enumerate(layers, start=1):
        stage = f"after layer {i} ({type(t).__name__})"
        names.append(f"x = {stage}" if i == k else stage)
    return outs, names


def _square_limits(pts: np.ndarray) -> tuple[float, float, float, float]:
    finite = pts[np.isfinite(pts).all(axis=1)]
    if finite.shape[0] == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo = np.quantile(finite, 0.002, axis=0)
    hi = np.quantile(finite, 0.998, axis=0)
    c = (lo + hi) / 2
    r = max(float((hi - lo).max()) / 2 * 1.08, 1e-3)
    return (c[0] - r, c[0] + r, c[1] - r, c[1] + r)


def plot_grid_deformation(transform: Any, bounds: float = 3.0, n_lines: int = 15, points_per_line: int = 200,
                          axes: Any = None, max_panels: int | None = None, *, n_samples: int = 1000,
                          seed: int = 0, ncols: int | None = None) -> Any:
    """Show how a flow deforms space: a regular grid pushed through each layer of a ``Compose``.

    Draws ``n_lines`` horizontal (blue) and vertical (orange) lines over ``[-bounds, bounds]²``
    in z-space plus ``n_samples`` base samples ``z ~ N(0, I)`` coloured by quadrant, and
    pushes them through ``transform`` in the generative direction, one panel per stage:
    ``"z (base)"``, ``"after layer 1 (Planar)"``, …, ``"x = after layer K (…)"``. A
    ``Compose`` of K layers gives K + 1 panels (a single transform gives 2).

    Args:
        transform: a :class:`~flowkit.Compose`, any 2-D :class:`~flowkit.Transform`, or a
            :class:`~flowkit.Flow` (its ``transform`` is used).
        max_panels: show at most this many stages (evenly spaced, always the first and last).
        axes: a sequence/array of at least as many Axes as panels (a new figure if ``None``).
        n_samples: number of base samples to scatter (0 for none), drawn from a local
            generator seeded with ``seed``.
        ncols: panels per row of a new figure (default: up to 4). A new figure is
            ``FIG_WIDTH`` (8.2 in) wide at most, so it fits a notebook's output area.

    Returns:
        the ``Figure``.
    """
    import matplotlib.pyplot as plt

    from ..flow import Flow

    if isinstance(transform, Flow):
        transform = transform.transform
    if isinstance(n_lines, bool) or not isinstance(n_lines, int) or n_lines < 2:
        raise ValueError(f"n_lines must be an int >= 2, got {n_lines!r}")
    if isinstance(points_per_line, bool) or not isinstance(points_per_line, int) or points_per_line < 2:
        raise ValueError(f"points_per_line must be an int >= 2, got {points_per_line!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise ValueError(f"n_samples must be an int >= 0, got {n_samples!r}")
    if not (isinstance(bounds, (int, float)) and not isinstance(bounds, bool) and math.isfinite(bounds) and bounds > 0):
        raise ValueError(f"bounds must be a positive number, got {bounds!r}")
    latent = getattr(transform, "latent_shape", None)
    if latent is not None and tuple(latent) != (2,):
        raise ValueError(f"plot_grid_deformation needs a 2-D transform, got latent shape {latent}")

    dtype = (module_dtype(transform) if isinstance(transform, nn.Module) else None) or torch.float32
    b = float(bounds)
    t = torch.linspace(-b, b, points_per_line, dtype=torch.float64)
    levels = torch.linspace(-b, b, n_lines, dtype=torch.float64)
    horiz = torch.stack([t.repeat(n_lines), levels.repeat_interleave(points_per_line)], dim=1)
    vert = torch.stack([levels.repeat_interleave(points_per_line), t.repeat(n_lines)], dim=1)
    gen = torch.Generator().manual_seed(seed)
    samples = torch.randn(n_samples, 2, generator=gen, dtype=torch.float64)
    z = torch.cat([horiz, vert, samples]).to(dtype)
    if isinstance(transform, nn.Module):
        device = next((p.device for p in transform.parameters()), torch.device("cpu"))
        z = z.to(device)
        was_training = transform.training
        transform.eval()
    try:
        with torch.no_grad():
            outs, names = _stages(transform, z)
    finally:
        if isinstance(transform, nn.Module):
            transform.train(was_training)

    idx = list(range(len(outs)))
    if max_panels is not None:
        if isinstance(max_panels, bool) or not isinstance(max_panels, int) or max_panels < 2:
            raise ValueError(f"max_panels must be an int >= 2, got {max_panels!r}")
        if len(idx) > max_panels:
            idx = sorted({round(i * (len(outs) - 1) / (max_panels - 1)) for i in range(max_panels)})
    n_panels = len(idx)

    if axes is None:
        nc = min(n_panels, ncols if ncols is not None else 4)
        nr = math.ceil(n_panels / nc)
        side = min(3.2, FIG_WIDTH / nc)
        fig, ax_arr = plt.subplots(nr, nc, figsize=(side * nc, side * nr + 0.5), squeeze=False, constrained_layout=True)
        ax_list = list(ax_arr.ravel())
        for extra in ax_list[n_panels:]:
            extra.set_visible(False)
    else:
        ax_list = list(np.asarray(axes, dtype=object).ravel())
        if len(ax_list) < n_panels:
            raise ValueError(f"axes has {len(ax_list)} Axes but {n_panels} panels are needed")
        fig = ax_list[0].figure

    n_line_pts = n_lines * points_per_line
    quad = (samples[:, 0] >= 0).long() + 2 * (samples[:, 1] >= 0).long()
    quad_colors = np.array(_QUADRANT_COLORS, dtype=object)[quad.numpy()] if n_samples else None
    for ax, k in zip(ax_list, idx):
        pts = outs[k].detach().double().cpu().numpy()
        h = pts[:n_line_pts].reshape(n_lines, points_per_line, 2)
        v = pts[n_line_pts:2 * n_line_pts].reshape(n_lines, points_per_line, 2)
        for line in h:
            ax.plot(line[:, 0], line[:, 1], color=OKABE_ITO[0], lw=0.7, alpha=0.8)
        for line in v:
            ax.plot(line[:, 0], line[:, 1], color=OKABE_ITO[1], lw=0.7, alpha=0.8)
        if n_samples:
            sp = pts[2 * n_line_pts:]
            ax.scatter(sp[:, 0], sp[:, 1], s=3, c=list(quad_colors), alpha=0.6, linewidths=0, zorder=3)
        x0, x1, y0, y1 = _square_limits(pts)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        first = k == 0
        ax.set_xlabel("$z_1$" if first else ("$x_1$" if k == len(outs) - 1 else "dim 1"))
        ax.set_ylabel("$z_2$" if first else ("$x_2$" if k == len(outs) - 1 else "dim 2"))
        ax.set_title(names[k], fontsize="medium" if _axes_width_in(ax) > 2.5 else "small")
    return fig


def _axes_width_in(ax: Any) -> float:
    """Width of an Axes in inches (to pick a font size that fits)."""
    return float(ax.get_position().width * ax.figure.get_figwidth())


def plot_history(history: Any, ax: Any = None, **kwargs: Any) -> Any:
    """Plot a :class:`~flowkit.training.History` (delegates to ``History.plot``); returns the Axes."""
    if not callable(getattr(history, "plot", None)):
        raise TypeError(f"history must be a flowkit.training.History, got {type(history).__name__}")
    return history.plot(ax=ax, **kwargs)
