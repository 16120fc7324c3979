"""Write the nbgrader source notebooks of the flowkit course: ``exercises/source/<a>/<a>.ipynb``.

Run ``.venv/bin/python exercises/tools/make_source.py`` after editing; the committed notebooks
are this script's output (no outputs, nbgrader metadata on every exercise cell).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_builder import given, md, notebook, solution, tests  # noqa: E402

SOURCE = Path(__file__).resolve().parents[1] / "source"

# ------------------------------------------------------------------------------------------
# shared setup cell: imports and the feedback helper used by the *visible* tests
# ------------------------------------------------------------------------------------------
SETUP = '''
import math

import torch

import flowkit as fk

fk.course.setup(seed=0)


def _log_name(d):
    """' = log 2' style names for common constant offsets."""
    names = {math.log(2): "log 2", math.log(3): "log 3", math.log(10): "log 10",
             0.5 * math.log(2 * math.pi): "½·log 2π", math.log(2 * math.pi): "log 2π", 1.0: "1"}
    for v, name in names.items():
        if abs(d - v) < 1e-3:
            return f" = {name}"
        if abs(d + v) < 1e-3:
            return f" = −{name}"
    return ""


def describe_offset(got, want, what="log-det"):
    """None if `got` matches `want` (up to float32 precision), else a sentence saying how it is off."""
    got = torch.as_tensor(got).detach().double().reshape(-1)
    want = torch.as_tensor(want).detach().double().reshape(-1)
    if got.numel() != want.numel():
        return f"your {what} has {got.numel()} values, expected {want.numel()} (one per row of the batch)"
    if not torch.isfinite(got).all():
        return f"your {what} contains inf or nan"
    diff = got - want
    tol = 1e-4 * (1 + want.abs())
    if bool((diff.abs() <= tol).all()):
        return None
    if float(want.abs().max()) > 1e-6 and bool(((got + want).abs() <= tol).all()):
        return (f"your {what} has the wrong sign (forward and inverse log-dets are negatives "
                "of each other)")
    if float(diff.max() - diff.min()) < 1e-4:
        d = float(diff.mean())
        return f"your {what} is off by a constant {d:+.4f}{_log_name(d)} for every sample"
    i = int(diff.abs().argmax())
    return (f"your {what} is off by up to {abs(float(diff[i])):.4g} (row {i}: got {float(got[i]):.4f}, "
            f"expected {float(want[i]):.4f})")


def run_check(transform, x, **kw):
    """flowkit.check, turning a failure into an AssertionError that shows the whole report."""
    try:
        report = fk.check(transform, x, **kw)
    except fk.CheckError as e:
        raise AssertionError("flowkit.check found a problem:\\n" + str(e.report)) from None
    print(report)
    return report
'''


def intro(title: str, text: str, gid: str):
    return md(f"# {title}\n\n{text}\n\n"
              "**How this works.** Write your code between the lines `# YOUR CODE HERE` / "
              "`raise NotImplementedError()` (delete the `raise`). Each exercise is followed by a "
              "test cell: run it for **immediate feedback** — it tells you *what* is off (\"your "
              "log-det is off by a constant +0.6931 = log 2\"). When grading, more (hidden) tests "
              "run in the same cells, so passing the visible tests is necessary, not sufficient. "
              "Do not edit or delete the test cells: they are restored from the original when "
              "the notebook is graded.", gid)


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
        tests('''
        x = torch.linspace(-3, 3, 7)
        got = log_prob_affine_1d(x, 2.0, 0.5)
        want = torch.distributions.Normal(0.5, 2.0).log_prob(x)
        hint = describe_offset(got, want, "log-density")
        assert hint is None, hint + "\\nRemember the Jacobian term: log p_x(x) = log p_z(z) − log|a|."
        print("✓ log_prob_affine_1d(x, 2, 0.5) is the log-density of N(0.5, 2²)")
        ''', '''
        for _a, _b in [(-0.5, 1.0), (3.0, -2.0), (1.0, 0.0), (-2.5, 0.3)]:
            _xs = _torch.linspace(-4, 4, 9, dtype=_torch.float64)
            _ref = [-0.5 * ((v - _b) / _a) ** 2 - 0.5 * _math.log(2 * _math.pi) - _math.log(abs(_a))
                    for v in _xs.tolist()]
            assert _maxerr(log_prob_affine_1d(_xs, _a, _b), _ref) < 1e-8, f"wrong for a={_a}, b={_b}"
        ''', "ex1-tests", 2),
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
        tests('''
        torch.manual_seed(1)
        T = ScaleShift(3)
        z = torch.randn(64, 3)
        x, ld = T.forward(z)
        assert x.shape == z.shape, f"forward returned x of shape {tuple(x.shape)}, expected {tuple(z.shape)}"
        assert torch.allclose(x, z * torch.exp(T.log_scale) + T.shift, atol=1e-5), \\
            "forward(z) should be exp(log_scale) * z + shift"
        hint = describe_offset(ld, T.log_scale.sum().expand(64), "forward log-det")
        assert hint is None, hint + "\\nHint: the Jacobian is diagonal with entries exp(log_scale_i)."
        run_check(T, z)
        ''', '''
        for _d in (1, 2, 5):
            _torch.manual_seed(10 + _d)
            _T = ScaleShift(_d).double()
            _z = _torch.randn(32, _d, dtype=_torch.float64)
            _x, _ld = _T.forward(_z)
            _ls, _sh = _T.log_scale.detach(), _T.shift.detach()
            assert _maxerr(_x, _z * _torch.exp(_ls) + _sh) < 1e-10
            assert _maxerr(_ld, [float(_ls.sum())] * 32) < 1e-10
            _zb, _ldi = _T.inverse(_x)
            assert _maxerr(_zb, _z) < 1e-10 and _maxerr(_ldi, [-float(_ls.sum())] * 32) < 1e-10
            _check(_T, _z, integrate=(_d == 2))
        ''', "ex2-tests", 3),
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
        tests('''
        std_normal = lambda p: -0.5 * (p**2).sum(dim=1) - math.log(2 * math.pi)
        total = integrate_2d(std_normal, -6.0, 6.0, 200)
        assert isinstance(total, float), f"return a Python float, got {type(total).__name__}"
        assert abs(total - 1) < 1e-3, f"a standard normal should integrate to 1 on [-6, 6]², got {total:.6f}"
        print(f"✓ ∫p = {total:.6f}")
        ''', '''
        _one = lambda p: _torch.zeros(p.shape[0], dtype=p.dtype)
        assert abs(integrate_2d(_one, 0.0, 2.0, 7) - 4.0) < 1e-9, "∫1 over [0, 2]² should be 4"
        _lin = lambda p: _torch.log(p[:, 0])   # ∫∫ u dudv over [0,1]² = 1/2, exact for the midpoint rule
        assert abs(integrate_2d(_lin, 0.0, 1.0, 5) - 0.5) < 1e-9, "midpoint rule: centres at lo + h(i + ½)"
        _g = lambda p: -0.5 * (((p - 1.0) / 0.5) ** 2).sum(dim=1) - _math.log(2 * _math.pi * 0.25)
        assert abs(integrate_2d(_g, -2.0, 4.0, 300) - 1.0) < 1e-4
        ''', "ex3-tests", 2),
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
        tests('''
        T = PlanarFlow(2, seed=3)
        z = torch.randn(256, 2)
        x, ld = T.forward(z)
        u = T.u_hat().detach()
        assert x.shape == z.shape, f"forward returned x of shape {tuple(x.shape)}, expected {tuple(z.shape)}"
        assert torch.allclose(x, z + torch.tanh(z @ T.w + T.b)[:, None] * u, atol=1e-5), \\
            "forward(z) should be z + û·tanh(wᵀz + b) — use self.u_hat(), not self.u"
        ref = torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(
            lambda v: T._forward(v[None])[0][0], zi))[1] for zi in z[:8]])
        hint = describe_offset(ld[:8], ref, "forward log-det")
        assert hint is None, hint + "\\nHint: log|det J| = log|1 + ûᵀψ(z)|, ψ(z) = (1 − tanh²(wᵀz + b)) w."
        run_check(T, z[:64], resolution=200)
        ''', '''
        for _d, _seed in ((1, 5), (3, 6), (5, 7)):
            _T = PlanarFlow(_d, seed=_seed).double()
            _z = _torch.randn(40, _d, dtype=_torch.float64, generator=_torch.Generator().manual_seed(_seed))
            _u, _w, _b = _T.u_hat().detach(), _T.w.detach(), float(_T.b.detach())
            _h = _torch.tanh(_z @ _w + _b)
            _x, _ld = _T.forward(_z)
            assert _maxerr(_x, _z + _h[:, None] * _u) < 1e-10
            assert _maxerr(_ld, _torch.log(_torch.abs(1 + (1 - _h**2) * float(_w @ _u)))) < 1e-9
            _check(_T, _z, integrate=False)
        ''', "ex1-tests", 3),
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
        tests('''
        torch.manual_seed(2)
        ref_T = fk.Compose([fk.Planar(2, init_scale=1.0), fk.Planar(2, init_scale=1.0)])
        x = torch.randn(100, 2) * 2
        want = fk.Flow(ref_T, fk.StandardNormal(2)).log_prob(x)
        hint = describe_offset(flow_log_prob(ref_T, x), want, "log-density")
        assert hint is None, hint + "\\nHint: log p_x(x) = log N(z; 0, I) + (the inverse's log-det)."
        mass = fk.grid.integrate_on_grid(lambda p: flow_log_prob(ref_T.double(), p), 7.0, 300)
        ref_T.float()
        assert abs(mass - 1) < 1e-3, f"your density integrates to {mass:.5f}, not 1"
        print(f"✓ matches fk.Flow.log_prob, and ∫p = {mass:.6f}")
        ''', '''
        _torch.manual_seed(20)
        for _T in (fk.Planar(3, init_scale=1.0), fk.Compose([fk.Affine(4), fk.Planar(4, init_scale=1.0)])):
            _T = _T.double()
            with _torch.no_grad():
                for _p in _T.parameters():
                    _p.add_(0.3 * _torch.randn_like(_p))
            _x = _torch.randn(50, _T.event_shape[0], dtype=_torch.float64) * 1.5
            _z, _ldi = _T.inverse(_x)
            _ref = -0.5 * (_z**2).sum(1) - 0.5 * _z.shape[1] * _math.log(2 * _math.pi) + _ldi
            assert _maxerr(flow_log_prob(_T, _x), _ref) < 1e-9, f"wrong log-density for {type(_T).__name__}"
        ''', "ex2-tests", 2),
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
        tests('''
        T = fk.Planar(2, init_scale=1.0)
        z, x = push_forward(T, 500, seed=1)
        assert z.shape == (500, 2) and x.shape == (500, 2), f"got shapes {tuple(z.shape)}, {tuple(x.shape)}"
        assert torch.equal(z, torch.randn(500, 2, generator=torch.Generator().manual_seed(1))), \\
            "draw z with torch.randn(n, D, generator=torch.Generator().manual_seed(seed))"
        assert torch.allclose(x, T.forward(z)[0]), "x should be transform.forward(z)[0]"
        print("✓ push_forward")
        ''', '''
        _T = fk.Planar(3, init_scale=1.0)
        _z, _x = push_forward(_T, 64, seed=9)
        _zr = _torch.randn(64, 3, generator=_torch.Generator().manual_seed(9))
        assert _maxerr(_z, _zr) == 0.0 and _maxerr(_x, _T.forward(_zr)[0]) < 1e-6
        assert not _x.requires_grad, "return x without a graph (torch.no_grad())"
        ''', "ex3-tests", 1),
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
        tests('''
        torch.manual_seed(0)
        L = torch.tril(torch.randn(6, 6, dtype=torch.float64)) + 3 * torch.eye(6, dtype=torch.float64)
        L[2, 2] = -0.5                       # a negative diagonal entry: mind the |·|
        for M, name in ((L, "lower"), (L.T, "upper")):
            hint = describe_offset(triangular_log_abs_det(M), torch.linalg.slogdet(M)[1], "log|det|")
            assert hint is None, f"{name}-triangular: {hint}"
        print("✓ log|det| from the diagonal")
        ''', '''
        _torch.manual_seed(3)
        _B = _torch.tril(_torch.randn(5, 4, 4, dtype=_torch.float64)) + 2 * _torch.eye(4, dtype=_torch.float64)
        _ref = [sum(_math.log(abs(float(_B[k, i, i]))) for i in range(4)) for k in range(5)]
        _saved = (_torch.linalg.slogdet, _torch.linalg.det, _torch.det, _torch.logdet, _torch.slogdet)
        def _nope(*a, **k):
            raise AssertionError("use the diagonal, not a determinant routine")
        _torch.linalg.slogdet = _torch.linalg.det = _torch.det = _torch.logdet = _torch.slogdet = _nope
        try:
            _got = triangular_log_abs_det(_B)
            _one = triangular_log_abs_det(_torch.tensor([[-2.0]], dtype=_torch.float64))
        finally:
            (_torch.linalg.slogdet, _torch.linalg.det, _torch.det, _torch.logdet, _torch.slogdet) = _saved
        assert tuple(_got.shape) == (5,), "a batch (5, 4, 4) gives 5 log-dets"
        assert _maxerr(_got, _ref) < 1e-10 and _maxerr(_one, [_math.log(2.0)]) < 1e-12
        ''', "ex1-tests", 2),
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
        tests('''
        layer = MyAffineCoupling(4, seed=1)
        z = torch.randn(128, 4)
        x, ld = layer.forward(z)
        assert x.shape == z.shape, f"forward returned x of shape {tuple(x.shape)}, expected {tuple(z.shape)}"
        assert torch.equal(x[:, :2], z[:, :2]), "x_a must be z_a, unchanged"
        s, t = layer.scale_and_shift(z[:, :2])
        assert torch.allclose(x[:, 2:], z[:, 2:] * torch.exp(s) + t, atol=1e-5), "x_b should be z_b·exp(s) + t"
        hint = describe_offset(ld, s.sum(dim=1), "forward log-det")
        assert hint is None, hint + "\\nHint: the triangular Jacobian's diagonal is (1, …, 1, exp(s_1), …)."
        z_back, ld_inv = layer.inverse(x)
        hint = describe_offset(ld_inv, -s.sum(dim=1), "inverse log-det")
        assert hint is None, hint
        run_check(MyAffineCoupling(2, seed=2), torch.randn(64, 2), resolution=200)
        ''', '''
        for _d in (2, 5):
            _L = MyAffineCoupling(_d, seed=_d).double()
            _z = _torch.randn(32, _d, dtype=_torch.float64)
            _a = _L.d_a
            _s, _t = _L.scale_and_shift(_z[:, :_a])
            _x, _ld = _L.forward(_z)
            assert _maxerr(_x[:, :_a], _z[:, :_a]) == 0.0
            assert _maxerr(_x[:, _a:], _z[:, _a:] * _torch.exp(_s) + _t) < 1e-10
            assert _maxerr(_ld, _s.sum(1)) < 1e-10
            _zb, _ldi = _L.inverse(_x)
            assert _maxerr(_zb, _z) < 1e-10 and _maxerr(_ldi, -_s.sum(1)) < 1e-10
            _check(_L, _z, integrate=False)
        ''', "ex2-tests", 4),
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
        tests('''
        assert isinstance(flow, fk.Flow), "make_flow should return an fk.Flow"
        ll = heldout_log_likelihood(flow, x_test)
        assert isinstance(ll, float), f"return a Python float, got {type(ll).__name__}"
        with torch.no_grad():
            ref = float(flow.log_prob(x_test).mean())
        assert abs(ll - ref) < 1e-4, f"heldout_log_likelihood gave {ll:.4f}, the mean of flow.log_prob is {ref:.4f}"
        gauss = torch.distributions.MultivariateNormal(x_train.mean(0), torch.cov(x_train.T))
        ll_gauss = float(gauss.log_prob(x_test).mean())
        assert ll > ll_gauss + 0.1, (f"held-out log-likelihood {ll:.3f} is not clearly better than one Gaussian "
                                     f"({ll_gauss:.3f}): more layers or steps?")
        print(f"✓ held-out log-likelihood {ll:.3f} nats vs {ll_gauss:.3f} for the best Gaussian")
        ''', '''
        _f = make_flow(3, 16)
        _n = sum(isinstance(m, fk.AffineCoupling) for m in _f.transform.modules())
        assert _n == 3, f"make_flow(3, 16) has {_n} affine couplings"
        assert all(m.conditioner[0].out_features == 16 for m in _f.transform.modules()
                   if isinstance(m, fk.AffineCoupling)), "use hidden=(hidden, hidden)"
        with _torch.no_grad():
            for _p in _f.parameters():
                _p.add_(0.1 * _torch.randn_like(_p))
        _xs = _torch.randn(300, 2)
        with _torch.no_grad():
            _ref = float(_f.log_prob(_xs).mean())
        assert abs(heldout_log_likelihood(_f, _xs) - _ref) < 1e-5
        with _torch.no_grad():
            _lp = [float(v) for v in flow.log_prob(x_test).tolist()]
        assert sum(_lp) / len(_lp) > -3.1, "the trained flow's held-out log-likelihood is too low"
        _check(flow.transform, x_test[:32], integrate=False)
        ''', "ex3-tests", 3),
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
        tests('''
        nll = torch.tensor([-20.0, 35.5, 120.0], dtype=torch.float64)
        got = bits_per_dim(nll, 64, 17)
        assert isinstance(got, torch.Tensor) and got.shape == nll.shape, \\
            "for a tensor of NLLs return a tensor of the same shape"
        want = fk.image.bits_per_dim(nll, 64, n_bins=17)
        hint = describe_offset(got, want, "bits/dim")
        if hint is not None and torch.allclose(got.double(), nll / (64 * math.log(2))):
            hint += ("\\nYou left out the dequantization term: the 1/K scaling adds D·log K nats "
                     "(log₂ K = 4.087 bits/dim for K = 17).")
        elif hint is not None and torch.allclose(got.double(), want * math.log(2)):
            hint += "\\nThat is nats per dimension: divide by log 2 for bits."
        assert hint is None, hint
        print(f"✓ bits/dim {[round(v, 4) for v in got.tolist()]}")
        ''', '''
        for _K in (2, 17, 256):
            for _D in (1, 64, 784):
                _b = float(bits_per_dim(0.0, _D, _K))
                assert abs(_b - _math.log2(_K)) < 1e-12, f"a uniform model (nll 0) has log2 K bits/dim, K={_K}, D={_D}"
        _nll = _torch.tensor([-50.0, 0.0, 3.25, 800.0], dtype=_torch.float64)
        for _D, _K in ((16, 4), (784, 256)):
            _ref = [(v + _D * _math.log(_K)) / (_D * _math.log(2)) for v in _nll.tolist()]
            assert _maxerr(bits_per_dim(_nll, _D, _K), _ref) < 1e-10, f"wrong for D={_D}, K={_K}"
        ''', "ex1-tests", 2),
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
        tests('''
        torch.manual_seed(0)
        x = torch.rand(8, 1, 4, 4, dtype=torch.float64)
        y, ld = logit_inverse(x, 0.05)
        y_ref, ld_ref = fk.image.Logit((1, 4, 4), alpha=0.05).double().inverse(x)
        assert y.shape == x.shape, f"y has shape {tuple(y.shape)}, expected {tuple(x.shape)}"
        assert torch.allclose(y, y_ref, atol=1e-8), "y should be logit(α + (1 − 2α)x) = log λ − log(1 − λ)"
        xg = x.clone().requires_grad_(True)
        dy = torch.autograd.grad(logit_inverse(xg, 0.05)[0].sum(), xg)[0]   # diagonal of the Jacobian
        ld_auto = torch.log(dy.abs()).reshape(8, -1).sum(dim=1)
        hint = describe_offset(ld, ld_auto, "log-det")
        assert hint is None, hint + ("\\nHint: dy/dx = (1 − 2α)·(1/λ + 1/(1 − λ)); sum its log over all "
                                     "16 pixels (did you keep the log(1 − 2α) of every pixel?).")
        assert torch.allclose(ld, ld_ref, atol=1e-8)
        print("✓ logit_inverse matches autograd and flowkit.image.Logit")
        ''', '''
        _Lg = _il.import_module("flowkit.image.logit").Logit
        _saved = _Lg._inverse
        def _nope(*a, **k):
            raise AssertionError("write the logit yourself, without flowkit.image.Logit")
        _cases = [(0.01, (5, 3)), (0.05, (4, 2, 3, 3)), (0.2, (3, 7))]
        _results = []
        _Lg._inverse = _nope
        try:
            for _a, _shape in _cases:
                _x = _torch.rand(*_shape, dtype=_torch.float64, generator=_torch.Generator().manual_seed(7)) * 0.98 + 0.01
                _results.append((_a, _x, logit_inverse(_x, _a)))
        finally:
            _Lg._inverse = _saved
        for _a, _x, (_y, _ld) in _results:
            _lam = [_a + (1 - 2 * _a) * v for v in _floats(_x)]
            _yref = [_math.log(l) - _math.log(1 - l) for l in _lam]
            _per = [_math.log(1 - 2 * _a) - _math.log(l) - _math.log(1 - l) for l in _lam]
            _n = len(_per) // _x.shape[0]
            _ldref = [sum(_per[i * _n:(i + 1) * _n]) for i in range(_x.shape[0])]
            assert tuple(_y.shape) == tuple(_x.shape), f"shape of y for x of shape {tuple(_x.shape)}"
            assert _maxerr(_y, _yref) < 1e-9, f"wrong y for alpha={_a}"
            assert _maxerr(_ld, _ldref) < 1e-8, f"wrong log-det for alpha={_a}, shape {tuple(_x.shape)}"
        ''', "ex2-tests", 3),
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
        tests('''
        torch.manual_seed(1)
        T = MyActNorm(2)
        z = torch.randn(16, 2, 4, 4)
        x, ld = T.forward(z)
        s, b = T.log_scale.detach(), T.bias.detach()
        assert x.shape == z.shape, f"forward returned x of shape {tuple(x.shape)}, expected {tuple(z.shape)}"
        assert torch.allclose(x, z * torch.exp(s).view(1, 2, 1, 1) + b.view(1, 2, 1, 1), atol=1e-5), \\
            "forward(z) should be z·exp(log_scale_c) + bias_c, per channel (view the parameters as (1, C, 1, 1))"
        hint = describe_offset(ld, (16 * s.sum()).expand(16), "forward log-det")
        assert hint is None, hint + "\\nHint: every one of the H·W = 16 pixels of channel c is scaled by exp(s_c)."
        _, ld_inv = T.inverse(x)
        hint = describe_offset(ld_inv, (-16 * s.sum()).expand(16), "inverse log-det")
        assert hint is None, hint
        run_check(T, z)
        ''', '''
        _An = _il.import_module("flowkit.image.actnorm").ActNorm
        _saved = (_An._forward, _An._inverse)
        def _nope(*a, **k):
            raise AssertionError("write ActNorm yourself, without flowkit.image.ActNorm")
        _An._forward = _An._inverse = _nope
        try:
            for _C, _H, _W in ((1, 3, 5), (3, 2, 2), (4, 4, 4)):
                _torch.manual_seed(_C)
                _T = MyActNorm(_C).double()
                _z = _torch.randn(6, _C, _H, _W, dtype=_torch.float64)
                _ls, _b = _T.log_scale.detach(), _T.bias.detach()
                _x, _ld = _T.forward(_z)
                assert _maxerr(_x, _z * _torch.exp(_ls).view(1, -1, 1, 1) + _b.view(1, -1, 1, 1)) < 1e-10
                assert _maxerr(_ld, [_H * _W * sum(_floats(_ls))] * 6) < 1e-9, f"log-det wrong for a {_H}x{_W} image"
                _zb, _ldi = _T.inverse(_x)
                assert _maxerr(_zb, _z) < 1e-10 and _maxerr(_ldi, [-_H * _W * sum(_floats(_ls))] * 6) < 1e-9
                _check(_T, _z, integrate=False)
        finally:
            _An._forward, _An._inverse = _saved
        ''', "ex1-tests", 3),
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
        tests('''
        torch.manual_seed(2)
        Wm = torch.randn(4, 4, dtype=torch.float64)
        got = conv1x1_log_abs_det(Wm, 3, 5)
        want = 15 * torch.linalg.slogdet(Wm)[1]
        hint = describe_offset(got, want, "log|det|")
        if hint is not None and abs(float(got) - float(want) / 15) < 1e-6:
            hint += "\\nMultiply by H·W: the same C×C matrix acts on every pixel."
        assert hint is None, hint
        conv = fk.image.InvConv1x1(4, lu=True).double()
        z = torch.randn(2, 4, 3, 5, dtype=torch.float64)
        ld_layer = conv.forward(z)[1][0]
        hint = describe_offset(conv1x1_log_abs_det(conv.weight_matrix().detach(), 3, 5), ld_layer, "log|det|")
        assert hint is None, "compared with fk.image.InvConv1x1: " + hint
        print(f"✓ H·W·log|det W| = {float(got):.4f}, and it matches fk.image.InvConv1x1")
        ''', '''
        _torch.manual_seed(5)
        _mats = [_torch.randn(_c, _c, dtype=_torch.float64) for _c in (1, 3, 6)]
        _mats.append(_torch.tensor([[0.0, 2.0], [-3.0, 0.5]], dtype=_torch.float64))   # needs pivoting
        _mats.append(-_torch.eye(3, dtype=_torch.float64) * 0.5)                           # negative det
        _refs = [float(_torch.linalg.slogdet(_m)[1]) for _m in _mats]
        _saved = (_torch.linalg.slogdet, _torch.linalg.det, _torch.det, _torch.logdet, _torch.slogdet)
        def _nope(*a, **k):
            raise AssertionError("use the LU factors, not a determinant routine")
        _got = []
        _torch.linalg.slogdet = _torch.linalg.det = _torch.det = _torch.logdet = _torch.slogdet = _nope
        try:
            for _m in _mats:
                _got.append(conv1x1_log_abs_det(_m, 4, 7))
        finally:
            (_torch.linalg.slogdet, _torch.linalg.det, _torch.det, _torch.logdet, _torch.slogdet) = _saved
        for _g, _r in zip(_got, _refs, strict=True):
            assert _maxerr(_g, [28 * _r]) < 1e-8, f"got {_floats(_g)}, expected {28 * _r}"
        ''', "ex2-tests", 3),
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
        tests('''
        s_in = torch.tensor([0.0, 1.0, 1.0, 2.0, 3.0])
        s_out = torch.tensor([1.0, 2.0, 3.0, 3.0, 4.0, 5.0])
        got = auroc(s_in, s_out)
        assert isinstance(got, float), f"return a Python float, got {type(got).__name__}"
        want = fk.metrics.auroc(s_in, s_out)
        strict = float((s_out[:, None] > s_in[None, :]).double().mean())
        if abs(got - want) > 1e-9 and abs(got - strict) < 1e-9:
            raise AssertionError(f"got {got:.4f}, expected {want:.4f}: ties (equal scores) count ½")
        assert abs(got - want) < 1e-9, f"got {got:.4f}, expected {want:.4f} (fk.metrics.auroc)"
        torch.manual_seed(0)
        a, b = torch.randn(300), torch.randn(200) + 1.0
        assert abs(auroc(a, b) - fk.metrics.auroc(a, b)) < 1e-9, "wrong for continuous scores"
        assert abs(auroc(b, a) - (1 - fk.metrics.auroc(a, b))) < 1e-9, "swapping in and out gives 1 − AUROC"
        print(f"✓ AUROC {got:.4f} with ties, {auroc(a, b):.4f} for N(0,1) vs N(1,1)")
        ''', '''
        _M = _il.import_module("flowkit.metrics")
        _saved = _M.auroc
        def _nope(*a, **k):
            raise AssertionError("compute the AUROC yourself, not with fk.metrics.auroc")
        _si = _torch.randint(0, 6, (7,), generator=_torch.Generator().manual_seed(1)).double()
        _so = _torch.randint(2, 9, (11,), generator=_torch.Generator().manual_seed(2)).double()
        _ref = sum((o > i) + 0.5 * (o == i) for i in _si.tolist() for o in _so.tolist()) / (7 * 11)
        _M.auroc = _nope
        try:
            _r = [auroc(_torch.tensor([0.0, 1.0]), _torch.tensor([2.0, 3.0, 4.0])),
                  auroc(_torch.tensor([2.0, 3.0, 4.0]), _torch.tensor([0.0, 1.0])),
                  auroc(_torch.ones(4), _torch.ones(9)),
                  auroc(_si, _so)]
        finally:
            _M.auroc = _saved
        assert all(isinstance(v, float) for v in _r), "return Python floats"
        assert _maxerr(_r, [1.0, 0.0, 0.5, _ref]) < 1e-12, f"got {_r}"
        ''', "ex1-tests", 2),
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
        tests('''
        g = torch.Generator().manual_seed(0)
        x = torch.randn(200, 2, generator=g)
        y_same = torch.randn(200, 2, generator=g)
        y_shift = torch.randn(200, 2, generator=g) + torch.tensor([0.7, 0.0])
        for y, name in ((y_same, "identical"), (y_shift, "shifted")):
            got, want = mmd2(x, y, 1.0), fk.metrics.mmd(x, y, bandwidths=1.0)
            assert isinstance(got, float), f"return a Python float, got {type(got).__name__}"
            if abs(got - want) > 1e-8:
                raise AssertionError(f"{name} distributions: MMD² = {got:.6f}, expected {want:.6f}. Check the "
                                     "kernel exp(−‖a−b‖²/2σ²) and leave out the i = j terms of the x–x and y–y sums.")
        print(f"✓ MMD²: {mmd2(x, y_same, 1.0):+.5f} (identical) vs {mmd2(x, y_shift, 1.0):+.5f} (shifted)")
        same, shifted = same_distribution(x, y_same), same_distribution(x, y_shift)
        assert isinstance(same, bool) and isinstance(shifted, bool), "return a bool"
        assert same, "two samples of N(0, I) should not be told apart (p-value above alpha)"
        assert not shifted, "a shift of 0.7 with 200 points each should be detected (p-value ≤ alpha)"
        print("✓ the test keeps identical distributions and rejects the shifted one")
        ''', '''
        _M = _il.import_module("flowkit.metrics")
        _xs = [[0.0, 0.0], [1.0, 0.5], [-0.5, 2.0], [0.3, -1.0], [2.0, 2.0]]
        _ys = [[0.5, 0.5], [1.5, -0.5], [3.0, 1.0], [-1.0, -1.0], [0.0, 2.5], [1.0, 1.0]]
        def _k(a, b, s):
            return _math.exp(-sum((u - v) ** 2 for u, v in zip(a, b, strict=True)) / (2 * s * s))
        def _ref(X, Y, s):
            n, m = len(X), len(Y)
            kxx = sum(_k(X[i], X[j], s) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
            kyy = sum(_k(Y[i], Y[j], s) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
            return kxx + kyy - 2 * sum(_k(a, b, s) for a in X for b in Y) / (n * m)
        _saved = _M.mmd
        def _nope(*a, **k):
            raise AssertionError("compute MMD² yourself, not with fk.metrics.mmd")
        _M.mmd = _nope
        try:
            _got = [mmd2(_torch.tensor(_xs, dtype=_torch.float64), _torch.tensor(_ys, dtype=_torch.float64), _s)
                    for _s in (0.5, 1.0, 3.0)]
        finally:
            _M.mmd = _saved
        assert _maxerr(_got, [_ref(_xs, _ys, _s) for _s in (0.5, 1.0, 3.0)]) < 1e-10, "wrong MMD² on a small example"
        _g = _torch.Generator().manual_seed(3)
        _a, _b = _torch.randn(150, 1, generator=_g), _torch.randn(150, 1, generator=_g)
        assert same_distribution(_a, _b) is True and same_distribution(_a, _b + 1.0) is False
        assert same_distribution(_a, _b, alpha=1.0) is False, "p-value above alpha ⇒ True; never above 1"
        ''', "ex2-tests", 3),
        md("""
        ## Done

        Run all cells once more (*Kernel → Restart & Run All*) and check every test cell prints ✓.
        """, "outro"),
    ])


NOTEBOOKS = {"01_fundamentals": nb01, "02_planar": nb02, "03_coupling": nb03,
             "04_realnvp": nb04, "05_glow": nb05, "06_evaluation": nb06}


def main() -> None:
    for name, build in NOTEBOOKS.items():
        path = SOURCE / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(), path)
        print("wrote", path.relative_to(SOURCE.parents[1]))


if __name__ == "__main__":
    main()
