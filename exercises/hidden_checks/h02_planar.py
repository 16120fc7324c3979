"""Hidden checks of 02_planar."""

from __future__ import annotations

import numpy as np
import torch

import flowkit as fk
from flowkit.course.checks.common import build_transform, learner_float64, load_state, require_defined, run_pair, tensor
from flowkit.course.checks.numeric import fd_logabsdet
from flowkit.course.checks.verdict import as_array, as_pair, as_remote, expect_close
from grader.hidden import hidden


@hidden("02_planar/ex1-tests")
def planar_logdet_is_the_jacobian(student, rng):
    require_defined(student, "PlanarFlow")
    d = int(rng.integers(2, 5))
    flow = learner_float64(student, as_remote(student.call("PlanarFlow", d, seed=3), "PlanarFlow"), "PlanarFlow")
    load_state(student, flow, {"u": tensor(rng.normal(0, 2, d)), "w": tensor(rng.normal(0, 2, d)),
                               "b": tensor(np.array(rng.normal()))}, "PlanarFlow")
    z = rng.normal(0, 2, (16, d))
    _, ld = run_pair(student, flow, "forward", z, "forward(z)")
    fd = fd_logabsdet(lambda p: run_pair(student, flow, "forward", p, "forward")[0], z, 1e-6)
    expect_close(ld, fd, "log-det compared with the Jacobian by finite differences", rtol=1e-5, atol=1e-5)


@hidden("02_planar/ex2-tests")
def density_of_a_radial_flow(student, rng):
    require_defined(student, "flow_log_prob")
    d = int(rng.integers(2, 5))
    torch.manual_seed(int(rng.integers(0, 2**31)))
    local = fk.Radial(d, init_scale=1.0).double()
    remote = build_transform(student, ("Radial", (d,), {"init_scale": 1.0}), local)
    x = rng.normal(0, 2, (40, d))
    got = as_array(student.call("flow_log_prob", remote, tensor(x)), "flow_log_prob", (40,))
    with torch.no_grad():
        want = fk.Flow(local, fk.StandardNormal(d)).double().log_prob(torch.tensor(x)).numpy()
    expect_close(got, want, "log-density of a radial flow", rtol=1e-8, atol=1e-8)


@hidden("02_planar/ex3-tests")
def push_forward_one_dimension(student, rng):
    require_defined(student, "push_forward")
    n, seed = int(rng.integers(5, 30)), int(rng.integers(0, 10**6))
    torch.manual_seed(int(rng.integers(0, 2**31)))
    local = fk.Planar(1, init_scale=1.0)
    remote = build_transform(student, ("Planar", (1,), {"init_scale": 1.0}), local)
    z, x = as_pair(student.call("push_forward", remote, n, seed), "push_forward")
    z_ref = torch.randn(n, 1, generator=torch.Generator().manual_seed(seed))
    expect_close(as_array(z, "z", (n, 1)), z_ref.double().numpy(), "z in 1-D", rtol=0, atol=0)
    with torch.no_grad():
        expect_close(as_array(x, "x", (n, 1)), local.forward(z_ref)[0].double().numpy(), "x in 1-D")
