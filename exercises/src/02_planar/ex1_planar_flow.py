# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 02_planar/ex1
#     title: a planar flow with its invertibility constraint
#     points: 3
#     notebook: 02_planar_and_radial_flows.ipynb
#     anchor:
#       cell: 027b41b0
#       text: "err_roundtrip = float((z_back - z).abs().max())"
#     hidden_checks: h02_planar.py
# ---

# %% [markdown] role="prompt"
# Write the planar flow yourself: $f(z) = z + \hat u\,\tanh(w^\top z + b)$ with the paper's
# constraint (no `flowkit.Planar` inside). Two methods are yours:
#
# * `u_hat()`: $\hat u = u + \big[m(w^\top u) - w^\top u\big]\,w/\lVert w\rVert^2$ with
#   $m(a) = -1 + 10^{-4} + \operatorname{softplus}(a)$, so that $w^\top\hat u > -1$ and $f$ never folds;
# * `forward(z)`: return `x` and $\log\lvert 1 + \hat u^\top\psi(z)\rvert$ with
#   $\psi(z) = \big(1 - \tanh^2(w^\top z + b)\big)\,w$ — one value per row, shape `(batch,)`.
#
# `inverse` is given: it solves the scalar equation of the previous cell by bisection and uses your
# `u_hat` and `forward`. Use `self.u_hat()` wherever the map needs $\hat u$ (never the raw `self.u`).

# %% role="answer"
import torch

import flowkit as fk


class PlanarFlow(fk.Transform):
    """x = f(z) = z + û·tanh(wᵀz + b), Rezende & Mohamed (2015)."""

    def __init__(self, features, seed=0):
        super().__init__(features)
        g = torch.Generator().manual_seed(seed)
        self.u = torch.nn.Parameter(torch.randn(features, generator=g))
        self.w = torch.nn.Parameter(torch.randn(features, generator=g))
        self.b = torch.nn.Parameter(torch.randn((), generator=g))

    def u_hat(self):
        """û = u + (m(wᵀu) − wᵀu)·w/‖w‖², m(a) = −1 + 10⁻⁴ + softplus(a): then wᵀû > −1."""
        ### BEGIN SOLUTION
        wu = self.w @ self.u
        m = -1 + 1e-4 + torch.nn.functional.softplus(wu)
        return self.u + (m - wu) * self.w / (self.w @ self.w)
        ### END SOLUTION

    def forward(self, z):
        u = self.u_hat()
        ### BEGIN SOLUTION
        h = torch.tanh(z @ self.w + self.b)
        x = z + h[:, None] * u
        psi = (1 - h**2)[:, None] * self.w
        return x, torch.log(torch.abs(1 + psi @ u))
        ### END SOLUTION

    def inverse(self, x):
        """Given: α = wᵀz solves α + wᵀû·tanh(α + b) = wᵀx (one root, by bisection)."""
        u = self.u_hat()
        wu, target = self.w @ u, x @ self.w
        with torch.no_grad():
            lo, hi = target - wu.abs() - 1, target + wu.abs() + 1
            for _ in range(80):
                mid = (lo + hi) / 2
                above = mid + wu * torch.tanh(mid + self.b) > target
                lo, hi = torch.where(above, lo, mid), torch.where(above, mid, hi)
            alpha = (lo + hi) / 2
        th = torch.tanh(alpha + self.b)                 # one Newton step, with gradients
        alpha = alpha - (alpha + wu * th - target) / (1 + wu * (1 - th**2))
        z = x - torch.tanh(alpha + self.b)[:, None] * u
        return z, -self.forward(z)[1]


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("02_planar/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# `torch.nn.functional.softplus(a)` is $\log(1 + e^{a})$; $w^\top u$ is `self.w @ self.u`. In `forward`,
# `torch.tanh(z @ self.w + self.b)` has one value per row (shape `(batch,)`): index it with `[:, None]` to
# move each row along $\hat u$. $\psi(z)$ has one row per point, $(1 - \tanh^2)$ times $w$; a matrix-vector
# product with $\hat u$ then gives $\hat u^\top\psi(z)$ for every row at once.

# %% role="mistakes"
MISTAKES = [
    {"name": "the raw u instead of û (no constraint)", "replace": [("def forward(self, z):\n        u = self.u_hat()", "def forward(self, z):\n        u = self.u")],
     "says": "use the constrained û = self.u_hat(), not self.u"},
    {"name": "u_hat returns u unchanged", "replace": [("return self.u + (m - wu) * self.w / (self.w @ self.w)", "return self.u")],
     "says": "the map folds"},
    {"name": "ψ without the derivative of tanh", "replace": [("psi = (1 - h**2)[:, None] * self.w", "psi = self.w.expand(len(z), -1)")],
     "says": "did you forget the derivative of tanh"},
    {"name": "the log-det without the 1 +", "replace": [("torch.log(torch.abs(1 + psi @ u))", "torch.log(torch.abs(psi @ u))")],
     "says": "the matrix determinant lemma gives 1 + ûᵀψ(z)"},
]
