"""Checks of assignment 03 (triangular log-dets, an affine coupling layer, training on two moons).

The coupling layer and the trained flow have internals the learner chooses (their conditioner,
their training run), so besides the formulas these checks test **self-consistency** that only a
correct answer has: log-dets against Jacobians computed here by finite differences from many
forward evaluations at points chosen here, round trips, and a density that integrates to 1 on a
grid chosen here, with held-out points shuffled in among the grid points.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import flowkit as fk

from .common import learner_float64, require_defined, run_pair, tensor
from .numeric import evaluate_mixed, fd_logabsdet, midpoint_grid
from .registry import exercise
from .student import Student, StudentError
from .verdict import CheckFailed, as_array, as_float, as_pair, as_remote, describe_offset, expect_close
from .wire import Lib, Remote

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _triangular(rng: np.random.Generator, batch: tuple, d: int, upper: bool) -> np.ndarray:
    m = rng.normal(0, 1, (*batch, d, d))
    m = np.triu(m) if upper else np.tril(m)
    diag = rng.uniform(0.3, 3.0, (*batch, d)) * rng.choice([-1.0, 1.0], (*batch, d))
    idx = np.arange(d)
    m[..., idx, idx] = diag
    return m


@exercise("03_coupling", "ex1-tests", points=2, title="log|det| of a triangular matrix from its diagonal")
def triangular_log_abs_det(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "triangular_log_abs_det")
    cases = [((), int(rng.integers(3, 8)), False), ((), int(rng.integers(3, 8)), True),
             ((int(rng.integers(2, 6)),), int(rng.integers(2, 6)), False), ((2, 3), 4, True), ((), 1, False)]
    for batch, d, upper in cases:
        m = _triangular(rng, batch, d, upper)
        what = f"triangular_log_abs_det of a {'upper' if upper else 'lower'}-triangular {tuple(m.shape)} input"
        got = as_array(student.call("triangular_log_abs_det", tensor(m)), what, batch, finite=False)
        want = np.log(np.abs(np.diagonal(m, axis1=-2, axis2=-1))).sum(axis=-1)
        message = describe_offset(got, want, "log|det|", rtol=1e-9, atol=1e-9)
        if message is not None:
            hint = "\nA negative diagonal entry needs the absolute value: log|T_ii|." if (m.diagonal(0, -2, -1) < 0).any() else ""
            raise CheckFailed(f"{what}: {message}{hint}")
    full = rng.normal(0, 1, (5, 5)) + 3 * np.eye(5)
    got = as_array(student.call("triangular_log_abs_det", tensor(full)), "triangular_log_abs_det", ())
    if abs(float(got) - float(np.log(np.abs(np.diag(full))).sum())) > 1e-9:
        raise CheckFailed("compute log|det T| from the diagonal only (O(d)), without a determinant routine: "
                          "on a matrix that is not triangular your function does not give Σ log|T_ii|")
    return "Σ log|T_ii| for lower, upper and batched matrices"


def _coupling_layer(student: Student, d: int, seed: int) -> Remote:
    layer = as_remote(student.call("MyAffineCoupling", d, seed=seed), f"MyAffineCoupling({d})")
    return learner_float64(student, layer, "MyAffineCoupling")


def _coupling_hint(ld: np.ndarray, s: np.ndarray) -> str:
    if describe_offset(ld, -s.sum(axis=1), "") is None:
        return "the forward log-det is +Σ s_i (x_b = z_b·exp(s) + t stretches by exp(s))"
    if describe_offset(ld, np.exp(s).sum(axis=1), "") is None:
        return "the log-det is Σ s_i, not Σ exp(s_i): log|det| of diag(exp(s)) is the sum of the logs"
    return "the triangular Jacobian's diagonal is (1, …, 1, exp(s_1), …): log|det J| = Σ s_i"


@exercise("03_coupling", "ex2-tests", points=4, title="an affine coupling layer, both directions")
def affine_coupling(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "MyAffineCoupling")
    for d in (2, int(rng.integers(3, 7))):
        layer = _coupling_layer(student, d, int(rng.integers(0, 1000)))
        a = d // 2
        z = rng.normal(0, 1.2, (int(rng.integers(24, 48)), d))
        x, ld = run_pair(student, layer, "forward", z, "forward(z)")
        s, t = (as_array(v, f"scale_and_shift(z_a) [{k}]", (len(z), d - a))
                for k, v in zip("st", as_pair(student.call_method(layer, "scale_and_shift", tensor(z[:, :a])),
                                              "scale_and_shift"), strict=True))
        if not np.array_equal(x[:, :a], z[:, :a]):
            raise CheckFailed(f"x_a must be z_a unchanged (the first D//2 = {a} features, D = {d})")
        expect_close(x[:, a:], z[:, a:] * np.exp(s) + t, "x_b", "x_b should be z_b·exp(s(z_a)) + t(z_a)",
                     rtol=1e-9, atol=1e-9)
        message = describe_offset(ld, s.sum(axis=1), "forward log-det", rtol=1e-9, atol=1e-9)
        if message is not None:
            raise CheckFailed(f"{message}\nHint: {_coupling_hint(ld, s)}")
        z_back, ld_inv = run_pair(student, layer, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", "z_b = (x_b − t(x_a))·exp(−s(x_a)), and z_a = x_a",
                     rtol=1e-8, atol=1e-8)
        expect_close(ld_inv, -ld, "inverse log-det", "the inverse's log-det is −Σ s_i", rtol=1e-8, atol=1e-8)
        pts = z[:12]
        fd = fd_logabsdet(lambda p: run_pair(student, layer, "forward", p, "forward")[0], pts, 1e-6)
        expect_close(ld[:12], fd, "forward log-det compared with log|det| of the Jacobian (finite differences)",
                     "your log-det must be that of the map forward() computes", rtol=1e-5, atol=1e-5)
    return "exact in both directions, and the log-det matches the Jacobian of your map"


def _flow_parts(student: Student) -> tuple[Remote, Remote]:
    require_defined(student, "flow", "heldout_log_likelihood")
    flow = as_remote(student.get("flow"), "flow")
    copy = learner_float64(student, as_remote(student.call(Lib("copy:deepcopy"), flow), "a copy of flow"), "flow")
    try:
        transform = as_remote(student.get(copy, "transform"), "flow.transform")
    except StudentError as e:
        raise CheckFailed(f"flow should be an fk.Flow (it has no .transform: {e.message})") from None
    return flow, (copy, transform)


def _log_normal(z: np.ndarray) -> np.ndarray:
    return -0.5 * (z**2).sum(axis=1) - z.shape[1] * HALF_LOG_2PI


def check_flow_density(student: Student, flow: Remote, rng: np.random.Generator, lo: float = -7.0,
                       hi: float = 7.0, n: int = 200, test: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """∫ exp(log_prob) on a grid, and log_prob at ``test`` points mixed into the same call."""
    grid, area = midpoint_grid(lo, hi, n)
    test = np.zeros((0, 2)) if test is None else test

    def evaluate(points: np.ndarray) -> np.ndarray:
        return as_array(student.call_method(flow, "log_prob", tensor(points, "float32")), "flow.log_prob(x)",
                        (len(points),))

    on_grid, on_test = evaluate_mixed(evaluate, grid, test, rng)
    return float(np.exp(on_grid).sum() * area), on_test


def check_is_a_flow(student: Student, copy: Remote, transform: Remote, x: np.ndarray) -> None:
    """log_prob = log N(z) + log-det of the inverse, round trip, and log-dets vs finite differences."""
    lp = as_array(student.call_method(copy, "log_prob", tensor(x)), "flow.log_prob(x)", (len(x),))
    z, ld = run_pair(student, transform, "inverse", x, "flow.transform.inverse(x)")
    expect_close(lp, _log_normal(z) + ld, "flow.log_prob",
                 "log_prob must be log N(z; 0, I) + the inverse's log-det of flow.transform", rtol=1e-6, atol=1e-6)
    x_back, _ = run_pair(student, transform, "forward", z, "flow.transform.forward(z)")
    expect_close(x_back, x, "forward(inverse(x))", "the flow's transform must be invertible", rtol=1e-5, atol=1e-5)
    fd = fd_logabsdet(lambda p: run_pair(student, transform, "inverse", p, "inverse")[0], x, 1e-6)
    bad = np.abs(fd - ld) > 1e-4 * (1 + np.abs(fd))
    if bad.mean() > 0.1:          # a ReLU kink between two finite-difference points spoils a few
        i = int(np.argmax(bad))
        raise CheckFailed(f"the flow's log-det is not that of its map: at x = {x[i].round(3).tolist()} it reports "
                          f"{ld[i]:.5f}, the Jacobian by finite differences gives {fd[i]:.5f}")


@exercise("03_coupling", "ex3-tests", points=3, title="a flow trained on two moons, judged on held-out data")
def trained_flow(student: Student, rng: np.random.Generator) -> str:
    flow, (copy, transform) = _flow_parts(student)
    seed = int(rng.integers(0, 2**31))
    test = fk.data.sample("two_moons", 1000, seed=seed).double().numpy()
    train_like = fk.data.sample("two_moons", 2000, seed=seed + 1).double().numpy()
    mass, lp_test = check_flow_density(student, flow, rng, test=test)
    if not 0.97 <= mass <= 1.02:
        raise CheckFailed(f"flow.log_prob integrates to {mass:.4f} on [-7, 7]², not 1: it is not a normalised density")
    check_is_a_flow(student, copy, transform, test[rng.choice(len(test), 24, replace=False)])
    ll = as_float(student.call("heldout_log_likelihood", flow, tensor(test, "float32")),
                  "heldout_log_likelihood(flow, x)")
    if abs(ll - float(lp_test.mean())) > 1e-3:
        raise CheckFailed(f"heldout_log_likelihood gave {ll:.4f}, the mean of flow.log_prob is {lp_test.mean():.4f}")
    mean, cov = train_like.mean(0), np.cov(train_like.T)
    diff = test - mean
    ll_gauss = float(np.mean(-0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
                             - 0.5 * np.linalg.slogdet(2 * math.pi * cov)[1]))
    bar = max(ll_gauss + 0.1, -3.1)
    if ll <= bar:
        raise CheckFailed(f"held-out log-likelihood {ll:.3f} nats is not above {bar:.3f} (the best single Gaussian "
                          f"scores {ll_gauss:.3f}): more layers or steps?")
    return f"held-out log-likelihood {ll:.3f} nats (best Gaussian {ll_gauss:.3f}), ∫p = {mass:.4f}"
