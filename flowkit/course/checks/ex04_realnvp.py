"""Checks of assignment 04 (bits per dimension with the dequantization term, the logit layer)."""

from __future__ import annotations

import math

import numpy as np

from .common import require_defined, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_float, as_pair, describe_offset

LOG2 = math.log(2)


def _bpd(nll: np.ndarray | float, d: int, k: int) -> np.ndarray | float:
    return (nll + d * math.log(k)) / (d * LOG2)


def _bpd_hint(got: np.ndarray, nll: np.ndarray, d: int, k: int) -> str:
    if describe_offset(got, nll / (d * LOG2), "") is None:
        return (f"\nYou left out the dequantization term: the 1/K scaling adds D·log K nats "
                f"(log₂ K = {math.log2(k):.3f} bits/dim for K = {k}).")
    if describe_offset(got, _bpd(nll, d, k) * LOG2, "") is None:
        return "\nThat is nats per dimension: divide by log 2 for bits."
    return "\nbpd = (−log p(y) + D·log K) / (D·log 2)."


@exercise("04_realnvp", "ex2-tests")
def bits_per_dim(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "bits_per_dim")
    for d, k in ((int(rng.integers(16, 800)), int(rng.choice([2, 17, 256]))), (64, 17), (1, 2)):
        got = as_float(student.call("bits_per_dim", 0.0, d, k), f"bits_per_dim(0.0, {d}, {k}) (a float in, a float out)")
        if abs(got - math.log2(k)) > 1e-9:
            raise CheckFailed(f"a uniform model (NLL 0) has log₂ K = {math.log2(k):.4f} bits/dim for K = {k}, "
                              f"D = {d}; got {got:.6g}" + _bpd_hint(np.array([got]), np.zeros(1), d, k))
        nll = rng.normal(0, 3, int(rng.integers(3, 9))) * d
        got = as_array(student.call("bits_per_dim", tensor(nll), d, k), "bits_per_dim of a tensor of NLLs",
                       nll.shape)
        message = describe_offset(got, _bpd(nll, d, k), "bits/dim", rtol=1e-9, atol=1e-9)
        if message is not None:
            raise CheckFailed(f"D = {d}, K = {k}: {message}" + _bpd_hint(got, nll, d, k))
    return "floats and tensors, any D and K"


def _logit_reference(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    lam = alpha + (1 - 2 * alpha) * x
    y = np.log(lam) - np.log1p(-lam)
    ld = (math.log(1 - 2 * alpha) - np.log(lam) - np.log1p(-lam)).reshape(len(x), -1).sum(axis=1)
    return y, ld


@exercise("04_realnvp", "ex1-tests")
def logit_inverse(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "logit_inverse")
    shapes = [(int(rng.integers(2, 9)), 1, 4, 4), (int(rng.integers(2, 6)), int(rng.integers(2, 9))),
              (3, 2, 3, 3)]
    for shape in shapes:
        alpha = float(rng.uniform(0.01, 0.2))
        x = rng.uniform(0.0, 1.0, shape)
        y, ld = as_pair(student.call("logit_inverse", tensor(x), alpha), "logit_inverse(x, alpha)")
        y = as_array(y, "y", shape)
        ld = as_array(ld, "the log-det", None)
        if ld.shape != (shape[0],):
            raise CheckFailed(f"the log-det has shape {ld.shape}, expected ({shape[0]},): sum over every "
                              "dimension but the batch")
        y_ref, ld_ref = _logit_reference(x, alpha)
        message = describe_offset(y, y_ref, "y", rtol=1e-9, atol=1e-9)
        if message is not None:
            raise CheckFailed(f"{message}\ny should be logit(α + (1 − 2α)x) = log λ − log(1 − λ)")
        message = describe_offset(ld, ld_ref, "log-det", rtol=1e-9, atol=1e-9)
        if message is not None:
            per_pixel = int(np.prod(shape[1:]))
            hint = ("\nHint: dy/dx = (1 − 2α)·(1/λ + 1/(1 − λ)); sum its log over all "
                    f"{per_pixel} values of each image (did you keep the log(1 − 2α) of every one?).")
            raise CheckFailed(f"α = {alpha:.3f}, x of shape {shape}: {message}{hint}")
    return "y and the log-det for several shapes and α"
