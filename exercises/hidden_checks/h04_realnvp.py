"""Hidden checks of 04_realnvp."""

from __future__ import annotations

import math

import numpy as np

from flowkit.course.checks.common import require_defined, tensor
from flowkit.course.checks.verdict import as_array, as_pair, expect_close
from grader.hidden import hidden


@hidden("04_realnvp/ex2-tests")
def mnist_sized(student, rng):
    require_defined(student, "bits_per_dim")
    nll = rng.uniform(-2000, 3000, 6)
    got = as_array(student.call("bits_per_dim", tensor(nll), 784, 256), "bits_per_dim(nll, 784, 256)", (6,))
    expect_close(got, (nll + 784 * math.log(256)) / (784 * math.log(2)), "bits/dim at D = 784", rtol=1e-10, atol=1e-10)


@hidden("04_realnvp/ex1-tests")
def logit_near_the_edges(student, rng):
    require_defined(student, "logit_inverse")
    alpha = float(rng.uniform(1e-4, 1e-3))
    x = rng.choice([0.0, 1.0, 0.5, 1e-6], (5, 6))
    y, ld = as_pair(student.call("logit_inverse", tensor(x), alpha), "logit_inverse")
    lam = alpha + (1 - 2 * alpha) * x
    expect_close(as_array(y, "y", (5, 6)), np.log(lam) - np.log1p(-lam), "y at x = 0 and 1", rtol=1e-8, atol=1e-8)
    want = (math.log(1 - 2 * alpha) - np.log(lam) - np.log1p(-lam)).sum(1)
    expect_close(as_array(ld, "log-det", (5,)), want, "log-det at x = 0 and 1", rtol=1e-8, atol=1e-8)
