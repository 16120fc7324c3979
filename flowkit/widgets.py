"""Live slider explorers for the course notebooks (``%matplotlib widget``, i.e. ipympl).

Each public function builds one :class:`Explorer`::

    from flowkit import widgets
    ex = widgets.planar_explorer()
    ex                      # displays the sliders and the figure
    ex.update(w1=1.5)       # set sliders from code (same code path as dragging them)
    ex.state["integral"]    # the latest numbers, for check cells

========================  ===============================================  =============================
function                  sliders                                          ``state`` keys (besides values)
========================  ===============================================  =============================
change_of_variables_1d    skew, tail, scale                                integral, logdet_at_0, …
linear_map_2d             a, b, c, d                                       det, area, logdet, invertible, integral
planar_explorer           u1, u2, w1, w2, b                                integral, wu_hat, u_hat, logdet_mean
radial_explorer           z0_1, z0_2, alpha, beta                          integral, alpha, beta, beta_clamped
coupling_explorer         s0, s1, t0, t1                                   integral, jacobian, det, logdet
========================  ===============================================  =============================

Design
------
* **In-place updates.** The figure is built once. A slider change recomputes the numbers and
  pushes them into the existing artists (``AxesImage.set_data``, ``Line2D.set_data``,
  ``PathCollection.set_offsets``, ``Polygon.set_xy``, ``StepPatch.set_data``,
  ``Text.set_text``), then calls ``fig.canvas.draw_idle()``. Nothing is cleared or re-plotted,
  which is what keeps dragging a slider smooth.
* **Fixed base samples.** Every explorer draws its base samples once from a fixed seed, so
  between two updates only the *map* changes — the points you see move, they are not redrawn.
* **Exact densities.** 2-D densities are ``exp(Flow.log_prob)`` on a ``resolution²`` grid
  (exact inverse, change of variables); ``state["integral"]`` is their midpoint-rule integral
  over the plotted box, ≈ 1 as long as the flow keeps its mass inside the box and the density is
  wider than a grid cell. It drops below 1, honestly, when you push mass out of view or squeeze
  it into a ridge thinner than a cell (e.g. planar with ``wᵀû → −1``, a nearly singular ``A``).
* **One torch thread.** Creating an explorer calls ``torch.set_num_threads(threads)`` with
  ``threads=1`` by default. The work per update is small (a 40 000-point grid, 2 000 samples):
  with several threads each of the ~100 tiny tensor ops pays thread wake-up/synchronisation costs
  that exceed the arithmetic, and on shared 2-core course machines the extra threads also fight
  the Jupyter server and the browser. Measured on the 2-core course machine: the planar
  explorer's update takes ≈ 10 ms with 1 thread and ≈ 24 ms with 2. The setting is
  process-wide (it also affects later training cells); pass ``threads=None`` to leave it alone.
* **Any backend.** Under ipympl, ``.widget`` is the sliders plus the figure canvas (itself a
  widget); under any other backend (Agg in tests) it is the sliders alone. Note that Agg's
  ``draw_idle`` renders synchronously, whereas ipympl's only schedules a redraw.

Run ``python benchmarks/widget_latency.py`` for the per-update latency of every explorer.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor

from .base import Transform
from .distributions import StandardNormal
from .flow import Flow
from .grid import grid_points
from .planar import Planar
from .radial import Radial

__all__ = [
    "Explorer",
    "change_of_variables_1d",
    "linear_map_2d",
    "planar_explorer",
    "radial_explorer",
    "coupling_explorer",
    "HandCoupling",
]

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


def _softplus_inv(y: float) -> float:
    """``softplus⁻¹(y) = log(eᵞ − 1)`` for ``y > 0``, stable for small and large ``y``."""
    return y + math.log(-math.expm1(-y))


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


# ----------------------------------------------------------------------------------------------
# 1. Change of variables in 1-D
# ----------------------------------------------------------------------------------------------
def _sas_forward(z: np.ndarray, skew: float, tail: float, scale: float) -> np.ndarray:
    return scale * np.sinh((np.arcsinh(z) + skew) / tail)


def _sas_inverse(x: np.ndarray, skew: float, tail: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``z = f⁻¹(x)`` and ``|d f⁻¹/dx|`` for the sinh-arcsinh map (both in closed form)."""
    u = x / scale
    inner = tail * np.arcsinh(u) - skew
    z = np.sinh(inner)
    dzdx = np.cosh(inner) * tail / (scale * np.sqrt(1.0 + u * u))
    return z, dzdx


