"""How a 2-D flow deforms space: a regular grid and base samples pushed through each layer.

The picture behind the change of variables formula: where the grid's cells grow, the density
``p_x(x) = p_z(z) / |det ∂f/∂z|`` thins out; where they shrink, it piles up (Rezende & Mohamed
2015, *Variational Inference with Normalizing Flows*, Fig. 1 shows the same for planar flows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..validation import module_dtype
from .mosaic import FIG_WIDTH
from .palette import OKABE_ITO, QUADRANT_COLORS

__all__ = ["plot_grid_deformation"]


def _stages(transform: Any, z: Tensor) -> tuple[list[Tensor], list[str]]:
    """The points after each layer (``z`` first) and each stage's panel title."""
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
    """Square axis limits around the central 99.6 % of the finite points (8 % margin)."""
    finite = pts[np.isfinite(pts).all(axis=1)]
    if finite.shape[0] == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo = np.quantile(finite, 0.002, axis=0)
    hi = np.quantile(finite, 0.998, axis=0)
    c = (lo + hi) / 2
    r = max(float((hi - lo).max()) / 2 * 1.08, 1e-3)
    return (c[0] - r, c[0] + r, c[1] - r, c[1] + r)


def _axes_width_in(ax: Any) -> float:
    """Width of an Axes in inches (to pick a font size that fits)."""
    return float(ax.get_position().width * ax.figure.get_figwidth())


def _check_arguments(transform: Any, bounds: float, n_lines: int, points_per_line: int, n_samples: int) -> None:
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


def _base_points(bounds: float, n_lines: int, points_per_line: int, samples: Tensor) -> Tensor:
    """Horizontal lines, then vertical lines, then the base samples, as one float64 batch."""
    b = float(bounds)
    t = torch.linspace(-b, b, points_per_line, dtype=torch.float64)
    levels = torch.linspace(-b, b, n_lines, dtype=torch.float64)
    horiz = torch.stack([t.repeat(n_lines), levels.repeat_interleave(points_per_line)], dim=1)
    vert = torch.stack([levels.repeat_interleave(points_per_line), t.repeat(n_lines)], dim=1)
    return torch.cat([horiz, vert, samples])


def _push(transform: Any, z: Tensor) -> tuple[list[Tensor], list[str]]:
    """:func:`_stages` in the transform's dtype and device, in eval mode, without gradients."""
    dtype = (module_dtype(transform) if isinstance(transform, nn.Module) else None) or torch.float32
    z = z.to(dtype)
    if not isinstance(transform, nn.Module):
        with torch.no_grad():
            return _stages(transform, z)
    z = z.to(next((p.device for p in transform.parameters()), torch.device("cpu")))
    was_training = transform.training
    transform.eval()
    try:
        with torch.no_grad():
            return _stages(transform, z)
    finally:
        transform.train(was_training)


def _panel_indices(n_stages: int, max_panels: int | None) -> list[int]:
    """The stages to show: all, or ``max_panels`` evenly spaced ones (always the first and last)."""
    idx = list(range(n_stages))
    if max_panels is not None:
        if isinstance(max_panels, bool) or not isinstance(max_panels, int) or max_panels < 2:
            raise ValueError(f"max_panels must be an int >= 2, got {max_panels!r}")
        if len(idx) > max_panels:
            idx = sorted({round(i * (n_stages - 1) / (max_panels - 1)) for i in range(max_panels)})
    return idx


def _panel_axes(axes: Any, n_panels: int, ncols: int | None) -> tuple[Any, list[Any]]:
    """The figure and one Axes per panel: the given ``axes`` or a new figure ≤ ``FIG_WIDTH`` wide."""
    if axes is not None:
        ax_list = list(np.asarray(axes, dtype=object).ravel())
        if len(ax_list) < n_panels:
            raise ValueError(f"axes has {len(ax_list)} Axes but {n_panels} panels are needed")
        return ax_list[0].figure, ax_list
    import matplotlib.pyplot as plt

    nc = min(n_panels, ncols if ncols is not None else 4)
    nr = math.ceil(n_panels / nc)
    side = min(3.2, FIG_WIDTH / nc)
    fig, ax_arr = plt.subplots(nr, nc, figsize=(side * nc, side * nr + 0.5), squeeze=False, constrained_layout=True)
    ax_list = list(ax_arr.ravel())
    for extra in ax_list[n_panels:]:
        extra.set_visible(False)
    return fig, ax_list


