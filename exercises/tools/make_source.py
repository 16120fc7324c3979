"""Write the nbgrader source notebooks of the flowkit course: ``exercises/source/<a>/<a>.ipynb``.

Run ``.venv/bin/python exercises/tools/make_source.py`` after editing; the committed notebooks
are this script's output (no outputs, nbgrader metadata on every exercise cell).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_builder import ASSIGNMENT, given, md, notebook, solution, tests  # noqa: E402

SOURCE = Path(__file__).resolve().parents[1] / "source"

# ------------------------------------------------------------------------------------------
# shared setup cell: imports, and check_exercise for the test cells
# ------------------------------------------------------------------------------------------
SETUP = '''
import math

import torch

import flowkit as fk
from flowkit.course.checks import check_exercise

fk.course.setup(seed=0)
'''


def intro(title: str, text: str, gid: str):
    return md(f"# {title}\n\n{text}\n\n"
              "**How this works.** Write your code between the lines `# YOUR CODE HERE` / "
              "`raise NotImplementedError()` (delete the `raise`). Each exercise is followed by a "
              "test cell: run it for **immediate feedback** — it tells you *what* is off (\"your "
              "log-det is off by a constant +0.6931 = log 2\"), or prints ✓. Grading runs the same "
              "checks, with fresh random inputs, plus a few hidden ones, outside your notebook: "
              "passing here is necessary, not sufficient. Test cells are never run when grading, "
              "so editing them changes nothing.", gid)


# ==========================================================================================
# 01 · fundamentals
# ==========================================================================================
def nb01():
    return notebook([
        intro("01 · Exercises: change of variables and log-determinants",
              "Companion to `notebooks/01_flow_fundamentals.ipynb`. Three exercises, 7 points.",
              "intro"),
        given(SETUP, "setup"),
        md(r"""
        ## Exercise 1 (2 points) — a density in one dimension

        Let $z \sim \mathcal N(0, 1)$ and $x = a z + b$ with $a \neq 0$. By the change of variables
        formula, $\log p_x(x) = \log p_z\!\left(\frac{x-b}{a}\right) - \log|a|$.
        Implement `log_prob_affine_1d(x, a, b)` elementwise for a tensor `x` (and any sign of `a`).
        """, "ex1-text"),
        solution('''
        def log_prob_affine_1d(x, a, b):
            """log p_x(x) for x = a·z + b, z ~ N(0, 1), applied elementwise to the tensor x."""
            ### BEGIN SOLUTION
            z = (x - b) / a
            return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
            ### END SOLUTION
        ''', "ex1-solution"),
        tests("ex1-tests", 2),
        md(r"""
        ## Exercise 2 (3 points) — your first `fk.Transform`

        `ScaleShift` maps $z \mapsto x = e^{s} \odot z + t$ elementwise, with learnable vectors
        $s$ (`log_scale`) and $t$ (`shift`). Following the course convention, `_forward(z)` returns
        `(x, log|det ∂x/∂z|)` and `_inverse(x)` returns `(z, log|det ∂z/∂x|)`; each log-det has
        shape `(batch,)`. The Jacobian is diagonal: what is its log-determinant?
        """, "ex2-text"),
        solution('''
        class ScaleShift(fk.Transform):
            """x = exp(log_scale) * z + shift, elementwise on vectors of `features` numbers."""

            def __init__(self, features):
                super().__init__(features)
                self.log_scale = torch.nn.Parameter(0.5 * torch.randn(features))
                self.shift = torch.nn.Parameter(torch.randn(features))

            def _forward(self, z):
                ### BEGIN SOLUTION
                x = z * torch.exp(self.log_scale) + self.shift
                return x, self.log_scale.sum().expand(z.shape[0])
                ### END SOLUTION

            def _inverse(self, x):
                ### BEGIN SOLUTION
                z = (x - self.shift) * torch.exp(-self.log_scale)
                return z, (-self.log_scale.sum()).expand(x.shape[0])
                ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 3),
        md(r"""
        ## Exercise 3 (2 points) — a density integrates to 1

        Check normalisation numerically. `integrate_2d(log_prob, lo, hi, n)` should return
        $\int\!\!\int_{[lo,hi]^2} e^{\log p(u)}\,du$ with the midpoint rule on an $n\times n$ grid:
        cell width $h = (hi-lo)/n$, centres $lo + h(i + \tfrac12)$. `log_prob` takes a `(N, 2)`
        float64 tensor of points and returns `(N,)` log-densities. Return a Python float.
        """, "ex3-text"),
        solution('''
        def integrate_2d(log_prob, lo, hi, n=200):
            """Midpoint-rule integral of exp(log_prob) over the square [lo, hi]²."""
            ### BEGIN SOLUTION
            h = (hi - lo) / n
            c = lo + h * (torch.arange(n, dtype=torch.float64) + 0.5)
            X, Y = torch.meshgrid(c, c, indexing="ij")
            points = torch.stack([X.reshape(-1), Y.reshape(-1)], dim=1)
            return float(torch.exp(log_prob(points)).sum() * h * h)
            ### END SOLUTION
        ''', "ex3-solution"),
        tests("ex3-tests", 2),
        md("""
        ## Done

        Run all cells once more (*Kernel → Restart & Run All*) and check every test cell prints ✓.
        """, "outro"),
    ])


# ==========================================================================================
# 02 · planar flows
# ==========================================================================================
def nb02():
    return notebook([
        intro("02 · Exercises: a planar flow, visualised and verified",
              "Rezende & Mohamed (2015) planar flow $f(z) = z + \\hat u\\,\\tanh(w^\\top z + b)$. "
              "Three exercises, 6 points (course outline, exercise 1).", "intro"),
        given(SETUP + '''
import matplotlib.pyplot as plt
''', "setup"),
        md(r"""
        ## Exercise 1 (3 points) — the planar map and its log-determinant

        With $\psi(z) = \big(1 - \tanh^2(w^\top z + b)\big)\, w$, the matrix determinant lemma gives
        $\det \frac{\partial f}{\partial z} = 1 + \hat u^\top \psi(z)$.
        Complete `_forward`: return `x` and `log|1 + ûᵀψ(z)|` (shape `(batch,)`). Use the
        constrained `self.u_hat()` (given; it keeps $w^\top\hat u > -1$ so $f$ is invertible), not
        `self.u`. The inverse is given: it solves for $w^\top z$ by bisection and calls your
        `_forward` for the log-det.
        """, "ex1-text"),
        solution('''
        class PlanarFlow(fk.Transform):
            """x = f(z) = z + û·tanh(wᵀz + b)."""

            def __init__(self, features, seed=0):
                super().__init__(features)
                g = torch.Generator().manual_seed(seed)
                self.u = torch.nn.Parameter(torch.randn(features, generator=g))
                self.w = torch.nn.Parameter(torch.randn(features, generator=g))
                self.b = torch.nn.Parameter(torch.randn((), generator=g))

            def u_hat(self):
                """û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(a) = −1 + 10⁻⁴ + softplus(a): wᵀû > −1 (given)."""
                wu = self.w @ self.u
                m = -1 + 1e-4 + torch.nn.functional.softplus(wu)
                return self.u + (m - wu) * self.w / (self.w @ self.w)

            def _forward(self, z):
                u = self.u_hat()
                ### BEGIN SOLUTION
                h = torch.tanh(z @ self.w + self.b)
                x = z + h[:, None] * u
                psi = (1 - h**2)[:, None] * self.w
                return x, torch.log(torch.abs(1 + psi @ u))
                ### END SOLUTION

            def _inverse(self, x):
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
                # one Newton step with gradients: exact derivatives of the root
                th = torch.tanh(alpha + self.b)
                alpha = alpha - (alpha + wu * th - target) / (1 + wu * (1 - th**2))
                z = x - torch.tanh(alpha + self.b)[:, None] * u
                return z, -self._forward(z)[1]
        ''', "ex1-solution"),
        tests("ex1-tests", 3),
        md(r"""
        ## Exercise 2 (2 points) — the density, verified

        For $x = f(z)$, $z\sim\mathcal N(0, I)$: $\log p_x(x) = \log \mathcal N(f^{-1}(x); 0, I) +
        \log|\det \partial f^{-1}/\partial x|$. Implement `flow_log_prob(transform, x)` for **any**
        `fk.Transform` (use its `inverse`), without `fk.Flow`. The test then checks that your density
        integrates to 1 — the density is *verified*, not just plotted.
        """, "ex2-text"),
        solution('''
        def flow_log_prob(transform, x):
            """Exact log p_x(x) for x = transform(z), z ~ N(0, I), by the change of variables."""
            ### BEGIN SOLUTION
            z, ld = transform.inverse(x)
            log_pz = -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
            return log_pz + ld
            ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 2),
        md(r"""
        ## Exercise 3 (1 point) — push samples through, and look

        `push_forward(transform, n, seed)` draws `n` base samples with
        `torch.randn(n, D, generator=torch.Generator().manual_seed(seed))` and returns `(z, x)` with
        `x = transform.forward(z)[0]` (no gradients needed: use `torch.no_grad()`). The cell after the
        test plots your planar flow: base samples, pushed samples, and the density of Exercise 2.
        """, "ex3-text"),
        solution('''
        def push_forward(transform, n, seed=0):
            """(z, x): n base samples z ~ N(0, I) and their images x = f(z)."""
            ### BEGIN SOLUTION
            g = torch.Generator().manual_seed(seed)
            z = torch.randn(n, transform.latent_shape[0], generator=g)
            with torch.no_grad():
                x, _ = transform.forward(z)
            return z, x
            ### END SOLUTION
        ''', "ex3-solution"),
        tests("ex3-tests", 1),
        given('''
        # Look at your flow (not graded): a planar map bends space along the hyperplane wᵀz + b = 0.
        T_vis = PlanarFlow(2)
        with torch.no_grad():
            T_vis.w.copy_(torch.tensor([3.0, 0.0]))
            T_vis.u.copy_(torch.tensor([0.0, 2.0]))
            T_vis.b.zero_()
        z, x = push_forward(T_vis, 2000, seed=0)
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
        fk.viz.plot_samples(z, ax=axes[0], bounds=4.0)
        axes[0].set_title("z ~ N(0, I)")
        fk.viz.plot_samples(x, ax=axes[1], bounds=4.0)
        axes[1].set_title("x = f(z)")
        fk.viz.plot_density(lambda p: flow_log_prob(T_vis, p), ax=axes[2], bounds=4.0)
        axes[2].set_title("p_x by change of variables")
        plt.show()
        ''', "plot"),
    ])


# ==========================================================================================
# 03 · coupling layers
# ==========================================================================================
def nb03():
    return notebook([
        intro("03 · Exercises: triangular Jacobians, an affine coupling layer, and training",
              "Companion to `notebooks/03_coupling_layers.ipynb`. Three exercises, 9 points (course "
              "outline, exercises 2, 3 and 4).", "intro"),
        given(SETUP + '''
import matplotlib.pyplot as plt
''', "setup"),
        md(r"""
        ## Exercise 1 (2 points) — the determinant of a triangular matrix

        **Claim.** For a triangular $T \in \mathbb R^{d\times d}$, $\det T = \prod_i T_{ii}$.
        *Proof sketch:* expand the determinant along the first column (lower-triangular: along the
        first row); only $T_{11}$ has a non-zero cofactor, which is the determinant of the
        $(d-1)\times(d-1)$ triangular block that remains — induction on $d$ finishes it.

        Implement `triangular_log_abs_det(T)`: $\log|\det T|$ for a triangular matrix, or a batch
        `(..., d, d)` of them, in $O(d)$ — from the diagonal, **without** a determinant routine.
        *Why this matters:* a coupling layer's Jacobian is triangular, so its log-det costs
        $O(d)$ instead of $O(d^3)$ — write down, for yourself, which entries form that diagonal.
        """, "ex1-text"),
        solution('''
        def triangular_log_abs_det(T):
            """log|det T| of triangular matrices T of shape (..., d, d), from the diagonal."""
            ### BEGIN SOLUTION
            return torch.log(torch.abs(torch.diagonal(T, dim1=-2, dim2=-1))).sum(dim=-1)
            ### END SOLUTION
        ''', "ex1-solution"),
        tests("ex1-tests", 2),
        md(r"""
        ## Exercise 2 (4 points) — an affine coupling layer

        Split $z = [z_a, z_b]$ with $z_a$ the first $D//2$ features. The layer keeps $z_a$ and
        transforms $z_b$ elementwise with a scale and shift computed from $z_a$:
        $$x_a = z_a,\qquad x_b = z_b \odot e^{s(z_a)} + t(z_a).$$
        `scale_and_shift(z_a)` (given) returns `s, t` (with `s` bounded by `tanh`). Implement
        `_forward` and `_inverse`, each returning `(output, log|det J|)` of its own direction.
        The Jacobian is triangular (Exercise 1) — its diagonal is $1,\dots,1, e^{s_1},\dots$
        """, "ex2-text"),
        solution('''
        class MyAffineCoupling(fk.Transform):
            """RealNVP affine coupling on D-vectors: x_a = z_a, x_b = z_b·exp(s(z_a)) + t(z_a)."""

            def __init__(self, features, hidden=32, seed=0):
                super().__init__(features)
                torch.manual_seed(seed)
                self.d_a = features // 2
                self.net = fk.MLP(self.d_a, 2 * (features - self.d_a), hidden=(hidden, hidden), zero_init=False)

            def scale_and_shift(self, z_a):
                """Given: the conditioner's two halves, s = tanh(raw) (so exp(s) ∈ [1/e, e]) and t."""
                raw_s, t = self.net(z_a).chunk(2, dim=1)
                return torch.tanh(raw_s), t

            def _forward(self, z):
                ### BEGIN SOLUTION
                z_a, z_b = z[:, :self.d_a], z[:, self.d_a:]
                s, t = self.scale_and_shift(z_a)
                return torch.cat([z_a, z_b * torch.exp(s) + t], dim=1), s.sum(dim=1)
                ### END SOLUTION

            def _inverse(self, x):
                ### BEGIN SOLUTION
                x_a, x_b = x[:, :self.d_a], x[:, self.d_a:]
                s, t = self.scale_and_shift(x_a)
                return torch.cat([x_a, (x_b - t) * torch.exp(-s)], dim=1), -s.sum(dim=1)
                ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 4),
        md(r"""
        ## Exercise 3 (3 points) — train on two moons; held-out log-likelihood

        Build `make_flow(n_layers, hidden)`: an `fk.Flow` whose transform composes `n_layers`
        `fk.AffineCoupling(2, hidden=(hidden, hidden))` layers with an `fk.Reverse(2)` after each
        (so both coordinates get transformed), over `fk.StandardNormal(2)`. Then write
        `heldout_log_likelihood(flow, x)`: the mean exact log-likelihood (nats) of held-out points,
        as a Python float. The given cell trains the flow by maximum likelihood; the test compares it
        with the best single Gaussian.
        """, "ex3-text"),
        solution('''
        def make_flow(n_layers=4, hidden=64):
            """A RealNVP-style flow for 2-D data."""
            ### BEGIN SOLUTION
            layers = []
            for _ in range(n_layers):
                layers += [fk.AffineCoupling(2, hidden=(hidden, hidden)), fk.Reverse(2)]
            return fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
            ### END SOLUTION


        def heldout_log_likelihood(flow, x):
            """Mean log p(x) (nats) of the held-out points x, as a float."""
            ### BEGIN SOLUTION
            with torch.no_grad():
                return float(flow.log_prob(x).mean())
            ### END SOLUTION
        ''', "ex3-solution"),
        given('''
        x_train, x_val, x_test = fk.data.train_val_test("two_moons", 2000, 500, 1000, seed=0)
        torch.manual_seed(0)
        flow = make_flow()
        history = fk.fit(flow, x_train, steps=fk.course.budget(2000, 600), lr=2e-3, val_data=x_val,
                         progress=False)
        print(history)
        print(f"held-out log-likelihood: {heldout_log_likelihood(flow, x_test):.3f} nats per point")
        ''', "train"),
        tests("ex3-tests", 3),
        given('''
        # Look at what the flow learned (not graded).
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
        fk.viz.plot_samples(x_test, ax=axes[0], bounds=4.0)
        axes[0].set_title("held-out data")
        fk.viz.plot_samples(flow.sample(2000), ax=axes[1], bounds=4.0)
        axes[1].set_title("flow samples")
        fk.viz.plot_density(flow, ax=axes[2], bounds=4.0)
        axes[2].set_title("learned density")
        plt.show()
        ''', "plot"),
    ])