_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def change_of_variables_1d(*, n_samples: int = 20000, bins: int = 100, window: float = 6.0,
                           threads: int | None = 1) -> Explorer:
    r"""The 1-D change of variables formula on a sinh-arcsinh map.

    ``x = f(z) = σ · sinh((asinh z + ε) / δ)`` with ``z ~ N(0, 1)``: ``ε`` (*skew*) shifts and
    skews, ``δ > 0`` (*tail*) makes tails heavier (``δ < 1``) or lighter (``δ > 1``), ``σ`` (*scale*)
    stretches. ``f`` is strictly increasing with the closed-form inverse
    ``f⁻¹(x) = sinh(δ · asinh(x/σ) − ε)``, so the formula density is exact:

    .. math:: p_x(x) = p_z(f^{-1}(x)) \left|\frac{d f^{-1}}{dx}\right|,\quad
              \frac{d f^{-1}}{dx} = \frac{\delta \cosh(\delta\,\mathrm{asinh}(x/\sigma) - \varepsilon)}
                                         {\sigma\sqrt{1 + (x/\sigma)^2}}.

    Left panel: the map ``f``. Right panel: the formula density (line) over a histogram of the
    pushed samples (``StepPatch``, normalised by *all* samples so both show the same mass).
    ``state["integral"]`` is a trapezoid integral of the formula density over ``[-200, 200]``
    (≈ 1). Plain NumPy: there is nothing for torch to do on a few thousand scalars.
    """
    _threads(threads)
    z = np.random.default_rng(_SEED).standard_normal(n_samples)
    edges = np.linspace(-window, window, bins + 1)
    x_plot = np.linspace(-window, window, 801)
    x_int = np.linspace(-200.0, 200.0, 40001)  # wide, fine: the integral check of the formula
    z_plot = np.linspace(-3.5, 3.5, 401)

    sliders = {
        "skew": _slider("skew ε", 0.5, -1.0, 1.0),
        "tail": _slider("tail δ", 0.8, 0.6, 2.0),
        "scale": _slider("scale σ", 1.0, 0.5, 2.0),
    }
    fig, (ax_f, ax_p) = _figure(2, (9.0, 4.0))
    ax_f.plot(z_plot, z_plot, ls="--", color=_GREY, lw=1, label="identity")
    (map_line,) = ax_f.plot(z_plot, z_plot, color=_BLUE, lw=2, label="x = f(z)")
    ax_f.set_xlim(z_plot[0], z_plot[-1])
    ax_f.set_ylim(-window, window)
    ax_f.set_autoscale_on(False)
    ax_f.set_title("the map x = σ·sinh((asinh z + ε)/δ)", fontsize=10)
    ax_f.set_xlabel("z")
    ax_f.set_ylabel("x")
    ax_f.legend(loc="upper left", fontsize=8)

    hist = ax_p.stairs(np.zeros(bins), edges, fill=True, color=_BLUE, alpha=0.35,
                       label=f"histogram of {n_samples} x = f(z)")
    ax_p.plot(x_plot, _phi(x_plot), ls="--", color=_GREY, lw=1, label="p_z (base)")
    (dens_line,) = ax_p.plot(x_plot, _phi(x_plot), color=_VERMILLION, lw=2,
                             label="p_z(f⁻¹(x))·|df⁻¹/dx|")
    ax_p.set_xlim(-window, window)
    ax_p.set_ylim(0, 1.0)
    ax_p.set_autoscale_on(False)
    ax_p.set_title("density of x: formula vs samples", fontsize=10)
    ax_p.set_xlabel("x")
    ax_p.set_ylabel("density")
    ax_p.legend(loc="upper right", fontsize=8)
    text = ax_p.text(0.02, 0.97, "∫ p_x dx = 1.0000", transform=ax_p.transAxes, va="top", fontsize=9)
    _finish(fig)

    def compute(v: dict[str, float]) -> dict[str, Any]:
        skew, tail, scale = v["skew"], v["tail"], v["scale"]
        map_line.set_data(z_plot, _sas_forward(z_plot, skew, tail, scale))
        zz, dz = _sas_inverse(x_plot, skew, tail, scale)
        dens = _phi(zz) * dz
        dens_line.set_data(x_plot, dens)
        xs = _sas_forward(z, skew, tail, scale)
        counts, _ = np.histogram(xs, bins=edges)
        heights = counts / (n_samples * np.diff(edges))
        hist.set_data(values=heights)
        zi, dzi = _sas_inverse(x_int, skew, tail, scale)
        integral = float(_trapezoid(_phi(zi) * dzi, x_int))
        top = max(float(dens.max()), float(heights.max()))
        ax_p.set_ylim(0.0, 1.15 * top)
        # log f'(0): f'(z) = σ cosh((asinh z + ε)/δ) / (δ √(1+z²))
        logdet0 = math.log(scale * math.cosh(skew / tail) / tail)
        text.set_text(f"∫ p_x dx = {integral:.4f}\nlog f′(0) = {logdet0:+.3f}")
        return {"integral": integral, "logdet_at_0": logdet0,
                "sample_mean": float(xs.mean()),
                "mass_in_window": float(counts.sum() / n_samples)}

    return Explorer("change_of_variables_1d", fig, sliders,
                    {"map": map_line, "density": dens_line, "hist": hist, "text": text}, compute)