def _draw_panel(ax: Any, pts: np.ndarray, n_lines: int, points_per_line: int, sample_colors: list | None) -> None:
    """One stage: blue (horizontal) and orange (vertical) grid lines, the samples, square limits."""
    n_line_pts = n_lines * points_per_line
    for line in pts[:n_line_pts].reshape(n_lines, points_per_line, 2):
        ax.plot(line[:, 0], line[:, 1], color=OKABE_ITO[0], lw=0.7, alpha=0.8)
    for line in pts[n_line_pts:2 * n_line_pts].reshape(n_lines, points_per_line, 2):
        ax.plot(line[:, 0], line[:, 1], color=OKABE_ITO[1], lw=0.7, alpha=0.8)
    if sample_colors is not None:
        sp = pts[2 * n_line_pts:]
        ax.scatter(sp[:, 0], sp[:, 1], s=3, c=sample_colors, alpha=0.6, linewidths=0, zorder=3)
    x0, x1, y0, y1 = _square_limits(pts)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")


def _label_panel(ax: Any, k: int, last: int, title: str) -> None:
    """z-axis labels on the first panel, x on the last, "dim" in between; a title that fits."""
    ax.set_xlabel("$z_1$" if k == 0 else ("$x_1$" if k == last else "dim 1"))
    ax.set_ylabel("$z_2$" if k == 0 else ("$x_2$" if k == last else "dim 2"))
    ax.set_title(title, fontsize="medium" if _axes_width_in(ax) > 2.5 else "small")


def plot_grid_deformation(transform: Any, bounds: float = 3.0, n_lines: int = 15, points_per_line: int = 200,
                          axes: Any = None, max_panels: int | None = None, *, n_samples: int = 1000,
                          seed: int = 0, ncols: int | None = None) -> Any:
    """Show how a flow deforms space: a regular grid pushed through each layer of a ``Compose``.

    Draws ``n_lines`` horizontal (blue) and vertical (orange) lines over ``[-bounds, bounds]²``
    in z-space plus ``n_samples`` base samples ``z ~ N(0, I)`` coloured by quadrant, and
    pushes them through ``transform`` in the generative direction, one panel per stage
    ``z₀ = z, z_k = f_k(z_{k−1})``: ``"z (base)"``, ``"after layer 1 (Planar)"``, …,
    ``"x = after layer K (…)"``. A ``Compose`` of K layers gives K + 1 panels (a single
    transform gives 2). A small grid cell of area ``A`` near ``z`` ends up with area
    ``≈ |det ∂f/∂z| · A``: the volume factor of the change of variables formula.

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

    Example:
        >>> import matplotlib.pyplot as plt, flowkit as fk
        >>> stretch = fk.Affine(2, log_scale=[1.0, 0.0])      # x₁ = e·z₁, x₂ = z₂
        >>> fig = plot_grid_deformation(fk.Compose([stretch, fk.Reverse(2)]), bounds=2.0, n_lines=5)
        >>> [ax.get_title() for ax in fig.axes if ax.get_visible()]
        ['z (base)', 'after layer 1 (Affine)', 'x = after layer 2 (Reverse)']
        >>> len(fig.axes[0].lines)                           # 5 horizontal + 5 vertical grid lines
        10
        >>> round(float(fig.axes[1].lines[0].get_xdata().max()), 3)   # z₁ = 2 is stretched to 2e
        5.437
        >>> plt.close(fig)
    """
    from ..flow import Flow

    if isinstance(transform, Flow):
        transform = transform.transform
    _check_arguments(transform, bounds, n_lines, points_per_line, n_samples)
    samples = torch.randn(n_samples, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    outs, names = _push(transform, _base_points(bounds, n_lines, points_per_line, samples))
    idx = _panel_indices(len(outs), max_panels)
    fig, ax_list = _panel_axes(axes, len(idx), ncols)
    quad = (samples[:, 0] >= 0).long() + 2 * (samples[:, 1] >= 0).long()
    sample_colors = list(np.array(QUADRANT_COLORS, dtype=object)[quad.numpy()]) if n_samples else None
    for ax, k in zip(ax_list, idx, strict=False):  # a new figure may have spare (hidden) Axes
        _draw_panel(ax, outs[k].detach().double().cpu().numpy(), n_lines, points_per_line, sample_colors)
        _label_panel(ax, k, len(outs) - 1, names[k])
    return fig
