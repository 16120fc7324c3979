"""The :class:`Explorer` object behind every live slider figure, and the helpers the explorers share."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor

from ...distributions import StandardNormal
from ...flow import Flow
from ...grid import grid_points
from ...transforms.base import Transform

# Okabe–Ito colour-blind-safe palette for lines and points; viridis for every heatmap.
_BLUE, _ORANGE, _VERMILLION, _GREEN, _GREY = "#0072B2", "#E69F00", "#D55E00", "#009E73", "#555555"
_CMAP = "viridis"
_SEED = 0


# ----------------------------------------------------------------------------------------------
# The Explorer object
# ----------------------------------------------------------------------------------------------
class Explorer:
    """A figure whose artists follow a set of sliders.

    Attributes:
        name: the explorer's name (used in messages).
        fig: the matplotlib Figure (built once, updated in place).
        sliders: ``name → ipywidgets.FloatSlider``.
        artists: ``name → matplotlib artist`` updated in place by every refresh.
        state: the latest computed numbers (``integral``, ``det``, ``logdet``, …) plus
            ``values`` (the slider values used) and ``update_ms`` (compute + artist updates).
        widget: the ipywidgets container to display — sliders + ``fig.canvas`` when the canvas
            is an ipympl widget, otherwise the sliders alone.
    """

    def __init__(self, name: str, fig: Any, sliders: Mapping[str, Any], artists: Mapping[str, Any],
                 compute: Callable[[dict[str, float]], dict[str, Any]],
                 constrain: Callable[[dict[str, float]], dict[str, float]] | None = None) -> None:
        self.name = name
        self.fig = fig
        self.sliders: dict[str, Any] = dict(sliders)
        self.artists: dict[str, Any] = dict(artists)
        self.state: dict[str, Any] = {}
        self._compute = compute
        self._constrain = constrain
        self._holding = 0
        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")
        self.widget = _layout(self.sliders, fig)
        self.refresh()

    # -- values -------------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """Current slider values."""
        return {k: float(s.value) for k, s in self.sliders.items()}

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        """Set several sliders without one refresh per slider."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1

    def _on_change(self, change: Any) -> None:
        if not self._holding:
            self.refresh()

    def update(self, **values: float) -> dict[str, Any]:
        """Set slider values (clipped to each slider's range by ipywidgets) and redraw once.

        Raises:
            ValueError: for a name that is not one of this explorer's sliders.
        """
        unknown = sorted(set(values) - set(self.sliders))
        if unknown:
            raise ValueError(f"{self.name}: unknown slider name(s) {unknown}; "
                             f"valid names are {list(self.sliders)}")
        with self._hold():
            for k, v in values.items():
                self.sliders[k].value = float(v)
        return self.refresh()

    def refresh(self) -> dict[str, Any]:
        """Recompute from the current slider values, update the artists in place, ``draw_idle``."""
        t0 = time.perf_counter()
        values = self.values
        if self._constrain is not None:
            fixed = self._constrain(values)
            if fixed:
                with self._hold():  # show the value actually used on the slider, without recursing
                    for k, v in fixed.items():
                        self.sliders[k].value = v
                values.update({k: float(self.sliders[k].value) for k in fixed})
        with torch.no_grad():
            state = self._compute(values)
        state["values"] = values
        state["update_ms"] = 1e3 * (time.perf_counter() - t0)
        self.state = state
        self.fig.canvas.draw_idle()
        return state

    # -- display --------------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def close(self) -> None:
        """Close the figure (frees it from pyplot) and the slider widgets."""
        import matplotlib.pyplot as plt
        plt.close(self.fig)
        for s in self.sliders.values():
            s.unobserve(self._on_change, names="value")
            s.close()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.3g}" for k, v in self.values.items())
        return f"<Explorer {self.name}: {vals}>"


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _threads(threads: int | None) -> None:
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _slider(description: str, value: float, lo: float, hi: float, step: float = 0.01) -> Any:
    import ipywidgets as W
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=True, readout_format=".2f",
                         style={"description_width": "70px"}, layout=W.Layout(width="300px"))