# ----------------------------------------------------------------------------------------------
# 2. Linear maps in 2-D
# ----------------------------------------------------------------------------------------------
_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_SINGULAR_TOL = 1e-6


def _shoelace(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def linear_map_2d(*, bounds: float = 5.0, resolution: int = 200, n_samples: int = 2000,
                  threads: int | None = 1) -> Explorer:
    r"""``x = A z`` with ``A = [[a, b], [c, d]]`` acting on ``z ~ N(0, I)`` and on the unit square.

    Left: the exact density ``p_x(x) = N(A⁻¹x; 0, I) / |det A|`` and the image of the unit square.
    Right: the pushed samples, the unit square (dashed) and its image ``A·[0,1]²`` (filled), whose
    shoelace area equals ``|det A|`` — the volume factor in the change of variables formula.
    When ``|det A| ≈ 0`` the map is not invertible: the density is undefined, the heatmap is
    blanked and a warning is shown (``state["invertible"] = False``, ``integral = nan``).
    """
    _threads(threads)
    grid = _Grid(bounds, resolution)
    z = _base_samples(n_samples)
    pts = grid.points.numpy().astype(np.float64)
    sliders = {"a": _slider("a", 1.2, -2.0, 2.0), "b": _slider("b", 0.5, -2.0, 2.0),
               "c": _slider("c", -0.3, -2.0, 2.0), "d": _slider("d", 0.8, -2.0, 2.0)}

    from matplotlib.patches import Polygon

    fig, (ax_d, ax_s) = _figure(2, (9.0, 4.0))
    _box_axes(ax_d, bounds, "exact density p_x(x) = N(A⁻¹x; 0, I) / |det A|")
    _box_axes(ax_s, bounds, f"{n_samples} samples x = A z and A·(unit square)")
    image = _density_image(ax_d, bounds, resolution)
    (outline,) = ax_d.plot([], [], color="white", lw=1.2)
    scatter = ax_s.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=3, color=_BLUE, alpha=0.4, linewidths=0)
    ax_s.add_patch(Polygon(_SQUARE, closed=True, fill=False, ls="--", ec=_GREY, lw=1, label="unit square"))
    poly = Polygon(_SQUARE, closed=True, fc=_ORANGE, ec=_VERMILLION, alpha=0.5, lw=1.5,
                   label="A·(unit square)")
    ax_s.add_patch(poly)
    ax_s.legend(loc="upper right", fontsize=8)
    text = ax_s.text(0.02, 0.02, "det A = +0.000\nshoelace area = 0.000", transform=ax_s.transAxes,
                     fontsize=9, va="bottom", bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
    integral_text = ax_d.text(0.02, 0.02, "", transform=ax_d.transAxes, color="white", fontsize=9)
    _finish(fig)

    def compute(v: dict[str, float]) -> dict[str, Any]:
        A = np.array([[v["a"], v["b"]], [v["c"], v["d"]]])
        det = float(np.linalg.det(A))
        verts = _SQUARE @ A.T
        poly.set_xy(verts)
        closed = np.vstack([verts, verts[:1]])
        outline.set_data(closed[:, 0], closed[:, 1])
        area = _shoelace(verts)
        x = z.numpy() @ A.T
        scatter.set_offsets(x)
        invertible = abs(det) > _SINGULAR_TOL * max(1.0, float((A * A).sum()))
        if invertible:
            zz = pts @ np.linalg.inv(A).T
            dens = (np.exp(-0.5 * (zz * zz).sum(1)) / (2 * math.pi * abs(det))).astype(np.float32)
            integral = _set_density(image, dens.reshape(resolution, resolution), grid.cell_area)
            logdet = math.log(abs(det))
            text.set_text(f"det A = {det:+.3f}\nshoelace area = {area:.3f} = |det A|")
            text.set_color("black")
            integral_text.set_text(f"∫ p over box = {integral:.4f}")
        else:
            _set_density(image, np.zeros((resolution, resolution), np.float32), grid.cell_area)
            integral, logdet = float("nan"), float("-inf")
            text.set_text(f"det A = {det:+.2e}: not invertible: the density is undefined")
            text.set_color(_VERMILLION)
            integral_text.set_text("density undefined")
        return {"det": det, "area": area, "logdet": logdet, "invertible": invertible,
                "integral": integral, "matrix": A.tolist()}

    return Explorer("linear_map_2d", fig, sliders,
                    {"density": image, "samples": scatter, "square": poly, "outline": outline,
                     "text": text, "integral_text": integral_text}, compute)


# ----------------------------------------------------------------------------------------------
# 3. Planar flow
# ----------------------------------------------------------------------------------------------
def _line_through(w: np.ndarray, b: float, length: float) -> tuple[list[float], list[float]]:
    """Endpoints of the line ``wᵀp + b = 0`` (empty when ``w ≈ 0``)."""
    nw = float(np.hypot(*w))
    if nw < 1e-8:
        return [], []
    p0 = -b * w / nw**2
    d = np.array([-w[1], w[0]]) / nw
    p, q = p0 - length * d, p0 + length * d
    return [p[0], q[0]], [p[1], q[1]]


def planar_explorer(*, bounds: float = 5.0, resolution: int = 200, n_samples: int = 2000,
                    threads: int | None = 1) -> Explorer:
    r"""A :class:`flowkit.Planar` flow ``x = z + û tanh(wᵀz + b)`` on ``N(0, I)``.

    The sliders set the *raw* parameters ``u, w, b``. The flow uses the constrained
    ``û = u + (m(wᵀu) − wᵀu) w/‖w‖²``, ``m(a) = −1 + softplus(a)``, so ``wᵀû > −1`` and the map is
    invertible whatever the sliders say; ``û`` is drawn as an arrow and ``state["wu_hat"]`` is
    ``wᵀû``. Points on the line ``wᵀz + b = 0`` have ``tanh(0) = 0`` and do not move, so the line
    ``wᵀx + b = 0`` drawn on both panels is also the image of that hyperplane. The heatmap is the
    exact density ``exp(Flow.log_prob(x))`` (exact inverse by bisection + Newton).

    Note the constraint's side effect at small ``‖w‖``: the correction term grows like
    ``1/‖w‖``, so ``û`` becomes long and with ``b ≠ 0`` the whole density can leave the box
    (``state["integral"]`` then says so).
    """
    _threads(threads)
    planar = Planar(2)
    grid, z, flow, fig, (ax_d, ax_s), image, scatter, integral_text = _flow_panels(
        "planar", planar, bounds, resolution, n_samples)
    sliders = {"u1": _slider("u₁", 1.0, -3.0, 3.0), "u2": _slider("u₂", 0.5, -3.0, 3.0),
               "w1": _slider("w₁", 2.0, -3.0, 3.0), "w2": _slider("w₂", 0.0, -3.0, 3.0),
               "b": _slider("b", 0.0, -2.0, 2.0)}
    (line_d,) = ax_d.plot([], [], color="white", ls="--", lw=1.2, label="wᵀx + b = 0")
    (line_s,) = ax_s.plot([], [], color=_GREY, ls="--", lw=1.2, label="wᵀx + b = 0 (fixed)")
    (arrow,) = ax_s.plot([], [], color=_VERMILLION, lw=2.5, marker="o", markevery=[1], ms=4,
                         label="û (constrained), from the line")
    ax_s.legend(loc="upper right", fontsize=8)
    text = ax_s.text(0.02, 0.02, "wᵀû = +0.000", transform=ax_s.transAxes, fontsize=9,
                     bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
    _finish(fig)
    length = 3.0 * bounds

    def compute(v: dict[str, float]) -> dict[str, Any]:
        planar.u.copy_(torch.tensor([v["u1"], v["u2"]]))
        planar.w.copy_(torch.tensor([v["w1"], v["w2"]]))
        planar.b.fill_(v["b"])
        u_hat = planar.u_hat()
        wu = float(planar.w @ u_hat)
        integral = _set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = planar._forward(z)
        scatter.set_offsets(x.numpy())
        w = planar.w.numpy().astype(np.float64)
        xs, ys = _line_through(w, v["b"], length)
        line_d.set_data(xs, ys)
        line_s.set_data(xs, ys)
        uh = u_hat.numpy().astype(np.float64)
        nw2 = float(w @ w)
        p0 = -v["b"] * w / nw2 if nw2 > 1e-16 else np.zeros(2)
        arrow.set_data([p0[0], p0[0] + uh[0]], [p0[1], p0[1] + uh[1]])
        text.set_text(f"wᵀû = {wu:+.3f} (> −1)\nû = ({uh[0]:+.2f}, {uh[1]:+.2f})")
        integral_text.set_text(f"∫ p over box = {integral:.4f}")
        return {"integral": integral, "wu_hat": wu, "u_hat": uh.tolist(),
                "logdet_mean": float(ld.mean()), "logdet_min": float(ld.min())}

    return Explorer("planar_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "line": line_d, "line_samples": line_s,
                     "u_hat": arrow, "text": text, "integral_text": integral_text}, compute)


# ----------------------------------------------------------------------------------------------
# 4. Radial flow
# ----------------------------------------------------------------------------------------------
_BETA_MARGIN = 0.02  # β is clamped to ≥ −(1 − margin)·α: strictly > −α, density stays finite


def radial_explorer(*, bounds: float = 5.0, resolution: int = 200, n_samples: int = 2000,
                    threads: int | None = 1) -> Explorer:
    r"""A :class:`flowkit.Radial` flow ``x = z + β (z − z₀)/(α + ‖z − z₀‖)`` on ``N(0, I)``.

    The sliders show the *actual* ``α > 0`` and ``β``; they are converted to the raw parameters
    (``alpha_raw = softplus⁻¹(α)``, ``beta_raw = softplus⁻¹(β + α)``) that ``Radial`` maps back.
    Invertibility needs ``β > −α``: a ``β`` slider value at or below ``−α`` is **clamped** to
    ``−(1 − 0.02)·α`` (the slider moves there, a note says so, ``state["beta_clamped"]`` is True).
    ``β > 0`` pushes mass away from ``z₀`` (a hole), ``β < 0`` pulls it in (a peak); ``z₀`` itself
    is a fixed point (marker).
    """
    _threads(threads)
    radial = Radial(2)
    grid, z, flow, fig, (ax_d, ax_s), image, scatter, integral_text = _flow_panels(
        "radial", radial, bounds, resolution, n_samples)
    sliders = {"z0_1": _slider("z₀,₁", 0.5, -2.0, 2.0), "z0_2": _slider("z₀,₂", 0.0, -2.0, 2.0),
               "alpha": _slider("α", 1.0, 0.05, 3.0), "beta": _slider("β", 1.0, -3.0, 3.0)}
    (centre_d,) = ax_d.plot([], [], ls="none", marker="+", ms=12, mew=2, color="white", label="z₀")
    (centre_s,) = ax_s.plot([], [], ls="none", marker="+", ms=12, mew=2, color=_VERMILLION,
                            label="centre z₀ (fixed point)")
    ax_s.legend(loc="upper right", fontsize=8)
    text = ax_s.text(0.02, 0.02, "α = 0.000, β = +0.000", transform=ax_s.transAxes, fontsize=9,
                     bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
    _finish(fig)

    def constrain(v: dict[str, float]) -> dict[str, float]:
        floor = -(1.0 - _BETA_MARGIN) * v["alpha"]
        return {"beta": floor} if v["beta"] < floor else {}

    def compute(v: dict[str, float]) -> dict[str, Any]:
        alpha = v["alpha"]
        floor = -(1.0 - _BETA_MARGIN) * alpha
        clamped = v["beta"] <= floor + 1e-12
        beta = max(v["beta"], floor)
        radial.z0.copy_(torch.tensor([v["z0_1"], v["z0_2"]]))
        radial.alpha_raw.fill_(_softplus_inv(alpha))
        radial.beta_raw.fill_(_softplus_inv(beta + alpha))
        a_t, b_t = radial.alpha_beta()
        integral = _set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = radial._forward(z)
        scatter.set_offsets(x.numpy())
        centre_d.set_data([v["z0_1"]], [v["z0_2"]])
        centre_s.set_data([v["z0_1"]], [v["z0_2"]])
        note = "\nβ clamped to −0.98·α (need β > −α)" if clamped else ""
        text.set_text(f"α = {float(a_t):.3f}, β = {float(b_t):+.3f}{note}")
        integral_text.set_text(f"∫ p over box = {integral:.4f}")
        return {"integral": integral, "alpha": float(a_t), "beta": float(b_t),
                "beta_clamped": bool(clamped), "logdet_mean": float(ld.mean())}

    return Explorer("radial_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "centre": centre_d,
                     "centre_samples": centre_s, "text": text, "integral_text": integral_text},
                    compute, constrain)


# ----------------------------------------------------------------------------------------------
# 5. A hand-set affine coupling
# ----------------------------------------------------------------------------------------------
class HandCoupling(Transform):
    r"""A 2-D affine coupling with hand-set conditioner functions (no network).

    forward:  ``x₁ = z₁``, ``x₂ = z₂·exp(s(z₁)) + t(z₁)``;  inverse: ``z₂ = (x₂ − t(x₁))·exp(−s(x₁))``,
    with ``s(a) = s₀ + s₁ tanh(a)`` and ``t(a) = t₀ + t₁ sin(a)``. log|det ∂x/∂z| = ``s(z₁)``
    (the Jacobian is lower-triangular with diagonal ``(1, e^{s})``). It is what
    :class:`flowkit.AffineCoupling` computes with a split mask, except that there the log-scale
    is soft-clamped and produced by a network.
    """

    def __init__(self) -> None:
        super().__init__(2)
        self.register_buffer("theta", torch.zeros(4))  # s0, s1, t0, t1

    def s_t(self, a: Tensor) -> tuple[Tensor, Tensor]:
        s0, s1, t0, t1 = self.theta.to(a.dtype)
        return s0 + s1 * torch.tanh(a), t0 + t1 * torch.sin(a)

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self.s_t(z[:, 0])
        return torch.stack([z[:, 0], z[:, 1] * torch.exp(s) + t], dim=1), s

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self.s_t(x[:, 0])
        return torch.stack([x[:, 0], (x[:, 1] - t) * torch.exp(-s)], dim=1), -s


_PROBE = (0.8, -0.6)


def coupling_explorer(*, bounds: float = 5.0, resolution: int = 200, n_samples: int = 2000,
                      probe: tuple[float, float] = _PROBE, threads: int | None = 1) -> Explorer:
    r"""A hand-set affine coupling (:class:`HandCoupling`) on ``N(0, I)``.

    ``x₁ = z₁``, ``x₂ = z₂·exp(s₀ + s₁ tanh z₁) + t₀ + t₁ sin z₁``. Panels: the exact density
    (closed-form inverse), the pushed samples with a probe point ``z*`` and its image, and the
    Jacobian ``∂x/∂z`` at ``z*`` computed by autograd (``matshow``): its upper-right entry is
    always 0 — lower-triangular, so ``det = 1·e^{s(z₁)}`` and ``log|det| = s(z₁)``.
    """
    _threads(threads)
    coupling = HandCoupling()
    grid, z, flow, fig, axes, image, scatter, integral_text = _flow_panels(
        "coupling", coupling, bounds, resolution, n_samples, figsize=(11.0, 4.0), extra_axes=1,
        width_ratios=[1.0, 1.0, 0.75])
    ax_d, ax_s, ax_j = axes
    sliders = {"s0": _slider("s₀", 0.0, -1.0, 1.0), "s1": _slider("s₁", 0.5, -1.0, 1.0),
               "t0": _slider("t₀", 0.0, -2.0, 2.0), "t1": _slider("t₁", 1.0, -2.0, 2.0)}
    zp = torch.tensor([probe], dtype=torch.float64)
    ax_s.plot([probe[0]], [probe[1]], ls="none", marker="o", mfc="none", mec=_GREY, ms=8,
              label="probe z*")
    (probe_x,) = ax_s.plot([], [], ls="none", marker="o", color=_VERMILLION, ms=7, label="x* = f(z*)")
    ax_s.legend(loc="upper right", fontsize=8)
    jac_img = ax_j.matshow(np.eye(2), cmap=_CMAP, vmin=0.0, vmax=1.0)
    ax_j.set_xticks([0, 1], ["∂/∂z₁", "∂/∂z₂"])
    ax_j.set_yticks([0, 1], ["x₁", "x₂"])
    ax_j.xaxis.set_ticks_position("bottom")
    ax_j.set_xlabel("input z")
    ax_j.set_ylabel("output x")
    ax_j.set_title("Jacobian ∂x/∂z at z* (lower-triangular)", fontsize=10)
    cells = {(i, j): ax_j.text(j, i, "0.00", ha="center", va="center", fontsize=11)
             for i in range(2) for j in range(2)}
    text = ax_j.text(0.5, -0.35, "det = 0.000", transform=ax_j.transAxes, ha="center", fontsize=9)
    _finish(fig)

    def forward_one(p: Tensor) -> Tensor:
        return coupling._forward(p.unsqueeze(0))[0].squeeze(0)

    def compute(v: dict[str, float]) -> dict[str, Any]:
        coupling.theta.copy_(torch.tensor([v["s0"], v["s1"], v["t0"], v["t1"]]))
        integral = _set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = coupling._forward(z)
        scatter.set_offsets(x.numpy())
        xp, ldp = coupling._forward(zp)
        probe_x.set_data([float(xp[0, 0])], [float(xp[0, 1])])
        with torch.enable_grad():
            jac = torch.autograd.functional.jacobian(forward_one, zp[0]).numpy()
        lo, hi = float(jac.min()), float(jac.max())
        jac_img.set_data(jac)
        jac_img.set_clim(lo, hi if hi > lo else lo + 1.0)
        mid = 0.5 * (lo + hi)
        for (i, j), cell in cells.items():
            cell.set_text(f"{jac[i, j]:.2f}")
            cell.set_color("white" if jac[i, j] < mid else "black")
        det = float(np.linalg.det(jac))
        text.set_text(f"det = {det:.3f} = e^s(z₁*),  log|det| = {float(ldp[0]):+.3f}")
        integral_text.set_text(f"∫ p over box = {integral:.4f}")
        return {"integral": integral, "jacobian": jac.tolist(), "det": det,
                "logdet": float(ldp[0]), "logdet_mean": float(ld.mean())}

    return Explorer("coupling_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "probe": probe_x, "jacobian": jac_img,
                     "text": text, "integral_text": integral_text,
                     **{f"jacobian_{i}{j}": c for (i, j), c in cells.items()}}, compute)
