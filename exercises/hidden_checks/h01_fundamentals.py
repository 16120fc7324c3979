"""Hidden checks of 01_fundamentals."""

from __future__ import annotations

import math

import numpy as np

from flowkit.course.checks.common import load_state, require_defined, run_pair, tensor
from flowkit.course.checks.verdict import CheckFailed, as_array, as_float, as_remote, expect_close
from flowkit.course.checks.wire import Fn
from grader.hidden import hidden


@hidden("01_fundamentals/ex1-tests")
def affine_density_far_out(student, rng):
    require_defined(student, "log_prob_affine_1d")
    a, b = -float(rng.uniform(0.01, 0.05)), float(rng.uniform(50, 100))
    x = b + a * rng.normal(0, 30, 7)
    got = as_array(student.call("log_prob_affine_1d", tensor(x), a, b), "log_prob_affine_1d", (7,))
    want = -0.5 * ((x - b) / a) ** 2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
    expect_close(got, want, "log-density for a tiny negative a", rtol=1e-7, atol=1e-7)


@hidden("01_fundamentals/ex2-tests")
def scale_shift_float32(student, rng):
    require_defined(student, "ScaleShift")
    d = int(rng.integers(2, 7))
    layer = as_remote(student.call("ScaleShift", d), "ScaleShift")
    ls, sh = rng.normal(0, 0.5, d).astype(np.float32), rng.normal(0, 1, d).astype(np.float32)
    load_state(student, layer, {"log_scale": tensor(ls, "float32"), "shift": tensor(sh, "float32")}, "ScaleShift")
    z = rng.normal(0, 1, (64, d)).astype(np.float32)
    x, ld = run_pair(student, layer, "forward", tensor(z, "float32"), "forward(z) in float32")
    expect_close(x, z * np.exp(ls) + sh, "float32 forward output", rtol=1e-5, atol=1e-5)
    expect_close(ld, np.full(64, ls.astype(np.float64).sum()), "float32 forward log-det", rtol=1e-5, atol=1e-5)


@hidden("01_fundamentals/ex3-tests")
def integral_single_cell(student, rng):
    require_defined(student, "integrate_2d")
    c = float(rng.uniform(-2, 2))
    got = as_float(student.call("integrate_2d", Fn("constant", {"value": c}), 0.0, 2.0, 1), "integrate_2d(…, n=1)")
    if abs(got - 4 * math.exp(c)) > 1e-9 * 4 * math.exp(c):
        raise CheckFailed(f"one cell on [0, 2]²: got {got}, expected {4 * math.exp(c)}")