def _layout(sliders: Mapping[str, Any], fig: Any) -> Any:
    import ipywidgets as W
    controls = W.Box(list(sliders.values()), layout=W.Layout(flex_flow="row wrap"))
    if isinstance(fig.canvas, W.DOMWidget):  # ipympl: the canvas is itself a widget
        return W.VBox([controls, fig.canvas])
    return controls


def _figure(ncols: int, figsize: tuple[float, float], width_ratios: list[float] | None = None):
    import matplotlib.pyplot as plt
    with plt.ioff():  # under ipympl: don't auto-display; the canvas is shown inside .widget
        fig, axes = plt.subplots(1, ncols, figsize=figsize, width_ratios=width_ratios, squeeze=False)
    canvas = fig.canvas
    for attr, value in (("header_visible", False), ("footer_visible", False),
                        ("toolbar_position", "left"), ("resizable", False), ("capture_scroll", False)):
        if hasattr(canvas, attr):
            try:
                setattr(canvas, attr, value)
            except Exception:  # pragma: no cover - an older ipympl with other trait values
                pass
    return fig, list(axes[0])


def _finish(fig: Any) -> None:
    # Lay out once (with placeholder texts in place); no layout engine afterwards, so a redraw
    # does not re-run the layout solver.
    fig.tight_layout()


def _box_axes(ax: Any, bounds: float, title: str, xlabel: str = "x₁", ylabel: str = "x₂") -> None:
    ax.set_xlim(-bounds, bounds)
    ax.set_ylim(-bounds, bounds)
    ax.set_aspect("equal")
    ax.set_autoscale_on(False)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _density_image(ax: Any, bounds: float, resolution: int) -> Any:
    return ax.imshow(np.zeros((resolution, resolution), np.float32), origin="lower", cmap=_CMAP,
                     extent=(-bounds, bounds, -bounds, bounds), interpolation="nearest",
                     vmin=0.0, vmax=1.0, aspect="equal")


def _set_density(image: Any, density: np.ndarray, cell_area: float) -> float:
    """Push a density image into ``image``; returns its midpoint-rule integral."""
    image.set_data(density)
    top = float(density.max()) if density.size else 0.0
    image.set_clim(0.0, top if top > 0 and math.isfinite(top) else 1.0)
    return float(density.sum(dtype=np.float64) * cell_area)


class _Grid:
    """Cell centres of the density grid, built once per explorer."""

    def __init__(self, bounds: float, resolution: int) -> None:
        self.bounds, self.resolution = float(bounds), int(resolution)
        self.points, self.xs, self.ys, self.cell_area = grid_points(self.bounds, self.resolution)

    def image(self, logp: Tensor) -> np.ndarray:
        return torch.exp(logp).view(self.resolution, self.resolution).numpy()


def _base_samples(n: int, dim: int = 2) -> Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(_SEED))


def _flow_panels(title: str, transform: Transform, bounds: float, resolution: int, n_samples: int,
                 figsize: tuple[float, float] = (9.0, 4.0), extra_axes: int = 0,
                 width_ratios: list[float] | None = None):
    """Common layout of the 2-D flow explorers: density heatmap | pushed samples [| extra]."""
    grid = _Grid(bounds, resolution)
    z = _base_samples(n_samples)
    flow = Flow(transform, StandardNormal(2))
    fig, axes = _figure(2 + extra_axes, figsize, width_ratios)
    ax_d, ax_s = axes[0], axes[1]
    _box_axes(ax_d, bounds, f"{title}: exact density p_x (Flow.log_prob)")
    _box_axes(ax_s, bounds, f"{n_samples} samples x = f(z), z ~ N(0, I)")
    image = _density_image(ax_d, bounds, resolution)
    scatter = ax_s.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=3, color=_BLUE, alpha=0.45,
                           linewidths=0, label="x = f(z)")
    integral_text = ax_d.text(0.02, 0.02, "", transform=ax_d.transAxes, color="white", fontsize=9,
                              va="bottom", ha="left")
    return grid, z, flow, fig, axes, image, scatter, integral_text
