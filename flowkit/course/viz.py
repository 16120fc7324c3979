"""Matplotlib plots for 2-D flows: densities, samples, energies, grid deformations, training curves.

Every function takes an optional ``ax`` (or ``axes``), labels what it draws (axis
labels and a title) and returns the artist(s) it created, so they can be updated in
place (``image.set_data(...)``, ``points.set_offsets(...)``; the live explorers of
:mod:`flowkit.widgets` keep their own precomputed grids for speed). Colour maps default to the
perceptually uniform, colour-blind-safe ``viridis``; categorical colours are from
the Okabe–Ito palette (:mod:`.palette`). :func:`plot_grid_deformation` lives in
:mod:`.deformation` and the digit mosaics in :mod:`.mosaic`; all are importable from here.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..grid import _as_bounds, evaluate_on_grid
from ..validation import module_dtype
from .deformation import plot_grid_deformation
from .diagrams import plot_stage_diagram, shape_str
from .mosaic import DIGITS_CMAP, FIG_WIDTH, digit_mosaic, show_digits
from .palette import OKABE_ITO

__all__ = [
    "plot_density", "plot_samples", "plot_energy", "plot_grid_deformation", "plot_history",
    "digit_mosaic", "show_digits", "DIGITS_CMAP", "FIG_WIDTH", "plot_stage_diagram", "shape_str",
]

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

    For a flow ``x = f(z)``, ``log p(x) = log p_z(f⁻¹(x)) + log|det ∂f⁻¹/∂x|`` (the change of
    variables formula); the grid's cell centres ``x_ij`` with cell area ``Δ`` satisfy
    ``Σ_ij p(x_ij) Δ ≈ ∫ p = 1`` when the box holds nearly all the mass.

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

    Example:
        >>> import matplotlib.pyplot as plt, flowkit as fk
        >>> flow = fk.Flow(fk.Affine(2, log_scale=0.5), fk.StandardNormal(2))   # x = e^0.5 z
        >>> img = plot_density(flow, bounds=8.0, resolution=200)
        >>> cell_area = (16.0 / 200) ** 2
        >>> round(float(img.get_array().sum()) * cell_area, 4)                  # Σ p(x) Δ ≈ 1
        1.0
        >>> img.axes.get_title()
        'density p(x)'
        >>> plt.close(img.figure)
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
    (``log=True``: ``log p̃ − max``). For an energy ``U`` pass ``lambda x: -U(x)``
    (Boltzmann: ``p(x) = e^{−U(x)} / Z``).

    Returns:
        the ``AxesImage``.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> img = plot_energy(lambda x: 7.0 - 0.5 * (x ** 2).sum(1), bounds=4.0)   # Z unknown
        >>> float(img.get_array().max())                       # scaled to peak 1 on the grid
        1.0
        >>> img.axes.get_title()
        'unnormalised target p̃(x) (scaled to max 1)'
        >>> plt.close(img.figure)
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

    Example:
        >>> import matplotlib.pyplot as plt, torch, flowkit as fk
        >>> x, _ = fk.Affine(2, shift=1.0).forward(torch.randn(500, 2))
        >>> points = plot_samples(x, bounds=4.0)
        >>> points.get_offsets().shape, points.axes.get_title(), points.axes.get_xlim() == (-4.0, 4.0)
        ((500, 2), 'samples (n = 500)', True)
        >>> plt.close(points.figure)
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


def plot_history(history: Any, ax: Any = None, **kwargs: Any) -> Any:
    """Plot a :class:`~flowkit.training.History` (delegates to ``History.plot``); returns the Axes.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from flowkit.train import History
        >>> ax = plot_history(History(step=[1, 2, 3], loss=[2.0, 1.6, 1.4], val_step=[0, 3], val_nll=[2.1, 1.5]))
        >>> ax.get_title(), ax.get_ylabel()
        ('maximum-likelihood training', 'negative log-likelihood (nats)')
        >>> [line.get_label() for line in ax.lines]
        ['train NLL, per step', 'validation NLL']
        >>> plt.close(ax.figure)
    """
    if not callable(getattr(history, "plot", None)):
        raise TypeError(f"history must be a flowkit.training.History, got {type(history).__name__}")
    return history.plot(ax=ax, **kwargs)
