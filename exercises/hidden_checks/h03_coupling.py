"""Hidden checks of 03_coupling."""

from __future__ import annotations

import numpy as np

import flowkit as fk
from flowkit.course.checks.common import learner_float64, require_defined, run_pair, tensor
from flowkit.course.checks.ex03_coupling import check_flow_density
from flowkit.course.checks.numeric import fd_logabsdet
from flowkit.course.checks.verdict import CheckFailed, as_array, as_remote, expect_close
from grader.hidden import hidden


@hidden("03_coupling/ex1-tests")
def many_matrices_at_once(student, rng):
    require_defined(student, "triangular_log_abs_det")
    m = np.tril(rng.normal(0, 1, (200, 3, 3)))
    m[:, np.arange(3), np.arange(3)] = rng.uniform(0.1, 4, (200, 3)) * rng.choice([-1, 1], (200, 3))
    got = as_array(student.call("triangular_log_abs_det", tensor(m)), "a batch of 200", (200,))
    expect_close(got, np.log(np.abs(m.diagonal(0, -2, -1))).sum(-1), "log|det| of a batch", rtol=1e-9, atol=1e-9)


@hidden("03_coupling/ex2-tests")
def odd_width_float32_and_jacobian(student, rng):
    require_defined(student, "MaskedAffineCoupling")
    mask = rng.permutation(np.arange(7) < 3)
    layer = as_remote(student.call("MaskedAffineCoupling", 7, tensor(mask, "bool"), seed=int(rng.integers(0, 99))),
                      "MaskedAffineCoupling(7, mask)")
    z = rng.normal(0, 1, (32, 7)).astype(np.float32)
    x, ld = run_pair(student, layer, "forward", tensor(z, "float32"), "forward(z) in float32")
    z_back, ld_inv = run_pair(student, layer, "inverse", tensor(x, "float32"), "inverse(x) in float32")
    expect_close(z_back, z, "float32 round trip", rtol=1e-4, atol=1e-4)
    expect_close(ld_inv, -ld, "float32 inverse log-det", rtol=1e-4, atol=1e-4)
    layer64 = learner_float64(student, layer, "MaskedAffineCoupling")
    pts = rng.normal(0, 1, (10, 7))
    _, ld64 = run_pair(student, layer64, "forward", pts, "forward(z)")
    fd = fd_logabsdet(lambda p: run_pair(student, layer64, "forward", p, "forward")[0], pts, 1e-6)
    expect_close(ld64, fd, "log-det vs finite differences (D = 7)", rtol=1e-5, atol=1e-5)


@hidden("03_coupling/ex3-tests")
def make_flow_builds_what_it_says(student, rng):
    require_defined(student, "make_flow")
    flow = as_remote(student.call("make_flow", 3, 16), "make_flow(3, 16)")
    want = 3 * sum(p.numel() for p in fk.AffineCoupling(2, hidden=(16, 16)).parameters())
    got = student.param_count(flow)
    if got != want:
        raise CheckFailed(f"make_flow(3, 16) has {got} parameters; 3 fk.AffineCoupling(2, hidden=(16, 16)) "
                          f"layers (and fk.Reverse) have {want}")
    mass, _ = check_flow_density(student, flow, rng, n=120)
    if abs(mass - 1) > 0.02:
        raise CheckFailed(f"make_flow(3, 16)'s density integrates to {mass:.4f}, not 1")
