"""Explorers of notebooks 02 and 03: planar, radial and a hand-set coupling layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ...transforms.base import inside_flowkit
from ...transforms.coupling import AffineCoupling
from ...transforms.planar import Planar
from ...transforms.radial import Radial
from .explorer import (
    _CMAP,
    _GREY,
    _VERMILLION,
    Explorer,
    _finish,
    _flow_panels,
    _set_density,
    _slider,
    _threads,
)


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
    (:meth:`flowkit.Radial.set_alpha_beta`) that ``Radial`` maps back.
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
        radial.set_alpha_beta(alpha, beta)
        a_t, b_t = radial.alpha_beta()
        integral = _set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = radial.forward(z)
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
class _HandConditioner(nn.Module):
    """The conditioner ``a ↦ (s(a), t(a))`` with ``s(a) = s₀ + s₁ tanh(a)``, ``t(a) = t₀ + t₁ sin(a)``."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("theta", torch.zeros(4))  # s0, s1, t0, t1

    def forward(self, a: Tensor) -> Tensor:
        s0, s1, t0, t1 = self.theta.to(a.dtype)
        return torch.cat([s0 + s1 * torch.tanh(a), t0 + t1 * torch.sin(a)], dim=1)


class HandCoupling(AffineCoupling):
    r"""A 2-D :class:`~flowkit.AffineCoupling` whose conditioner is set by hand (no network, no clamp).

    forward:  ``x₁ = z₁``, ``x₂ = z₂·exp(s(z₁)) + t(z₁)``;  inverse: ``z₂ = (x₂ − t(x₁))·exp(−s(x₁))``,
    with ``s(a) = s₀ + s₁ tanh(a)`` and ``t(a) = t₀ + t₁ sin(a)`` set through ``theta = (s₀, s₁, t₀, t₁)``.
    log|det ∂x/∂z| = ``s(z₁)`` (the Jacobian is lower-triangular with diagonal ``(1, e^{s})``).

    Example:
        >>> import torch
        >>> c = HandCoupling()
        >>> c.theta[:] = torch.tensor([0.5, 0.0, 1.0, 0.0])
        >>> c.forward(torch.zeros(1, 2))
        (tensor([[0., 1.]]), tensor([0.5000]))
    """

    def __init__(self) -> None:
        super().__init__(2, conditioner=_HandConditioner(), zero_init=False, scale_bound=None, direction="generative")

    @property
    def theta(self) -> Tensor:
        return self.conditioner.theta

    def s_t(self, a: Tensor) -> tuple[Tensor, Tensor]:
        """``(s(a), t(a))`` for a batch of first coordinates ``a`` of shape ``(batch,)``."""
        h = self.conditioner(a.reshape(-1, 1))
        return h[:, 0], h[:, 1]


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
        with inside_flowkit():  # the probe is float64, the coupling float32: its maths casts
            return coupling.forward(p.unsqueeze(0))[0].squeeze(0)

    def compute(v: dict[str, float]) -> dict[str, Any]:
        coupling.theta.copy_(torch.tensor([v["s0"], v["s1"], v["t0"], v["t1"]]))
        integral = _set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = coupling.forward(z)
        scatter.set_offsets(x.numpy())
        with inside_flowkit():
            xp, ldp = coupling.forward(zp)
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
