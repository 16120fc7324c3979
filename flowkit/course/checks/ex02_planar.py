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


def planar_reference(u: np.ndarray, w: np.ndarray, b: float, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and log|det J| of z + û·tanh(wᵀz + b) with the exercise's constrained û (float64)."""
    wu = float(w @ u)
    m = -1 + 1e-4 + math.log1p(math.exp(wu)) if wu < 30 else -1 + 1e-4 + wu
    u_hat = u + (m - wu) * w / float(w @ w)
    h = np.tanh(z @ w + b)
    return z + h[:, None] * u_hat, np.log(np.abs(1 + (1 - h**2) * float(w @ u_hat)))


@exercise("02_planar", "ex1-tests", points=3, title="planar flow: x = z + û·tanh(wᵀz + b) and log|1 + ûᵀψ(z)|")
def planar_forward(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "PlanarFlow")
    for d in (2, 1, int(rng.integers(3, 6))):
        flow = as_remote(student.call("PlanarFlow", d, seed=int(rng.integers(0, 1000))), f"PlanarFlow({d})")
        flow = learner_float64(student, flow, "PlanarFlow")
        u, w, b = rng.normal(0, 1.2, d), rng.normal(0, 1.2, d), float(rng.normal(0, 1))
        load_state(student, flow, {"u": tensor(u), "w": tensor(w), "b": tensor(np.array(b))}, "PlanarFlow")
        z = rng.normal(0, 1.5, (int(rng.integers(20, 60)), d))
        x, ld = run_pair(student, flow, "forward", z, "forward(z)")
        x_ref, ld_ref = planar_reference(u, w, b, z)
        x_plain = z + np.tanh(z @ w + b)[:, None] * u
        if describe_offset(x, x_ref, "x", rtol=1e-9, atol=1e-9) is not None:
            hint = ("use the constrained û = self.u_hat(), not self.u"
                    if describe_offset(x, x_plain, "x", rtol=1e-9, atol=1e-9) is None
                    else "x should be z + û·tanh(wᵀz + b)")
            raise CheckFailed(f"forward(z) gives the wrong x for D = {d}: {hint}")
        expect_close(ld, ld_ref, "forward log-det",
                     "Hint: log|det J| = log|1 + ûᵀψ(z)|, ψ(z) = (1 − tanh²(wᵀz + b)) w.", rtol=1e-9, atol=1e-9)
        z_back, ld_inv = run_pair(student, flow, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", "the given inverse uses your _forward: keep its signature",
                     rtol=1e-6, atol=1e-6)
        expect_close(ld_inv, -ld_ref, "inverse log-det", rtol=1e-6, atol=1e-6)
    return "x and the log-det match the formula in 1, 2 and more dimensions"


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
    if describe_offset(got, want - ld_inv, "") is None:
        return "You left out the log-det: log p_x(x) = log N(z; 0, I) + log|det ∂f⁻¹/∂x| (the inverse's log-det)."
    if describe_offset(got, want - 2 * ld_inv, "") is None:
        return "The inverse's log-det enters with a + sign (it is log|det ∂f⁻¹/∂x|, not the forward one)."
    return "Hint: log p_x(x) = log N(z; 0, I) + (the inverse's log-det), with z = f⁻¹(x)."


@exercise("02_planar", "ex2-tests", points=2, title="the density of a flow by the change of variables")
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
    # the density integrates to 1 (2-D), with held-out points mixed into the grid
    spec, local = _reference_transform(rng, 2, "planar")
    remote = build_transform(student, spec, local)
    grid, area = midpoint_grid(-7.0, 7.0, 200)
    test = rng.normal(0, 1.5, (64, 2))

    def evaluate(points: np.ndarray) -> np.ndarray:
        return as_array(student.call("flow_log_prob", remote, tensor(points)), "flow_log_prob on a grid", (len(points),))

    on_grid, on_test = evaluate_mixed(evaluate, grid, test, rng)
    expect_close(on_test, _log_prob_ref(local, test), "log-density", rtol=1e-8, atol=1e-8)
    mass = float(np.exp(on_grid).sum() * area)
    if abs(mass - 1) > 2e-3:
        raise CheckFailed(f"your density integrates to {mass:.5f} on [-7, 7]², not 1")
    return f"matches fk.Flow.log_prob, and ∫p = {mass:.5f}"


@exercise("02_planar", "ex3-tests", points=1, title="push base samples through the flow")
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
    if not np.array_equal(z, z_ref.double().numpy()):
        raise CheckFailed("draw z with torch.randn(n, D, generator=torch.Generator().manual_seed(seed))")
    with torch.no_grad():
        x_ref = local.forward(z_ref)[0].double().numpy()
    expect_close(x, x_ref, "x", "x should be transform.forward(z)[0]", rtol=1e-5, atol=1e-5)
    return "the right base samples, pushed through the flow"
