"""Checks of assignment 03 (triangular log-dets, a masked affine coupling layer, training on two moons).

The coupling layer and the trained flow have internals the learner chooses (their conditioner,
their training run), so besides the formulas these checks test **self-consistency** that only a
correct answer has: log-dets against Jacobians computed here by finite differences from many
forward evaluations at points chosen here, round trips, and a density that integrates to 1 on a
grid chosen here, with held-out points shuffled in among the grid points.
"""

from __future__ import annotations

import math

import numpy as np

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


@exercise("03_coupling", "ex1-tests")
def triangular_log_abs_det(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "triangular_log_abs_det")
    cases = [((), int(rng.integers(3, 8)), False), ((), int(rng.integers(3, 8)), True),
             ((int(rng.integers(2, 6)),), int(rng.integers(2, 6)), False), ((2, 3), 4, True), ((), 1, False)]
    for batch, d, upper in cases:
        m = _triangular(rng, batch, d, upper)
        what = f"triangular_log_abs_det of a {'upper' if upper else 'lower'}-triangular {tuple(m.shape)} input"
        got = as_array(student.call("triangular_log_abs_det", tensor(m)), what, None, finite=False)
        if got.shape != batch:
            raise CheckFailed(f"{what} has shape {got.shape}, expected {batch}: one log|det| per matrix. For a batch "
                              "(..., d, d) take the diagonals with torch.diagonal(T, dim1=-2, dim2=-1) and sum over "
                              "the last dimension.")
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


def _coupling_layer(student: Student, d: int, mask: np.ndarray, seed: int) -> Remote:
    layer = as_remote(student.call("MaskedAffineCoupling", d, tensor(mask, "bool"), seed=seed),
                      f"MaskedAffineCoupling({d}, mask)")
    return learner_float64(student, layer, "MaskedAffineCoupling")


