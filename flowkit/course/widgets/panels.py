"""Building blocks shared by the explorers: colours, the density grid and the 2-D flow panels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...distributions import StandardNormal
from ...flow import Flow
from ...grid import grid_points
from ...transforms.base import Transform
from .canvas import figure

# Okabe–Ito colour-blind-safe palette for lines and points; viridis for every heatmap.
BLUE, ORANGE, VERMILLION, GREEN, GREY = "#0072B2", "#E69F00", "#D55E00", "#009E73", "#555555"
CMAP = "viridis"
SEED = 0
EXPLORER_SIZE = (8.0, 3.5)  # inches at 100 dpi: 800 × 350 px, inside a ~850 px output area


def readout(*parts: str, warning: str = "") -> str:
    """The HTML line an explorer shows under its sliders: ``parts`` joined by " · "."""
    body = " &nbsp;·&nbsp; ".join(parts)
    if warning:
        body += f' &nbsp; <span style="color:{VERMILLION}">{warning}</span>'
    return f'<span style="font-size:90%">{body}</span>'


def finish(fig: Any) -> None:
    """Lay out once (with placeholder texts in place); redraws never re-run the layout solver."""
    fig.tight_layout(pad=0.6, w_pad=1.0)


def box_axes(ax: Any, bounds: float, title: str, xlabel: str = "x₁", ylabel: str = "x₂") -> None:
    ax.set_xlim(-bounds, bounds)
    ax.set_ylim(-bounds, bounds)
    ax.set_aspect("equal")
    ax.set_autoscale_on(False)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, labelpad=1)
    ax.set_ylabel(ylabel, labelpad=1)
    ax.tick_params(labelsize=8)


def density_image(ax: Any, bounds: float, resolution: int) -> Any:
    return ax.imshow(np.zeros((resolution, resolution), np.float32), origin="lower", cmap=CMAP,
                     extent=(-bounds, bounds, -bounds, bounds), interpolation="nearest",
                     vmin=0.0, vmax=1.0, aspect="equal")


def set_density(image: Any, density: np.ndarray, cell_area: float) -> float:
    """Push a density image into ``image``; returns its midpoint-rule integral."""
    image.set_data(density)
    top = float(density.max()) if density.size else 0.0
    image.set_clim(0.0, top if top > 0 and math.isfinite(top) else 1.0)
    return float(density.sum(dtype=np.float64) * cell_area)


class Grid:
    """Cell centres of the density grid, built once per explorer."""

    def __init__(self, bounds: float, resolution: int) -> None:
        self.bounds, self.resolution = float(bounds), int(resolution)
        self.points, self.xs, self.ys, self.cell_area = grid_points(self.bounds, self.resolution)

    def image(self, logp: Tensor) -> np.ndarray:
        return torch.exp(logp).view(self.resolution, self.resolution).numpy()


def base_samples(n: int, dim: int = 2) -> Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(SEED))


def flow_panels(title: str, transform: Transform, bounds: float, resolution: int, n_samples: int,
                figsize: tuple[float, float] = EXPLORER_SIZE, extra_axes: int = 0,
                width_ratios: list[float] | None = None):
    """Common layout of the 2-D flow explorers: density heatmap | pushed samples [| extra]."""
    grid = Grid(bounds, resolution)
    z = base_samples(n_samples)
    flow = Flow(transform, StandardNormal(2))
    fig, axes = figure(2 + extra_axes, figsize, width_ratios=width_ratios)
    ax_d, ax_s = axes[0], axes[1]
    box_axes(ax_d, bounds, f"{title}: exact density p_x (Flow.log_prob)")
    box_axes(ax_s, bounds, f"{n_samples} samples x = f(z), z ~ N(0, I)")
    image = density_image(ax_d, bounds, resolution)
    scatter = ax_s.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=3, color=BLUE, alpha=0.45,
                           linewidths=0, label="x = f(z)")
    return grid, z, flow, fig, axes, image, scatter
