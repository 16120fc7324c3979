"""Checks of assignment 06 (the unbiased MMD² and a decision, AUROC by Mann–Whitney, an anomaly detector)."""

from __future__ import annotations

import numpy as np
import torch

import flowkit as fk

from .common import require_defined, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_bool, as_float, as_remote
from .wire import Remote


def _auroc(a: np.ndarray, b: np.ndarray) -> float:
    return float(((b[:, None] > a[None, :]) + 0.5 * (b[:, None] == a[None, :])).mean())


@exercise("06_evaluation", "ex2-tests")
def auroc(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "auroc")
    cases = [(rng.integers(0, 6, int(rng.integers(5, 12))).astype(float),
              rng.integers(2, 9, int(rng.integers(5, 12))).astype(float)),
             (rng.normal(0, 1, 200), rng.normal(1, 1, 150)),
             (np.ones(4), np.ones(7))]
    for s_in, s_out in cases:
        got = as_float(student.call("auroc", tensor(s_in), tensor(s_out)), "auroc(scores_in, scores_out)")
        want = _auroc(s_in, s_out)
        if abs(got - want) <= 1e-9:
            continue
        strict = float((s_out[:, None] > s_in[None, :]).mean())
        hint = ("\nTies (equal scores) count ½." if abs(got - strict) < 1e-9 else
                "\nThat is 1 − AUROC: count the pairs where the out-of-distribution score is the higher one."
                if abs(got - (1 - want)) < 1e-9 else "")
        raise CheckFailed(f"got {got:.6f}, expected {want:.6f} for {len(s_in)} in / {len(s_out)} out scores{hint}")
    return "with ties, continuous scores, and all-equal scores"


def _mmd2(x: np.ndarray, y: np.ndarray, sigma: float, biased: bool = False) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))
    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    if biased:
        return float(kxx.mean() + kyy.mean() - 2 * k(x, y).mean())
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * k(x, y).mean())


def _mmd_hint(got: float, x: np.ndarray, y: np.ndarray, sigma: float) -> str:
    def near(v: float) -> bool:
        return abs(got - v) <= 1e-9 * max(1.0, abs(v))
    if near(_mmd2(x, y, sigma, biased=True)):
        return "you kept the i = j terms (k(x_i, x_i) = 1): the unbiased estimate leaves them out of the x–x and y–y sums"
    if near(_mmd2(x, y, sigma / np.sqrt(2))):
        return "the kernel is exp(−‖a−b‖²/2σ²): the 2 in 2σ² is missing"
    return "check the kernel exp(−‖a−b‖²/2σ²) and leave out the i = j terms of the x–x and y–y sums"


@exercise("06_evaluation", "ex1-tests")
def mmd(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "mmd2", "same_distribution")
    for sigma in (float(rng.uniform(0.3, 0.8)), float(rng.uniform(1, 3))):
        x = rng.normal(0, 1, (int(rng.integers(5, 40)), 2))
        y = rng.normal(0.4, 1, (int(rng.integers(5, 40)), 2))
        got = as_float(student.call("mmd2", tensor(x), tensor(y), sigma), "mmd2(x, y, sigma)")
        want = _mmd2(x, y, sigma)
        if abs(got - want) > 1e-9 * max(1.0, abs(want)):
            raise CheckFailed(f"MMD² = {got:.8f}, expected {want:.8f} (σ = {sigma:.3f}): {_mmd_hint(got, x, y, sigma)}")
    d = int(rng.integers(1, 3))
    x = rng.normal(0, 1, (120, d)).astype(np.float32)
    for shift, alpha in ((0.0, 0.05), (1.0, 0.05), (0.0, 1.0)):
        y = (rng.normal(0, 1, (120, d)) + shift).astype(np.float32)
        got = as_bool(student.call("same_distribution", tensor(x, "float32"), tensor(y, "float32"), alpha=alpha),
                      "same_distribution(x, y, alpha)")
        p = float(fk.metrics.mmd_test(torch.tensor(x), torch.tensor(y), seed=0).p_value)
        if got != (p > alpha):
            raise CheckFailed(f"fk.metrics.mmd_test(x, y, seed=0) gives p = {p:.4f}, so at alpha = {alpha} the answer "
                              f"is {p > alpha}; got {got}. Return True when the p-value is above alpha.")
    return "exact MMD², and the test's decision at several levels"


AUROC_BAR = 0.85


def _scores(student: Student, flow: Remote, x: np.ndarray, what: str) -> np.ndarray:
    got = as_array(student.call("anomaly_scores", flow, tensor(x, "float32")), f"anomaly_scores(detector, {what})",
                   None)
    if got.shape != (len(x),):
        raise CheckFailed(f"anomaly_scores(detector, x) has shape {got.shape} for {len(x)} points: one score per "
                          "point (the negative log-likelihood of each), not one for the batch")
    return got


@exercise("06_evaluation", "ex3-tests")
def anomaly_detector(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "make_detector", "anomaly_scores")
    if not student.has("detector"):
        raise CheckFailed("not done yet: `detector` does not exist — write make_detector and anomaly_scores above, "
                          "then run the cell that trains your detector")
    flow = as_remote(student.get("detector"), "detector")
    normal = fk.data.sample("two_moons", 400, seed=int(rng.integers(0, 2**31))).double().numpy()
    odd = rng.uniform(-3, 3, (400, 2))
    s_in, s_out = _scores(student, flow, normal, "normal points"), _scores(student, flow, odd, "anomalies")
    lp = as_array(student.call_method(flow, "log_prob", tensor(normal[:50], "float32")), "detector.log_prob(x)", (50,))
    if np.allclose(s_in[:50], lp, rtol=1e-4, atol=1e-4):
        raise CheckFailed("your scores are log p(x): higher must mean more anomalous, so score with −log p(x)")
    if not np.allclose(s_in[:50], -lp, rtol=1e-4, atol=1e-4):
        raise CheckFailed("anomaly_scores(detector, x) should be −detector.log_prob(x), one value per point")
    score = _auroc(s_in, s_out)
    if score < AUROC_BAR:
        raise CheckFailed(f"AUROC {score:.3f} on fresh two moons against uniform anomalies on [-3, 3]²: the bar is "
                          f"{AUROC_BAR}. Train longer or with more layers in make_detector.")
    return f"AUROC {score:.3f} ≥ {AUROC_BAR} on fresh data, with −log p as the score"