def _masks(rng: np.random.Generator, d: int) -> list[np.ndarray]:
    random = rng.permutation(np.arange(d) < max(1, d // 2))
    return [np.arange(d) % 2 == 0, random]


def _logdet_hint(ld: np.ndarray, log_s: np.ndarray, keep: np.ndarray) -> str:
    free = (~keep).astype(float)
    if describe_offset(ld, log_s.sum(axis=1), "") is None:
        return ("your log-det also sums log s_i over the kept features (mask = 1), which are not scaled: "
                "log|det J| = Σ (1 − b_i) log s_i — a forgotten mask")
    if describe_offset(ld, -(log_s * free).sum(axis=1), "") is None:
        return "the forward log-det is +Σ log s_i (x_b = s·z_b + t stretches by s)"
    if describe_offset(ld, (np.exp(log_s) * free).sum(axis=1), "") is None:
        return "the log-det is Σ log s_i, not Σ s_i: log|det| of diag(s) is the sum of the logs"
    return "the triangular Jacobian's diagonal is 1 (kept) and s_i (transformed): log|det J| = Σ (1 − b_i) log s_i"


def _s_t(student: Student, layer: Remote, inputs: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    s, t = (as_array(v, f"scale_and_shift({what}) [{k}]", inputs.shape)
            for k, v in zip("st", as_pair(student.call_method(layer, "scale_and_shift", tensor(inputs)),
                                          "scale_and_shift"), strict=True))
    return s, t


def _check_forward(student: Student, layer: Remote, z: np.ndarray, keep: np.ndarray) -> np.ndarray:
    x, ld = run_pair(student, layer, "forward", z, "forward(z)")
    s, t = _s_t(student, layer, z * keep, "b ⊙ z")
    if not np.array_equal(x[:, keep], z[:, keep]):
        raise CheckFailed("the kept features (mask = 1) must pass unchanged: x = b ⊙ z + (1 − b) ⊙ (s ⊙ z + t)")
    if describe_offset(x[:, ~keep], (s * z + t)[:, ~keep], "x", rtol=1e-9, atol=1e-9) is not None:
        s_all, t_all = _s_t(student, layer, z, "z")
        if describe_offset(x[:, ~keep], (s_all * z + t_all)[:, ~keep], "x", rtol=1e-9, atol=1e-9) is None:
            raise CheckFailed("s and t must come from the kept features only: scale_and_shift(b * z), not "
                              "scale_and_shift(z) — otherwise the Jacobian is not triangular and the map cannot "
                              "be inverted")
        raise CheckFailed("the transformed features (mask = 0) should be s ⊙ z + t with (s, t) = "
                          "scale_and_shift(b ⊙ z)")
    message = describe_offset(ld, (np.log(s) * ~keep).sum(axis=1), "forward log-det", rtol=1e-9, atol=1e-9)
    if message is not None:
        raise CheckFailed(f"{message}\nHint: {_logdet_hint(ld, np.log(s), keep)}")
    return x, ld


@exercise("03_coupling", "ex2-tests")
def masked_coupling(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "MaskedAffineCoupling")
    for d in (2, int(rng.integers(3, 7))):
        for keep in _masks(rng, d):
            layer = _coupling_layer(student, d, keep, int(rng.integers(0, 1000)))
            z = rng.normal(0, 1.2, (int(rng.integers(24, 48)), d))
            x, ld = _check_forward(student, layer, z, keep)
            z_back, ld_inv = run_pair(student, layer, "inverse", x, "inverse(x)")
            expect_close(z_back, z, "inverse(forward(z))", "z_b = (x_b − t)/s with (s, t) = scale_and_shift(b ⊙ x), "
                         "and z = x on the kept features", rtol=1e-8, atol=1e-8)
            expect_close(ld_inv, -ld, "inverse log-det", "the inverse's log-det is −Σ (1 − b_i) log s_i",
                         rtol=1e-8, atol=1e-8)
            pts = z[:10]
            fd = fd_logabsdet(lambda p: run_pair(student, layer, "forward", p, "forward")[0], pts, 1e-6)
            expect_close(ld[:10], fd, "forward log-det compared with log|det| of the Jacobian (finite differences)",
                         "your log-det must be that of the map forward() computes", rtol=1e-5, atol=1e-5)
    report = student.call(Lib("flowkit:check"), layer, tensor(rng.normal(0, 1, (128, d))), raise_on_fail=False)
    if student.get(as_remote(report, "fk.check(...)"), "passed") is not True:
        raise CheckFailed("fk.check(your layer, z) does not pass:\n" + str(student.call(Lib("builtins:str"), report)))
    return "exact in both directions for several masks, the log-det is that of your map, and fk.check passes"


def _flow_parts(student: Student) -> tuple[Remote, Remote]:
    require_defined(student, "make_flow", "heldout_log_likelihood")
    student.call("make_flow", 1, 4)                     # a stub raises NotImplementedError: "not done yet"
    require_defined(student, "trained_flow")
    flow = as_remote(student.get("trained_flow"), "trained_flow")
    copy = learner_float64(student, as_remote(student.call(Lib("copy:deepcopy"), flow), "a copy of trained_flow"),
                           "trained_flow")
    try:
        transform = as_remote(student.get(copy, "transform"), "trained_flow.transform")
    except StudentError as e:
        raise CheckFailed(f"trained_flow should be an fk.Flow (it has no .transform: {e.message})") from None
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


BAR = -2.9      # nats per point: the bar the exercise states


def _likelihood_hint(ll: float, mean: float, n: int) -> str:
    if abs(ll - n * mean) <= 1e-3 * max(1.0, abs(n * mean)):
        return f"that is the sum over the points: return the mean (÷ {n})"
    if abs(ll + mean) <= 1e-3:
        return "that is minus the log-likelihood (the NLL): return the mean of log p(x), not of −log p(x)"
    return "return float(flow.log_prob(x).mean()), computed under torch.no_grad()"


@exercise("03_coupling", "ex3-tests")
def trained_flow(student: Student, rng: np.random.Generator) -> str:
    flow, (copy, transform) = _flow_parts(student)
    seed = int(rng.integers(0, 2**31))
    test = fk.data.sample("two_moons", 1000, seed=seed).double().numpy()
    train_like = fk.data.sample("two_moons", 2000, seed=seed + 1).double().numpy()
    mass, lp_test = check_flow_density(student, flow, rng, test=test)
    if not 0.97 <= mass <= 1.02:
        raise CheckFailed(f"trained_flow.log_prob integrates to {mass:.4f} on [-7, 7]², not 1: it is not a normalised "
                          "density")
    check_is_a_flow(student, copy, transform, test[rng.choice(len(test), 24, replace=False)])
    ll = as_float(student.call("heldout_log_likelihood", flow, tensor(test, "float32")),
                  "heldout_log_likelihood(flow, x)")
    if abs(ll - float(lp_test.mean())) > 1e-3:
        raise CheckFailed(f"heldout_log_likelihood gave {ll:.4f} for {len(test)} points, the mean of log p is "
                          f"{lp_test.mean():.4f}: {_likelihood_hint(ll, float(lp_test.mean()), len(test))}")
    mean, cov = train_like.mean(0), np.cov(train_like.T)
    diff = test - mean
    ll_gauss = float(np.mean(-0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
                             - 0.5 * np.linalg.slogdet(2 * math.pi * cov)[1]))
    if ll <= BAR:
        raise CheckFailed(f"held-out log-likelihood {ll:.3f} nats is not above {BAR} (the best single Gaussian "
                          f"scores {ll_gauss:.3f}): more layers or steps?")
    return f"held-out log-likelihood {ll:.3f} nats (best Gaussian {ll_gauss:.3f}), ∫p = {mass:.4f}"