# ==========================================================================================
# 04 · RealNVP on images
# ==========================================================================================
def nb04():
    return notebook([
        intro("04 · Exercises: bits per dimension and the logit layer",
              "Companion to `notebooks/04_realnvp.ipynb`. Two exercises, 5 points.", "intro"),
        given(SETUP + '''
import flowkit.image  # noqa: F401 - fk.image: the image layers
''', "setup"),
        md(r"""
        ## Exercise 1 (2 points) — bits per dimension, with the dequantization term

        Images with $K$ grey levels are dequantized, $y = (x + u)/K \in [0,1)^D$ with
        $u \sim \mathcal U[0,1)^D$, and the flow models $y$. The $1/K$ scaling is a change of
        variables too: it contributes $D\log K$ nats, so the negative log-likelihood of the
        discrete image is bounded by $-\log p(y) + D\log K$, and in bits per dimension
        $$\text{bpd} = \frac{-\log p(y) + D\log K}{D\log 2}.$$
        Implement `bits_per_dim(nll_nats, num_dims, n_bins)` where `nll_nats` is $-\log p(y)$
        (a float, or a tensor with one value per image — return the same kind).
        *Known answer:* a model uniform on $[0,1)^D$ ($\log p \equiv 0$) has exactly $\log_2 K$ bits/dim.
        """, "ex1-text"),
        solution('''
        def bits_per_dim(nll_nats, num_dims, n_bins):
            """Bits/dim of K-level images from −log p(y) (nats) of the dequantized y = (x + u)/K."""
            ### BEGIN SOLUTION
            return (nll_nats + num_dims * math.log(n_bins)) / (num_dims * math.log(2))
            ### END SOLUTION
        ''', "ex1-solution"),
        tests("ex1-tests", 2),
        md(r"""
        ## Exercise 2 (3 points) — the logit layer and its log-determinant

        RealNVP models images in logit space. With $\lambda = \alpha + (1-2\alpha)\,x$, the
        normalizing direction maps data $x \in [0,1]$ elementwise to
        $y = \operatorname{logit}(\lambda) = \log\lambda - \log(1-\lambda)$.
        Implement `logit_inverse(x, alpha)`: return `(y, log|det ∂y/∂x|)` for a batch `x` of any
        shape `(batch, …)`, the log-det summed over every dimension but the batch (shape `(batch,)`).
        The map is elementwise, so the Jacobian is diagonal: differentiate
        $\operatorname{logit}(\alpha + (1-2\alpha)x)$ by hand. (The test compares with autograd
        and with `flowkit.image.Logit`; do not use `Logit` in your answer.)
        """, "ex2-text"),
        solution('''
        def logit_inverse(x, alpha=0.05):
            """y = logit(α + (1 − 2α)x) elementwise, and log|det ∂y/∂x| per batch row."""
            ### BEGIN SOLUTION
            lam = alpha + (1 - 2 * alpha) * x
            y = torch.log(lam) - torch.log1p(-lam)
            ld = math.log(1 - 2 * alpha) - torch.log(lam) - torch.log1p(-lam)
            return y, ld.reshape(x.shape[0], -1).sum(dim=1)
            ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 3),
        md("""
        ## Done

        Run all cells once more (*Kernel → Restart & Run All*) and check every test cell prints ✓.
        """, "outro"),
    ])


# ==========================================================================================
# 05 · Glow
# ==========================================================================================
def nb05():
    return notebook([
        intro("05 · Exercises: ActNorm and the log-determinant of a 1×1 convolution",
              "Companion to `notebooks/05_glow.ipynb`. Two exercises, 6 points.", "intro"),
        given(SETUP + '''
import flowkit.image  # noqa: F401 - fk.image: the image layers
''', "setup"),
        md(r"""
        ## Exercise 1 (3 points) — ActNorm as an `fk.Transform`

        ActNorm is a per-channel affine map on images `(batch, C, H, W)`: with learnable
        `log_scale` $s_c$ and `bias` $b_c$, $x_{c,h,w} = z_{c,h,w}\,e^{s_c} + b_c$.
        Complete `_forward` and `_inverse`, each returning `(output, log|det J|)` of its direction
        (shape `(batch,)`). The Jacobian is diagonal — and each $e^{s_c}$ appears once per pixel,
        so the log-det is $H\cdot W\sum_c s_c$. Read `H, W` from the input (no fixed image size);
        do not use `flowkit.image.ActNorm`.
        """, "ex1-text"),
        solution('''
        class MyActNorm(fk.Transform):
            """x = z·exp(log_scale_c) + bias_c, per channel c of (batch, C, H, W) images."""

            def __init__(self, num_channels):
                super().__init__()
                self.log_scale = torch.nn.Parameter(0.3 * torch.randn(num_channels))
                self.bias = torch.nn.Parameter(torch.randn(num_channels))

            def _forward(self, z):
                ### BEGIN SOLUTION
                s, b = self.log_scale.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
                hw = z.shape[2] * z.shape[3]
                return z * torch.exp(s) + b, (hw * self.log_scale.sum()).expand(z.shape[0])
                ### END SOLUTION

            def _inverse(self, x):
                ### BEGIN SOLUTION
                s, b = self.log_scale.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
                hw = x.shape[2] * x.shape[3]
                return (x - b) * torch.exp(-s), (-hw * self.log_scale.sum()).expand(x.shape[0])
                ### END SOLUTION
        ''', "ex1-solution"),
        tests("ex1-tests", 3),
        md(r"""
        ## Exercise 2 (3 points) — log|det| of a 1×1 convolution from an LU factorisation

        An invertible 1×1 convolution with weight $W \in \mathbb R^{C\times C}$ applies $W$ to the
        channel vector of every pixel, so $\log|\det J| = H\cdot W\cdot\log|\det W|$. Glow factors
        $W = PLU$ ($P$ a permutation, $L$ unit lower-triangular, $U$ upper-triangular with diagonal
        $s$): then $\log|\det W| = \sum_i \log|s_i|$ in $O(C)$ (03, Exercise 1).
        Implement `conv1x1_log_abs_det(weight, height, width)` with `torch.linalg.lu` and the
        diagonal of $U$ — **without** a determinant routine. Return a 0-d tensor.
        """, "ex2-text"),
        solution('''
        def conv1x1_log_abs_det(weight, height, width):
            """log|det J| of a 1×1 convolution with the (C, C) `weight` on height × width images."""
            ### BEGIN SOLUTION
            P, L, U = torch.linalg.lu(weight)
            return height * width * torch.log(torch.abs(torch.diagonal(U))).sum()
            ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 3),
        md("""
        ## Done

        Run all cells once more (*Kernel → Restart & Run All*) and check every test cell prints ✓.
        """, "outro"),
    ])


