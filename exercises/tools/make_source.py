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


NOTEBOOKS = {"01_fundamentals": nb01, "02_planar": nb02, "03_coupling": nb03}


def main() -> None:
    for name, build in NOTEBOOKS.items():
        path = SOURCE / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(), path)
        print("wrote", path.relative_to(SOURCE.parents[1]))


if __name__ == "__main__":
    main()
