"""Checks of assignment 02 (a planar flow: the map and its log-det, its density, samples)."""

from __future__ import annotations

import math

import numpy as np
import torch

import flowkit as fk

from .common import build_transform, learner_float64, load_state, require_defined, run_pair, tensor
from .numeric import evaluate_mixed, midpoint_grid
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_pair, as_remote, describe_offset, expect_close
from .wire import Tensor


def u_hat_reference(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """û = u + (m(wᵀu) − wᵀu)·w/‖w‖², m(a) = −1 + 10⁻⁴ + softplus(a) (float64)."""
    wu = float(w @ u)
    m = -1 + 1e-4 + (math.log1p(math.exp(wu)) if wu < 30 else wu)
    return u + (m - wu) * w / float(w @ w)


def planar_reference(u: np.ndarray, w: np.ndarray, b: float, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and log|det J| of z + û·tanh(wᵀz + b) with the exercise's constrained û (float64)."""
    u_hat = u_hat_reference(u, w)
    h = np.tanh(z @ w + b)
    return z + h[:, None] * u_hat, np.log(np.abs(1 + (1 - h**2) * float(w @ u_hat)))


def _new_planar(student: Student, rng: np.random.Generator, d: int, u: np.ndarray, w: np.ndarray, b: float):
    flow = as_remote(student.call("PlanarFlow", d, seed=int(rng.integers(0, 1000))), f"PlanarFlow({d})")
    flow = learner_float64(student, flow, "PlanarFlow")
    load_state(student, flow, {"u": tensor(u), "w": tensor(w), "b": tensor(np.array(b))}, "PlanarFlow")
    return flow


def _check_u_hat(student: Student, rng: np.random.Generator) -> None:
    d = int(rng.integers(2, 5))
    w = rng.normal(0, 1.2, d)
    for wu in (-2.5, float(rng.normal(0, 1))):          # a folding raw u, then a harmless one
        u = rng.normal(0, 1, d)
        u = u + (wu - float(w @ u)) * w / float(w @ w)
        flow = _new_planar(student, rng, d, u, w, 0.0)
        got = as_array(student.call_method(flow, "u_hat"), "u_hat()", (d,))
        want = u_hat_reference(u, w)
        if describe_offset(got, want, "û", rtol=1e-9, atol=1e-9) is None:
            continue
        wu_got, wu_want = float(w @ got), float(w @ want)
        if wu_got <= -1:
            raise CheckFailed(f"for wᵀu = {wu:+.2f} your û has wᵀû = {wu_got:+.4f} ≤ −1: the map folds (it is not "
                              "invertible). û = u + (m(wᵀu) − wᵀu)·w/‖w‖² sets wᵀû = m(wᵀu) > −1.")
        raise CheckFailed(f"for wᵀu = {wu:+.2f} your û has wᵀû = {wu_got:+.6f}, expected m(wᵀu) = −1 + 10⁻⁴ + "
                          f"softplus(wᵀu) = {wu_want:+.6f} (and only the component along w may change)")


def _forward_hint(x: np.ndarray, ld: np.ndarray, z: np.ndarray, u: np.ndarray, w: np.ndarray, b: float) -> str | None:
    x_ref, ld_ref = planar_reference(u, w, b, z)
    if describe_offset(x, x_ref, "x", rtol=1e-9, atol=1e-9) is not None:
        if describe_offset(x, z + np.tanh(z @ w + b)[:, None] * u, "x", rtol=1e-9, atol=1e-9) is None:
            return "forward(z) gives the wrong x: use the constrained û = self.u_hat(), not self.u"
        return "forward(z) gives the wrong x: x should be z + û·tanh(wᵀz + b)"
    message = describe_offset(ld, ld_ref, "forward log-det", rtol=1e-9, atol=1e-9)
    if message is None:
        return None
    wu_hat = float(w @ u_hat_reference(u, w))
    h = np.tanh(z @ w + b)
    if np.allclose(ld, np.log(abs(1 + wu_hat)), atol=1e-9):
        return (message + "\nYour log-det is the same for every sample: ψ(z) = (1 − tanh²(wᵀz + b))·w depends on z — "
                "did you forget the derivative of tanh?")
    if np.allclose(ld, np.log(np.abs((1 - h**2) * wu_hat)), atol=1e-9):
        return message + "\nThe matrix determinant lemma gives 1 + ûᵀψ(z): log|1 + ûᵀψ(z)|, not log|ûᵀψ(z)|."
    return message + "\nHint: log|det J| = log|1 + ûᵀψ(z)|, ψ(z) = (1 − tanh²(wᵀz + b)) w."


@exercise("02_planar", "ex1-tests")
def planar_forward(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "PlanarFlow")
    _check_u_hat(student, rng)
    for d in (2, 1, int(rng.integers(3, 6))):
        u, w, b = rng.normal(0, 1.2, d), rng.normal(0, 1.2, d), float(rng.normal(0, 1))
        flow = _new_planar(student, rng, d, u, w, b)
        z = rng.normal(0, 1.5, (int(rng.integers(20, 60)), d))
        x, ld = run_pair(student, flow, "forward", z, "forward(z)")
        hint = _forward_hint(x, ld, z, u, w, b)
        if hint is not None:
            raise CheckFailed(f"D = {d}: {hint}")
        z_back, ld_inv = run_pair(student, flow, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", "the given inverse uses your u_hat and forward: keep their "
                     "signatures", rtol=1e-6, atol=1e-6)
        expect_close(ld_inv, -ld, "inverse log-det", rtol=1e-6, atol=1e-6)
    return "û keeps wᵀû > −1, and x and the log-det match the formula in 1, 2 and more dimensions"


def _reference_transform(rng: np.random.Generator, d: int, kind: str) -> tuple[tuple, torch.nn.Module]:
    torch.manual_seed(int(rng.integers(0, 2**31)))
    if kind == "planar":
        spec = ("Planar", (d,), {"init_scale": 1.0})
        local = fk.Planar(d, init_scale=1.0)
    else:
        spec = ("Compose", [("Affine", (d,), {}), ("Planar", (d,), {"init_scale": 1.0})])
        local = fk.Compose([fk.Affine(d), fk.Planar(d, init_scale=1.0)])
    local = local.double()
    with torch.no_grad():
        for p in local.parameters():
            p.add_(torch.tensor(rng.normal(0, 0.3, tuple(p.shape))))
    return spec, local


def _log_prob_ref(local: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return fk.Flow(local, fk.StandardNormal(x.shape[1])).double().log_prob(torch.tensor(x)).numpy()


def _density_hint(got: np.ndarray, want: np.ndarray, local: torch.nn.Module, x: np.ndarray) -> str:
    with torch.no_grad():
        ld_inv = local.inverse(torch.tensor(x))[1].numpy()
    const = 0.5 * x.shape[1] * math.log(2 * math.pi)
    if describe_offset(got, want + const, "") is None:
        return (f"You left out the normalising constant of N(0, I): −(D/2)·log 2π = {-const:.4f} for D = "
                f"{x.shape[1]}.")
    if describe_offset(got, want - ld_inv, "") is None:
        return "You left out the log-det: log p_x(x) = log N(z; 0, I) + log|det ∂f⁻¹/∂x| (the inverse's log-det)."
    if describe_offset(got, want - 2 * ld_inv, "") is None:
        return "The inverse's log-det enters with a + sign (it is log|det ∂f⁻¹/∂x|, not the forward one)."
    return "Hint: log p_x(x) = log N(z; 0, I) + (the inverse's log-det), with z = f⁻¹(x)."


_MASS_TOL, _RESOLVABLE_TRIES = 2e-3, 50  # ex2: |∫p − 1| allowed on the grid; draws of a resolvable map


@exercise("02_planar", "ex2-tests")
def flow_log_prob(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "flow_log_prob")
    for d, kind in ((int(rng.integers(3, 6)), "planar"), (int(rng.integers(2, 5)), "compose")):
        spec, local = _reference_transform(rng, d, kind)
        remote = build_transform(student, spec, local)
        x = rng.normal(0, 1.5, (int(rng.integers(30, 70)), d))
        got = as_array(student.call("flow_log_prob", remote, tensor(x)), "flow_log_prob(transform, x)", (len(x),))
        want = _log_prob_ref(local, x)
        message = describe_offset(got, want, "log-density", rtol=1e-8, atol=1e-8)
        if message is not None:
            raise CheckFailed(f"{message} (a {kind} transform in {d}-D)\n{_density_hint(got, want, local, x)}")
    # the density integrates to 1 (2-D), with held-out points mixed into the grid. About 2 % of the
    # random planar maps fold the plane so sharply (or reach so far) that the 200 × 200 grid misses
    # their mass by more than the tolerance even for the exact density: redraw until fk.Flow's own
    # density integrates to 1 within a tenth of the tolerance there, so a right answer always passes.
    grid, area = midpoint_grid(-7.0, 7.0, 200)
    for _ in range(_RESOLVABLE_TRIES):
        spec, local = _reference_transform(rng, 2, "planar")
        if abs(float(np.exp(_log_prob_ref(local, grid)).sum() * area) - 1) <= _MASS_TOL / 10:
            break
    remote = build_transform(student, spec, local)
    test = rng.normal(0, 1.5, (64, 2))

    def evaluate(points: np.ndarray) -> np.ndarray:
        return as_array(student.call("flow_log_prob", remote, tensor(points)), "flow_log_prob on a grid", (len(points),))

    on_grid, on_test = evaluate_mixed(evaluate, grid, test, rng)
    expect_close(on_test, _log_prob_ref(local, test), "log-density", rtol=1e-8, atol=1e-8)
    mass = float(np.exp(on_grid).sum() * area)
    if abs(mass - 1) > _MASS_TOL:
        raise CheckFailed(f"your density integrates to {mass:.5f} on [-7, 7]², not 1")
    return f"matches fk.Flow.log_prob, and ∫p = {mass:.5f}"


@exercise("02_planar", "ex3-tests")
def push_forward(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "push_forward")
    d, n, seed = int(rng.integers(2, 5)), int(rng.integers(20, 90)), int(rng.integers(0, 10**6))
    torch.manual_seed(int(rng.integers(0, 2**31)))
    local = fk.Planar(d, init_scale=1.0)
    remote = build_transform(student, ("Planar", (d,), {"init_scale": 1.0}), local)
    z, x = as_pair(student.call("push_forward", remote, n, seed=seed), f"push_forward(transform, {n}, seed={seed})")
    if isinstance(x, Tensor) and x.grad:
        raise CheckFailed("return x without a graph: compute it under torch.no_grad()")
    z = as_array(z, "z", (n, d))
    x = as_array(x, "x", (n, d))
    z_ref = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x_ref = local.forward(z_ref)[0].double().numpy()
    z_ref = z_ref.double().numpy()
    if np.array_equal(x, z_ref) and np.allclose(z, x_ref, rtol=1e-5, atol=1e-5):
        raise CheckFailed("you returned (x, z): return (z, x) in this order")
    if not np.array_equal(z, z_ref):
        raise CheckFailed("draw z with torch.randn(n, D, generator=torch.Generator().manual_seed(seed))")
    expect_close(x, x_ref, "x", "x should be transform.forward(z)[0]", rtol=1e-5, atol=1e-5)
    return "the right base samples, pushed through the flow"
