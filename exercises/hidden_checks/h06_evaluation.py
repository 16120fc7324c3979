"""Hidden checks of 06_evaluation."""

from __future__ import annotations

import numpy as np

from flowkit.course.checks.common import require_defined, tensor
from flowkit.course.checks.verdict import CheckFailed, as_float
from grader.hidden import hidden


@hidden("06_evaluation/ex2-tests")
def auroc_symmetry(student, rng):
    require_defined(student, "auroc")
    a, b = rng.integers(0, 4, 9).astype(float), rng.integers(0, 4, 5).astype(float)
    ab = as_float(student.call("auroc", tensor(a), tensor(b)), "auroc(a, b)")
    ba = as_float(student.call("auroc", tensor(b), tensor(a)), "auroc(b, a)")
    if abs(ab + ba - 1) > 1e-9:
        raise CheckFailed(f"auroc(a, b) + auroc(b, a) should be 1 (ties ½), got {ab + ba:.6f}")


@hidden("06_evaluation/ex1-tests")
def mmd_one_dimension(student, rng):
    require_defined(student, "mmd2")
    x, y = rng.normal(0, 1, (6, 1)), rng.normal(0, 2, (9, 1))
    got = as_float(student.call("mmd2", tensor(x), tensor(y), 0.7), "mmd2 in 1-D")
    k = lambda a, b: np.exp(-(a - b.T) ** 2 / (2 * 0.49))  # noqa: E731
    kxx, kyy = k(x, x), k(y, y)
    want = (kxx.sum() - 6) / 30 + (kyy.sum() - 9) / 72 - 2 * k(x, y).mean()
    if abs(got - want) > 1e-9:
        raise CheckFailed(f"MMD² of 1-D samples: got {got:.8f}, expected {want:.8f}")


@hidden("06_evaluation/ex3-tests")
def detector_flags_a_far_ring(student, rng):
    import flowkit as fk
    from flowkit.course.checks.verdict import CheckFailed, as_array, as_remote

    flow = as_remote(student.get("detector"), "detector")
    normal = fk.data.sample("two_moons", 300, seed=int(rng.integers(0, 2**31))).double().numpy()
    angle = rng.uniform(0, 2 * np.pi, 300)
    ring = np.stack([3.2 * np.cos(angle), 3.2 * np.sin(angle)], axis=1)
    s_in = as_array(student.call("anomaly_scores", flow, tensor(normal, "float32")), "scores", (300,))
    s_out = as_array(student.call("anomaly_scores", flow, tensor(ring, "float32")), "scores", (300,))
    score = float(((s_out[:, None] > s_in[None, :]) + 0.5 * (s_out[:, None] == s_in[None, :])).mean())
    if score < 0.95:
        raise CheckFailed(f"points on a ring of radius 3.2 around the moons should be flagged: AUROC {score:.3f}")
