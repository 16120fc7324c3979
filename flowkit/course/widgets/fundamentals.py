"""Explorers of notebook 01: the change of variables in 1-D and a linear map in 2-D."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .canvas import figure
from .explorer import Explorer
from .panels import (
    BLUE,
    EXPLORER_SIZE,
    GREY,
    ORANGE,
    SEED,
    VERMILLION,
    Grid,
    base_samples,
    box_axes,
    density_image,
    finish,
    readout,
    set_density,
)
from .sliders import slider


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


_Y_TOPS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def _y_top(peak: float) -> float:
    """The smallest y-limit of a fixed ladder that leaves 10 % headroom above ``peak``."""
    return next((t for t in _Y_TOPS if t >= 1.1 * peak), 1.1 * peak)


_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _map_panel(ax: Any, z_plot: np.ndarray, window: float) -> Any:
    """The left panel of :func:`change_of_variables_1d`: the identity and the map's line (returned)."""
    ax.plot(z_plot, z_plot, ls="--", color=GREY, lw=1, label="identity")
    (map_line,) = ax.plot(z_plot, z_plot, color=BLUE, lw=2, label="x = f(z)")
    ax.set_xlim(z_plot[0], z_plot[-1])
    ax.set_ylim(-window, window)
    ax.set_autoscale_on(False)
    ax.set_title("the map x = σ·sinh((asinh z + ε)/δ)", fontsize=9)
    ax.set_xlabel("z")
    ax.set_ylabel("x")
    ax.legend(loc="upper left", fontsize=7)
    return map_line


def _density_panel(ax: Any, x_plot: np.ndarray, edges: np.ndarray, n_samples: int,
                   window: float) -> tuple[Any, Any]:
    """The right panel of :func:`change_of_variables_1d`: ``(histogram, formula density line)``."""
    hist = ax.stairs(np.zeros(len(edges) - 1), edges, fill=True, color=BLUE, alpha=0.35,
                     label=f"histogram of {n_samples} x = f(z)")
    ax.plot(x_plot, _phi(x_plot), ls="--", color=GREY, lw=1, label="p_z (base)")
    (dens_line,) = ax.plot(x_plot, _phi(x_plot), color=VERMILLION, lw=2,
                           label="p_z(f⁻¹(x))·|df⁻¹/dx|")
    ax.set_xlim(-window, window)
    ax.set_ylim(0, 1.0)
    ax.set_autoscale_on(False)
    ax.set_title("density of x: formula vs samples", fontsize=9)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper right", fontsize=7)
    return hist, dens_line


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
    (≈ 1; in the variable ``u = asinh x``, dense near 0). Plain NumPy: there is nothing for torch to do on a few thousand scalars.
    """
    z = np.random.default_rng(SEED).standard_normal(n_samples)
    edges = np.linspace(-window, window, bins + 1)
    x_plot = np.linspace(-window, window, 801)
    # the integral check of the formula over [-200, 200]: fine near 0, coarse in the tails
    # (x = sinh(u), u uniform: 4 001 points do what 40 001 uniform ones did)
    u_int = np.linspace(-np.arcsinh(200.0), np.arcsinh(200.0), 4001)
    x_int, dxdu = np.sinh(u_int), np.cosh(u_int)
    z_plot = np.linspace(-3.5, 3.5, 401)

    sliders = {
        "skew": slider("skew ε", 0.5, -1.0, 1.0),
        "tail": slider("tail δ", 0.8, 0.6, 2.0),
        "scale": slider("scale σ", 1.0, 0.5, 2.0),
    }
    fig, (ax_f, ax_p) = figure(2, EXPLORER_SIZE)
    map_line = _map_panel(ax_f, z_plot, window)
    hist, dens_line = _density_panel(ax_p, x_plot, edges, n_samples, window)
    finish(fig)

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
        integral = float(_trapezoid(_phi(zi) * dzi * dxdu, u_int))
        top = max(float(dens.max()), float(heights.max()))
        ax_p.set_ylim(0.0, _y_top(top))  # a new limit forces a full redraw: change it in steps
        # log f'(0): f'(z) = σ cosh((asinh z + ε)/δ) / (δ √(1+z²))
        logdet0 = math.log(scale * math.cosh(skew / tail) / tail)
        return {"integral": integral, "logdet_at_0": logdet0,
                "readout": readout(f"∫ p_x dx = {integral:.4f}", f"log f′(0) = {logdet0:+.3f}"),
                "sample_mean": float(xs.mean()),
                "mass_in_window": float(counts.sum() / n_samples)}

    return Explorer("change_of_variables_1d", fig, sliders,
                    {"map": map_line, "density": dens_line, "hist": hist}, compute, threads=threads)


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
    blanked and a warning is shown (``state["invertible"] = False``, ``integral = nan``). The
    numbers (det, area, ∫) are in the readout line under the sliders.
    """
    grid = Grid(bounds, resolution)
    z = base_samples(n_samples)
    pts = grid.points.numpy().astype(np.float64)
    sliders = {"a": slider("a", 1.2, -2.0, 2.0), "b": slider("b", 0.5, -2.0, 2.0),
               "c": slider("c", -0.3, -2.0, 2.0), "d": slider("d", 0.8, -2.0, 2.0)}

    from matplotlib.patches import Polygon

    fig, (ax_d, ax_s) = figure(2, EXPLORER_SIZE)
    box_axes(ax_d, bounds, "exact density p_x(x) = N(A⁻¹x; 0, I) / |det A|")
    box_axes(ax_s, bounds, f"{n_samples} samples x = A z and A·(unit square)")
    image = density_image(ax_d, bounds, resolution)
    (outline,) = ax_d.plot([], [], color="white", lw=1.2)
    scatter = ax_s.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=3, color=BLUE, alpha=0.4, linewidths=0)
    ax_s.add_patch(Polygon(_SQUARE, closed=True, fill=False, ls="--", ec=GREY, lw=1, label="unit square"))
    poly = Polygon(_SQUARE, closed=True, fc=ORANGE, ec=VERMILLION, alpha=0.5, lw=1.5,
                   label="A·(unit square)")
    ax_s.add_patch(poly)
    ax_s.legend(loc="upper right", fontsize=7, framealpha=0.85)
    singular = ax_d.text(0.5, 0.5, "det A = 0:\nno density", transform=ax_d.transAxes, ha="center",
                         va="center", color=VERMILLION, fontsize=10, visible=False)
    finish(fig)

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
            integral = set_density(image, dens.reshape(resolution, resolution), grid.cell_area)
            logdet = math.log(abs(det))
            line = readout(f"det A = {det:+.3f}", f"shoelace area = {area:.3f} = |det A|",
                           f"∫ p over box = {integral:.4f}")
        else:
            set_density(image, np.zeros((resolution, resolution), np.float32), grid.cell_area)
            integral, logdet = float("nan"), float("-inf")
            line = readout(f"det A = {det:+.2e}", warning="not invertible: the density is undefined")
        singular.set_visible(not invertible)
        return {"det": det, "area": area, "logdet": logdet, "invertible": invertible,
                "integral": integral, "matrix": A.tolist(), "readout": line}

    return Explorer("linear_map_2d", fig, sliders,
                    {"density": image, "samples": scatter, "square": poly, "outline": outline,
                     "singular": singular}, compute, threads=threads)