# ==========================================================================================
# 06 · evaluation
# ==========================================================================================
def nb06():
    return notebook([
        intro("06 · Exercises: AUROC and a two-sample test",
              "Companion to `notebooks/06_flow_evaluation.ipynb`. Two exercises, 5 points.", "intro"),
        given(SETUP, "setup"),
        md(r"""
        ## Exercise 1 (2 points) — AUROC by the rank (Mann–Whitney) formula

        For anomaly detection a flow gives each input a score (e.g. its NLL; higher = more
        anomalous). The area under the ROC curve is the probability that a random
        out-of-distribution input scores higher than a random in-distribution one, **ties
        counting ½**:
        $$\text{AUROC} = \frac{1}{n_\text{in} n_\text{out}}\sum_{i,j}\Big(\mathbb 1[s^\text{out}_j > s^\text{in}_i]
        + \tfrac12\,\mathbb 1[s^\text{out}_j = s^\text{in}_i]\Big)$$
        (the Mann–Whitney $U$ statistic over $n_\text{in} n_\text{out}$; it equals the rank-sum formula).
        Implement `auroc(scores_in, scores_out)` for 1-D tensors; return a Python float. Do not call
        `fk.metrics.auroc` (the test compares with it).
        """, "ex1-text"),
        solution('''
        def auroc(scores_in, scores_out):
            """P(s_out > s_in) + ½·P(s_out = s_in), as a float."""
            ### BEGIN SOLUTION
            a = torch.as_tensor(scores_in, dtype=torch.float64).reshape(1, -1)
            b = torch.as_tensor(scores_out, dtype=torch.float64).reshape(-1, 1)
            return float(((b > a).double() + 0.5 * (b == a).double()).mean())
            ### END SOLUTION
        ''', "ex1-solution"),
        tests("ex1-tests", 2),
        md(r"""
        ## Exercise 2 (3 points) — the MMD two-sample statistic, and a decision

        Samples that look right in 2-D can still come from the wrong distribution. The unbiased
        squared maximum mean discrepancy with the Gaussian kernel
        $k(a, b) = \exp(-\|a-b\|^2 / 2\sigma^2)$ is
        $$\widehat{\mathrm{MMD}}^2 = \frac{1}{n(n-1)}\sum_{i\ne j} k(x_i, x_j)
        + \frac{1}{m(m-1)}\sum_{i\ne j} k(y_i, y_j) - \frac{2}{nm}\sum_{i,j} k(x_i, y_j).$$
        1. `mmd2(x, y, sigma)` for `(n, D)` and `(m, D)` tensors: return it as a float (leave out the
           $i = j$ terms; do not call `fk.metrics.mmd`).
        2. `same_distribution(x, y, alpha=0.05)`: run `fk.metrics.mmd_test(x, y, seed=0)` (a
           permutation test, default bandwidths) and return `True` (a `bool`) when its p-value is
           above `alpha` — no evidence that the distributions differ — else `False`.
        """, "ex2-text"),
        solution('''
        def mmd2(x, y, sigma):
            """Unbiased MMD² between the samples x (n, D) and y (m, D), Gaussian kernel of width sigma."""
            ### BEGIN SOLUTION
            x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
            n, m = x.shape[0], y.shape[0]
            k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * sigma**2))
            kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
            return float((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                         + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
            ### END SOLUTION


        def same_distribution(x, y, alpha=0.05):
            """True when the MMD permutation test (seed 0) does not reject P_x = P_y at level alpha."""
            ### BEGIN SOLUTION
            return bool(fk.metrics.mmd_test(x, y, seed=0).p_value > alpha)
            ### END SOLUTION
        ''', "ex2-solution"),
        tests("ex2-tests", 3),
        md("""
        ## Done

        Run all cells once more (*Kernel → Restart & Run All*) and check every test cell prints ✓.
        """, "outro"),
    ])


NOTEBOOKS = {"01_fundamentals": nb01, "02_planar": nb02, "03_coupling": nb03,
             "04_realnvp": nb04, "05_glow": nb05, "06_evaluation": nb06}


def build(name: str) -> nbformat.NotebookNode:
    """The source notebook of assignment ``name`` (its test cells call check_exercise on it)."""
    nb = NOTEBOOKS[name]()
    for cell in nb.cells:
        cell.source = cell.source.replace(ASSIGNMENT, name)
    return nb


def main() -> None:
    for name in NOTEBOOKS:
        path = SOURCE / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(name), path)
        print("wrote", path.relative_to(SOURCE.parents[1]))


if __name__ == "__main__":
    main()
