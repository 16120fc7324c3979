"""Checks of assignment 06 (AUROC by Mann–Whitney, the unbiased MMD² and a two-sample decision)."""

from __future__ import annotations

import numpy as np
import torch

import flowkit as fk

from .common import require_defined, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_bool, as_float


def _auroc(a: np.ndarray, b: np.ndarray) -> float:
    return float(((b[:, None] > a[None, :]) + 0.5 * (b[:, None] == a[None, :])).mean())


@exercise("06_evaluation", "ex1-tests", points=2, title="AUROC by the Mann–Whitney formula, ties ½")
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
        hint = "\nTies (equal scores) count ½." if abs(got - strict) < 1e-9 else ""
        raise CheckFailed(f"got {got:.6f}, expected {want:.6f} for {len(s_in)} in / {len(s_out)} out scores{hint}")
    return "with ties, continuous scores, and all-equal scores"


def _mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))
    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * k(x, y).mean())


@exercise("06_evaluation", "ex2-tests", points=3, title="unbiased MMD² and a two-sample decision")
def mmd(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "mmd2", "same_distribution")
    for sigma in (float(rng.uniform(0.3, 0.8)), float(rng.uniform(1, 3))):
        x = rng.normal(0, 1, (int(rng.integers(5, 40)), 2))
        y = rng.normal(0.4, 1, (int(rng.integers(5, 40)), 2))
        got = as_float(student.call("mmd2", tensor(x), tensor(y), sigma), "mmd2(x, y, sigma)")
        want = _mmd2(x, y, sigma)
        if abs(got - want) > 1e-9 * max(1.0, abs(want)):
            raise CheckFailed(f"MMD² = {got:.8f}, expected {want:.8f} (σ = {sigma:.3f}). Check the kernel "
                              "exp(−‖a−b‖²/2σ²) and leave out the i = j terms of the x–x and y–y sums.")
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
