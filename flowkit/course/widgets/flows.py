"""Explorers of notebooks 02 and 03: radial and a hand-set coupling layer (planar: ``planar.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ...transforms.base import inside_flowkit
from ...transforms.coupling import AffineCoupling
from ...transforms.radial import Radial
from .explorer import Explorer
from .panels import GREY, VERMILLION, finish, flow_panels, readout, set_density
from .sliders import slider


# ----------------------------------------------------------------------------------------------
# 4. Radial flow
# ----------------------------------------------------------------------------------------------
_BETA_MARGIN = 0.02  # β is clamped to ≥ −(1 − margin)·α: strictly > −α, density stays finite


def radial_explorer(*, bounds: float = 5.0, resolution: int = 200, n_samples: int = 2000,
                    threads: int | None = 1) -> Explorer:
    r"""A :class:`flowkit.Radial` flow ``x = z + β (z − z₀)/(α + ‖z − z₀‖)`` on ``N(0, I)``.

    The sliders show the *actual* ``α > 0`` and ``β``; they are converted to the raw parameters
    (:meth:`flowkit.Radial.set_alpha_beta`) that ``Radial`` maps back.
    Invertibility needs ``β > −α``: a ``β`` below ``−(1 − 0.02)·α`` is **clamped** to the first
    slider step at or above it (the slider moves there, a note says so, ``state["beta_clamped"]``
    is True).
    ``β > 0`` pushes mass away from ``z₀`` (a hole), ``β < 0`` pulls it in (a peak); ``z₀`` itself
    is a fixed point (marker).
    """
    radial = Radial(2)
    grid, z, flow, fig, (ax_d, ax_s), image, scatter = flow_panels(
        "radial", radial, bounds, resolution, n_samples)
    sliders = {"z0_1": slider("z₀,₁", 0.5, -2.0, 2.0), "z0_2": slider("z₀,₂", 0.0, -2.0, 2.0),
               "alpha": slider("α", 1.0, 0.05, 3.0), "beta": slider("β", 1.0, -3.0, 3.0)}
    (centre_d,) = ax_d.plot([], [], ls="none", marker="+", ms=12, mew=2, color="white", label="z₀")
    (centre_s,) = ax_s.plot([], [], ls="none", marker="+", ms=12, mew=2, color=VERMILLION,
                            label="centre z₀ (fixed point)")
    ax_s.legend(loc="upper right", fontsize=7, framealpha=0.85)
    finish(fig)

    clamped = [False]

    def constrain(v: dict[str, float]) -> dict[str, tuple[float, int]]:
        floor = -(1.0 - _BETA_MARGIN) * v["alpha"]
        clamped[0] = v["beta"] < floor
        return {"beta": (floor, +1)} if clamped[0] else {}  # onto the slider's grid, upwards

    def compute(v: dict[str, float]) -> dict[str, Any]:
        alpha = v["alpha"]
        floor = -(1.0 - _BETA_MARGIN) * alpha
        beta = max(v["beta"], floor)
        radial.z0.copy_(torch.tensor([v["z0_1"], v["z0_2"]]))
        radial.set_alpha_beta(alpha, beta)
        a_t, b_t = radial.alpha_beta()
        integral = set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = radial.forward(z)
        scatter.set_offsets(x.numpy())
        centre_d.set_data([v["z0_1"]], [v["z0_2"]])
        centre_s.set_data([v["z0_1"]], [v["z0_2"]])
        note = "β clamped to ≥ −0.98·α (need β > −α)" if clamped[0] else ""
        line = readout(f"∫ p over box = {integral:.4f}", f"α = {float(a_t):.3f}", f"β = {float(b_t):+.3f}",
                       warning=note)
        return {"integral": integral, "alpha": float(a_t), "beta": float(b_t), "readout": line,
                "beta_clamped": clamped[0], "logdet_mean": float(ld.mean())}

    return Explorer("radial_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "centre": centre_d,
                     "centre_samples": centre_s}, compute, constrain, threads=threads)


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
    (closed-form inverse) and the pushed samples with a probe point ``z*`` and its image. The
    readout under the sliders shows the Jacobian ``∂x/∂z`` at ``z*`` computed by autograd: its
    upper-right entry is always 0 — lower-triangular, so ``det = 1·e^{s(z₁)}`` and
    ``log|det| = s(z₁)``.
    """
    coupling = HandCoupling()
    grid, z, flow, fig, (ax_d, ax_s), image, scatter = flow_panels(
        "coupling", coupling, bounds, resolution, n_samples)
    sliders = {"s0": slider("s₀", 0.0, -1.0, 1.0), "s1": slider("s₁", 0.5, -1.0, 1.0),
               "t0": slider("t₀", 0.0, -2.0, 2.0), "t1": slider("t₁", 1.0, -2.0, 2.0)}
    zp = torch.tensor([probe], dtype=torch.float64)
    ax_s.plot([probe[0]], [probe[1]], ls="none", marker="o", mfc="none", mec=GREY, ms=8,
              label="probe z*")
    (probe_x,) = ax_s.plot([], [], ls="none", marker="o", color=VERMILLION, ms=7, label="x* = f(z*)")
    ax_s.legend(loc="upper right", fontsize=7, framealpha=0.85)
    finish(fig)

    def forward_one(p: Tensor) -> Tensor:
        with inside_flowkit():  # the probe is float64, the coupling float32: its maths casts
            return coupling.forward(p.unsqueeze(0))[0].squeeze(0)

    def compute(v: dict[str, float]) -> dict[str, Any]:
        coupling.theta.copy_(torch.tensor([v["s0"], v["s1"], v["t0"], v["t1"]]))
        integral = set_density(image, grid.image(flow.log_prob(grid.points)), grid.cell_area)
        x, ld = coupling.forward(z)
        scatter.set_offsets(x.numpy())
        with inside_flowkit():
            xp, ldp = coupling.forward(zp)
        probe_x.set_data([float(xp[0, 0])], [float(xp[0, 1])])
        with torch.enable_grad():
            jac = torch.autograd.functional.jacobian(forward_one, zp[0]).numpy()
        det = float(np.linalg.det(jac))
        line = readout(f"∂x/∂z at z* = {_matrix_html(jac)}", f"det = {det:.3f} = e^s(z₁*)",
                       f"log|det| = {float(ldp[0]):+.3f}", f"∫ p over box = {integral:.4f}")
        return {"integral": integral, "jacobian": jac.tolist(), "det": det, "readout": line,
                "logdet": float(ldp[0]), "logdet_mean": float(ld.mean())}

    return Explorer("coupling_explorer", fig, sliders,
                    {"density": image, "samples": scatter, "probe": probe_x}, compute, threads=threads)


def _matrix_html(m: np.ndarray) -> str:
    """A 2×2 matrix as an inline HTML table (exact zeros in bold: the triangular structure)."""
    def cell(v: float) -> str:
        text = "<b>0</b>" if v == 0 else f"{v:+.2f}"
        return f'<td style="padding:0 4px;text-align:right">{text}</td>'
    rows = "".join(f"<tr>{cell(m[i, 0])}{cell(m[i, 1])}</tr>" for i in range(2))
    return ('<table style="display:inline-table;vertical-align:middle;border-left:1px solid;'
            f'border-right:1px solid;font-family:monospace">{rows}</table>')
