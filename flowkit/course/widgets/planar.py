"""The planar explorer of notebook 02, and the integral of its density on a flow-aligned grid."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch

from ...transforms.planar import Planar
from .explorer import Explorer
from .panels import GREY, VERMILLION, finish, flow_panels, readout, set_density
from .sliders import slider


def _line_through(w: np.ndarray, b: float, length: float) -> tuple[list[float], list[float]]:
    """Endpoints of the line ``wᵀp + b = 0`` (empty when ``w ≈ 0``)."""
    nw = float(np.hypot(*w))
    if nw < 1e-8:
        return [], []
    p0 = -b * w / nw**2
    d = np.array([-w[1], w[0]]) / nw
    p, q = p0 - length * d, p0 + length * d
    return [p[0], q[0]], [p[1], q[1]]


@torch.no_grad()
def planar_box_integral(planar: Planar, bounds: float, n_along: int = 200, n_across: int = 120) -> float:
    r"""``∫ p_x`` over the box ``[-bounds, bounds]²`` on a grid that follows the planar map.

    The map moves ``z`` only along ``û``, by an amount set by ``a = wᵀz``: the line
    ``{z : wᵀz = a}`` is carried onto the line ``{x : wᵀx = g(a)}``. Where ``wᵀû → −1`` the map
    squeezes a band of ``a`` into a ridge much thinner than any fixed pixel grid, and a midpoint
    sum on such a grid is off by any factor (15 instead of 1 in notebook 02). Here the cells are
    uniform in ``a`` (``n_along``) and in the coordinate ``r`` across ``w`` (``n_across``), so in
    x-space they crowd into the ridge. For each cell centre ``z`` (float64):

    * ``x = f(z)`` and the exact density ``p_x(x) = p_z(z) / |det ∂f/∂z|`` (``Planar.forward``'s
      log-det, the formula under test);
    * the cell's area in x-space, ``(g′(a)/‖w‖) Δa Δr``, with ``g(a) = wᵀf(a w/‖w‖²)`` taken from
      the map itself and ``g′`` by a central difference — geometry, not the log-det.

    Each image line meets the box in an interval of ``r``, and a cell counts with the fraction of
    its ``r``-width inside it. The sum of ``p_x · area`` is then a smooth midpoint rule in ``(a, r)``: it equals the Gaussian mass of the box's preimage if and only if
    the log-det formula is right, at every setting. Returns ``nan`` when ``‖w‖ ≈ 0`` (the map
    is a translation and has no ridge).
    """
    flat = copy.deepcopy(planar).double()
    w = flat.w.detach()
    nw = float(w.norm())
    if nw < 1e-6:
        return float("nan")
    wu = float(w @ flat.u_hat())
    across = torch.stack([-w[1], w[0]]) / nw
    corners = bounds * torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    s_lo, s_hi = float((corners @ w).min()), float((corners @ w).max())
    r_hi = float((corners @ across).abs().max())
    a_edges = torch.linspace(s_lo - abs(wu), s_hi + abs(wu), n_along + 1, dtype=torch.float64)
    r_edges = torch.linspace(-r_hi, r_hi, n_across + 1, dtype=torch.float64)
    a = 0.5 * (a_edges[1:] + a_edges[:-1])
    r = 0.5 * (r_edges[1:] + r_edges[:-1])

    def on_line(a_: torch.Tensor) -> torch.Tensor:  # f(z) for the point z = a w/‖w‖² of each line
        return flat.forward(a_[:, None] * w / nw**2)[0]

    eps = 1e-5
    g_prime = ((on_line(a + eps) - on_line(a - eps)) @ w) / (2 * eps)
    x0 = on_line(a)
    t = r[None, :] - (x0 @ across)[:, None]                    # across-coordinate of z: x = f(z₀) + t·e
    z = (a[:, None, None] * w / nw**2 + t[..., None] * across).reshape(-1, 2)
    _, logdet = flat.forward(z)
    density = torch.exp(-0.5 * (z * z).sum(1) - math.log(2 * math.pi) - logdet).view(n_along, n_across)
    dr = r_edges[1] - r_edges[0]
    area = g_prime / nw * (a_edges[1] - a_edges[0]) * dr
    # x = q + r·e on the image line of a; the part inside the box is an interval of r
    q = x0 - (x0 @ across)[:, None] * across
    lo, hi = torch.full_like(a, -math.inf), torch.full_like(a, math.inf)
    for k in range(2):
        if abs(float(across[k])) > 1e-12:
            ends = torch.stack([(-bounds - q[:, k]) / across[k], (bounds - q[:, k]) / across[k]])
            lo, hi = torch.maximum(lo, ends.min(0).values), torch.minimum(hi, ends.max(0).values)
        else:
            hi = torch.where(q[:, k].abs() <= bounds, hi, lo)
    covered = (torch.minimum(r_edges[1:][None, :], hi[:, None])
               - torch.maximum(r_edges[:-1][None, :], lo[:, None])).clamp(min=0) / dr
    return float((density * covered).sum(1) @ area)


def _wu_label(wu: float) -> str:
    """``wᵀû`` for the figure: near −1 the distance to −1 is what matters, so show it."""
    if wu < -0.995:
        return f"wᵀû = −1 + {wu + 1:.1e}"
    return f"wᵀû = {wu:+.3f} > −1"


def planar_explorer(*, bounds: float = 5.0, resolution: int = 140, n_samples: int = 2000,
                    threads: int | None = 1) -> Explorer:
    r"""A :class:`flowkit.Planar` flow ``x = z + û tanh(wᵀz + b)`` on ``N(0, I)``.

    The sliders set the *raw* parameters ``u, w, b``. The flow uses the constrained
    ``û = u + (m(wᵀu) − wᵀu) w/‖w‖²``, ``m(a) = −1 + δ + softplus(a + c)`` (``m(0) = 0``), so
    ``wᵀû > −1`` and the map is invertible whatever the sliders say; ``û`` is drawn as an arrow
    and ``state["wu_hat"]`` is ``wᵀû``. Points on the line ``wᵀz + b = 0`` do not move, so the
    line ``wᵀx + b = 0`` drawn on both panels is also the image of that hyperplane. The heatmap
    is the exact density ``exp(Flow.log_prob(x))`` on a ``resolution²`` grid.

    ``state["integral"]`` is ``∫ p_x`` over the box on a flow-aligned grid
    (:func:`planar_box_integral`), right at every setting (< 1 only when mass leaves the box);
    ``state["integral_grid"]`` is the midpoint sum of the heatmap's own pixels, and
    ``state["grid_resolves"]`` says whether the two agree to 0.01 — they do not when
    ``wᵀû → −1`` squeezes mass into a ridge thinner than a pixel, and the readout says so.

    Note the constraint's side effect at small ``‖w‖``: the correction term grows like
    ``1/‖w‖``, so ``û`` becomes long and with ``b ≠ 0`` the density can leave the box.
    """
    planar = Planar(2)
    grid, z, flow, fig, (ax_d, ax_s), image, scatter = flow_panels(
        "planar", planar, bounds, resolution, n_samples)
    sliders = {"u1": slider("u₁", 1.0, -3.0, 3.0), "u2": slider("u₂", 0.5, -3.0, 3.0),
               "w1": slider("w₁", 2.0, -3.0, 3.0), "w2": slider("w₂", 0.0, -3.0, 3.0),
               "b": slider("b", 0.0, -2.0, 2.0)}
    (line_d,) = ax_d.plot([], [], color="white", ls="--", lw=1.2, label="wᵀx + b = 0")
    (line_s,) = ax_s.plot([], [], color=GREY, ls="--", lw=1.2, label="wᵀx + b = 0 (fixed)")
    (arrow,) = ax_s.plot([], [], color=VERMILLION, lw=2.5, marker="o", markevery=[1], ms=4,
                         label="û, from the line")
    ax_s.legend(loc="upper right", fontsize=7, framealpha=0.85)
    finish(fig)
    length = 3.0 * bounds

    def compute(v: dict[str, float]) -> dict[str, Any]:
        planar.u.copy_(torch.tensor([v["u1"], v["u2"]]))
        planar.w.copy_(torch.tensor([v["w1"], v["w2"]]))
        planar.b.fill_(v["b"])
        u_hat = planar.u_hat()
        wu = float(planar.w @ u_hat)
        integral_grid = set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        integral = planar_box_integral(planar, bounds)
        resolves = bool(np.isfinite(integral) and abs(integral - integral_grid) < 0.01)
        if not np.isfinite(integral):  # w ≈ 0: a translation, no ridge; the pixel sum is right
            integral, resolves = integral_grid, True
        x, ld = planar.forward(z)
        scatter.set_offsets(x.numpy())
        w = planar.w.numpy().astype(np.float64)
        xs, ys = _line_through(w, v["b"], length)
        line_d.set_data(xs, ys)
        line_s.set_data(xs, ys)
        uh = u_hat.numpy().astype(np.float64)
        nw2 = float(w @ w)
        p0 = -v["b"] * w / nw2 if nw2 > 1e-16 else np.zeros(2)
        arrow.set_data([p0[0], p0[0] + uh[0]], [p0[1], p0[1] + uh[1]])
        note = "" if resolves else (f"the heatmap's {resolution}² pixels sum to {integral_grid:.2f}: "
                                    "a ridge thinner than a pixel")
        line = readout(f"∫ p over box = {integral:.4f}", _wu_label(wu), f"û = ({uh[0]:+.2f}, {uh[1]:+.2f})",
                       warning=note)
        return {"integral": integral, "integral_grid": integral_grid, "grid_resolves": resolves, "readout": line,
                "wu_hat": wu, "u_hat": uh.tolist(),
                "logdet_mean": float(ld.mean()), "logdet_min": float(ld.min())}

    return Explorer("planar_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "line": line_d, "line_samples": line_s,
                     "u_hat": arrow}, compute, threads=threads)
