"""Checks of assignment 01 (change of variables, a first ``fk.Transform``, a grid integral)."""

from __future__ import annotations

import math

import numpy as np

from .common import learner_float64, load_state, require_defined, run_pair, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_float, as_remote, describe_offset, expect_close
from .wire import Fn

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _affine_hint(got: np.ndarray, want: np.ndarray, a: float) -> str:
    if not np.isfinite(got).all():
        return (f"your log-density is NaN or inf for a = {a:.3g}" + (": the log of a negative number? The Jacobian "
                "term is −log|a|, with the absolute value." if a < 0 else "."))
    message = describe_offset(got, want, "log-density", rtol=1e-6, atol=1e-6) or ""
    if describe_offset(got, want + math.log(abs(a)), "") is None:
        return message + "\nYou left out the Jacobian term: log p_x(x) = log p_z((x − b)/a) − log|a|."
    if describe_offset(got, want + 2 * math.log(abs(a)), "") is None:
        return message + "\nThe Jacobian term enters with a minus sign: log p_x(x) = log p_z((x − b)/a) − log|a|."
    if a < 0:
        return message + f"\n(a = {a:.3g} is negative here: the Jacobian term is −log|a|, with the absolute value.)"
    return message


@exercise("01_fundamentals", "ex1-tests")
def log_prob_affine_1d(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "log_prob_affine_1d")
    signs = [1.0, -1.0, rng.choice([-1.0, 1.0])]
    for sign in signs:
        a, b = sign * float(rng.uniform(0.3, 3.0)), float(rng.normal(0, 2))
        x = np.sort(rng.uniform(-5, 5, size=9))
        got = as_array(student.call("log_prob_affine_1d", tensor(x), a, b),
                       f"log_prob_affine_1d(x, a={a:.3g}, b={b:.3g})", (9,), finite=False)
        want = -0.5 * ((x - b) / a) ** 2 - HALF_LOG_2PI - math.log(abs(a))
        if np.isfinite(got).all() and describe_offset(got, want, "log-density", rtol=1e-6, atol=1e-6) is None:
            continue
        raise CheckFailed(f"for a = {a:.4g}, b = {b:.4g}: {_affine_hint(got, want, a)}")
    return "matches the density of N(b, a²), for both signs of a"


@exercise("01_fundamentals", "ex2-tests")
def scale_shift(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "ScaleShift")
    for d in (1, int(rng.integers(2, 6))):
        layer = learner_float64(student, as_remote(student.call("ScaleShift", d), f"ScaleShift({d})"), "ScaleShift")
        ls, sh = rng.normal(0, 0.7, d), rng.normal(0, 1.5, d)
        load_state(student, layer, {"log_scale": tensor(ls), "shift": tensor(sh)}, "ScaleShift")
        n = int(rng.integers(8, 40))
        z = rng.normal(0, 1.5, (n, d))
        x, ld = run_pair(student, layer, "forward", z, "forward(z)")
        expect_close(x, z * np.exp(ls) + sh, "forward output x", "x should be exp(log_scale) * z + shift, elementwise",
                     rtol=1e-9, atol=1e-9)
        expect_close(ld, np.full(n, ls.sum()), "forward log-det",
                     "Hint: the Jacobian is diagonal with entries exp(log_scale_i); its log|det| is Σ log_scale_i.",
                     rtol=1e-9, atol=1e-9)
        z_back, ld_inv = run_pair(student, layer, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", "inverse should undo forward: z = (x − shift)·exp(−log_scale)",
                     rtol=1e-9, atol=1e-9)
        expect_close(ld_inv, -ld, "inverse log-det", "the inverse's log-det is minus the forward one",
                     rtol=1e-9, atol=1e-9)
    return "forward, inverse and both log-dets are exact"


def _midpoint(kind: str, params: dict, lo: float, hi: float, n: int, shift: float = 0.5) -> float:
    h = (hi - lo) / n
    c = lo + h * (np.arange(n) + shift)
    X, Y = np.meshgrid(c, c, indexing="ij")
    p = np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)
    if kind == "constant":
        logp = np.full(len(p), params["value"])
    elif kind == "gaussian":
        m, s = np.asarray(params["mean"]), np.asarray(params["std"])
        logp = (-0.5 * ((p - m) / s) ** 2 - np.log(s) - HALF_LOG_2PI).sum(axis=1)
    else:
        with np.errstate(divide="ignore"):      # a corner of the square (a wrong answer's points) may have p = 0
            logp = np.log(p @ np.asarray(params["coef"]) + params["offset"])
    return float(np.exp(logp).sum() * h * h)


def _integral_cases(rng: np.random.Generator) -> list[tuple[str, dict, float, float, int]]:
    mean = rng.uniform(-1, 1, 2)
    std = rng.uniform(0.4, 1.2, 2)
    lo = float(rng.uniform(-1, 0))
    return [
        ("gaussian", {"mean": mean.tolist(), "std": std.tolist()}, -7.0, 7.0, int(rng.integers(150, 260))),
        ("constant", {"value": float(rng.uniform(-1, 1))}, lo, lo + float(rng.uniform(1, 3)), int(rng.integers(3, 12))),
        ("log_affine", {"coef": rng.uniform(0.5, 2, 2).tolist(), "offset": 0.0}, 0.0, 1.0, int(rng.integers(2, 9))),
    ]


@exercise("01_fundamentals", "ex3-tests")
def integrate_2d(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "integrate_2d")
    for kind, params, lo, hi, n in _integral_cases(rng):
        got = as_float(student.call("integrate_2d", Fn(kind, params), lo, hi, n),
                       f"integrate_2d(log_prob, {lo:.3g}, {hi:.3g}, {n})")
        want = _midpoint(kind, params, lo, hi, n)
        if abs(got - want) <= 1e-8 * max(1.0, abs(want)):
            continue
        h = (hi - lo) / n
        if abs(got * h * h - want) <= 1e-8 * max(1.0, abs(want)):
            hint = f"\nYou left out the cell area h² = {h * h:.4g}: each cell contributes exp(log p(centre))·h²."
        elif abs(got - _midpoint(kind, params, lo, hi, n, 0.0)) <= 1e-8 * max(1.0, abs(want)):
            hint = "\nYou evaluated at the cell corners lo + h·i: use the centres lo + h(i + ½)."
        else:
            hint = ("\nUse the midpoint rule: cell width h = (hi − lo)/n, centres lo + h(i + ½), and multiply "
                    "the sum of exp(log_prob) by h² (the area of a cell). Work in float64.")
        raise CheckFailed(f"a {kind} log-density on [{lo:.3g}, {hi:.3g}]² with n = {n}: got {got:.10g}, "
                          f"expected {want:.10g}{hint}")
    return "exact midpoint sums for a Gaussian, a constant and a linear density"
