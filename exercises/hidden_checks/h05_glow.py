"""Hidden checks of 05_glow."""

from __future__ import annotations

import numpy as np

from flowkit.course.checks.common import learner_float64, load_state, require_defined, run_pair, tensor
from flowkit.course.checks.numeric import fd_logabsdet
from flowkit.course.checks.verdict import as_array, as_remote, expect_close
from grader.hidden import hidden


@hidden("05_glow/ex1-tests")
def actnorm_jacobian(student, rng):
    require_defined(student, "MyActNorm")
    c, h, w = 2, 2, 3
    layer = learner_float64(student, as_remote(student.call("MyActNorm", c), "MyActNorm"), "MyActNorm")
    load_state(student, layer, {"log_scale": tensor(rng.normal(0, 0.5, c)), "bias": tensor(rng.normal(0, 1, c))},
               "MyActNorm")
    z = rng.normal(0, 1, (4, c * h * w))
    _, ld = run_pair(student, layer, "forward", z.reshape(4, c, h, w), "forward(z)", (4, c, h, w))
    fd = fd_logabsdet(lambda p: run_pair(student, layer, "forward", p.reshape(-1, c, h, w), "forward",
                                         (len(p), c, h, w))[0].reshape(len(p), -1), z, 1e-6)
    expect_close(ld, fd, "log-det vs the Jacobian by finite differences", rtol=1e-6, atol=1e-6)


@hidden("05_glow/ex2-tests")
def big_matrix(student, rng):
    require_defined(student, "conv1x1_log_abs_det")
    m = rng.normal(0, 1, (8, 8))
    got = as_array(student.call("conv1x1_log_abs_det", tensor(m), 16, 16), "conv1x1_log_abs_det", ())
    expect_close(got, 256 * np.linalg.slogdet(m)[1], "log|det| of an 8×8 weight", rtol=1e-8, atol=1e-8)
