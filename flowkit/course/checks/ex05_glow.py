"""Checks of assignment 05 (ActNorm as an ``fk.Transform``, log|det| of a 1×1 convolution)."""

from __future__ import annotations

import numpy as np

from .common import learner_float64, load_state, require_defined, run_pair, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_remote, describe_offset, expect_close


@exercise("05_glow", "ex1-tests", points=3, title="ActNorm, with log-det H·W·Σ s_c")
def actnorm(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "MyActNorm")
    for c, h, w in ((int(rng.integers(1, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 6))), (3, 4, 4), (2, 1, 3)):
        layer = learner_float64(student, as_remote(student.call("MyActNorm", c), f"MyActNorm({c})"), "MyActNorm")
        s, b = rng.normal(0, 0.5, c), rng.normal(0, 1, c)
        load_state(student, layer, {"log_scale": tensor(s), "bias": tensor(b)}, "MyActNorm")
        n = int(rng.integers(3, 9))
        z = rng.normal(0, 1, (n, c, h, w))
        x, ld = run_pair(student, layer, "forward", z, f"forward(z) on {h}×{w} images")
        expect_close(x, z * np.exp(s)[None, :, None, None] + b[None, :, None, None], "forward output",
                     "x should be z·exp(log_scale_c) + bias_c per channel (view the parameters as (1, C, 1, 1))",
                     rtol=1e-9, atol=1e-9)
        message = describe_offset(ld, np.full(n, h * w * s.sum()), "forward log-det", rtol=1e-9, atol=1e-9)
        if message is not None:
            hint = (f"\nHint: every one of the H·W = {h * w} pixels of channel c is scaled by exp(s_c): "
                    "log|det| = H·W·Σ s_c (read H and W from the input).")
            raise CheckFailed(f"{h}×{w} images: {message}{hint}")
        z_back, ld_inv = run_pair(student, layer, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", rtol=1e-9, atol=1e-9)
        expect_close(ld_inv, -ld, "inverse log-det", "the inverse's log-det is −H·W·Σ s_c", rtol=1e-9, atol=1e-9)
    return "forward, inverse and log-dets for several image sizes"


@exercise("05_glow", "ex2-tests", points=3, title="log|det| of a 1×1 convolution from its LU factors")
def conv1x1_log_abs_det(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "conv1x1_log_abs_det")
    mats = [rng.normal(0, 1, (c, c)) for c in (1, int(rng.integers(2, 7)))]
    mats.append(np.array([[0.0, rng.uniform(1, 3)], [-rng.uniform(1, 3), 0.0]]))   # needs pivoting
    mats.append(-np.eye(3) * rng.uniform(0.2, 2))                                    # negative determinant
    for m in mats:
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        got = as_array(student.call("conv1x1_log_abs_det", tensor(m), h, w),
                       f"conv1x1_log_abs_det(weight, {h}, {w})", ())
        want = h * w * np.linalg.slogdet(m)[1]
        message = describe_offset(got, want, "log|det|", rtol=1e-8, atol=1e-8)
        if message is None:
            continue
        if abs(float(got) * h * w - want) < 1e-6 and h * w > 1:
            message += "\nMultiply by H·W: the same C×C matrix acts on every pixel."
        elif m.shape[0] == 2 and m[0, 0] == 0:
            message += "\nThis matrix needs a row swap: use the P, L, U of torch.linalg.lu and log|U_ii|."
        raise CheckFailed(f"a {m.shape[0]}×{m.shape[0]} weight on {h}×{w} images: {message}")
    return "H·W·Σ log|U_ii| for several matrices, with pivoting and a negative determinant"
