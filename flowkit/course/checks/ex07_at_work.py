r"""Checks of assignment 07 (the importance-weighted free-energy estimator of a Boltzmann generator).

The learner writes ``free_energy_difference(log_w, in_a, in_b)`` returning

.. math:: \Delta F = F_B - F_A = -\log\frac{Z_B}{Z_A}, \qquad
          \frac{Z_B}{Z_A} \approx \frac{\sum_{i\in B} w_i}{\sum_{i\in A} w_i},\quad \log w_i = \log\tilde p(x_i) - \log q(x_i)

(Noé et al., 2019, *Boltzmann generators*, Science 365). The check runs it on cases whose answers
are known by construction, drawn afresh from the check's seed (sample counts, weights, which
samples lie where), plus a random case, and names the first problem: the sign, counting samples,
averaging the weights, overflow, samples outside both regions, the kind of value returned, an
exception. It holds no implementation of the estimator a learner could call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import require_defined, tensor
from .registry import exercise
from .student import Student, StudentError
from .verdict import CheckFailed, _kind
from .wire import Tensor

TOL = 1e-6  # relative (absolute below 1): every case's answer is exact up to float64 rounding


def _lse(v: np.ndarray) -> float:
    m = float(v.max())
    return m + math.log(float(np.exp(v - m).sum()))


def reference(log_w: np.ndarray, in_a: np.ndarray, in_b: np.ndarray) -> float:
    """ΔF of the inputs, in float64 (the check's own reference): ``logsumexp(log_w[in_a]) − logsumexp(log_w[in_b])``.

    Example:
        >>> round(reference(np.zeros(4), np.array([1, 1, 1, 0], bool), np.array([0, 0, 0, 1], bool)), 6)   # log 3
        1.098612
    """
    return _lse(log_w[in_a]) - _lse(log_w[in_b])


@dataclass
class Case:
    """One call: the inputs, the right answer, and ``{wrong answer: what it means}``.

    Example:
        >>> case = Case("2 in A, 1 in B", np.zeros(3), np.array([1, 1, 0], bool), np.array([0, 0, 1], bool))
        >>> round(case.expected, 4)   # ΔF = −log(Z_B / Z_A) = log 2
        0.6931
    """

    name: str
    log_w: np.ndarray
    in_a: np.ndarray
    in_b: np.ndarray
    known: dict[float, str] = field(default_factory=dict)

    @property
    def expected(self) -> float:
        return reference(self.log_w, self.in_a, self.in_b)


def _sign_message(expected: float) -> str:
    why = ", and here Z_B < Z_A, so ΔF > 0" if expected > 0 else ", and here Z_B > Z_A, so ΔF < 0"
    return f"the sign is flipped: ΔF = F_B − F_A = −log(Z_B/Z_A){why}"


def _shuffled(rng: np.random.Generator, log_w: np.ndarray, in_a: np.ndarray, in_b: np.ndarray) -> tuple:
    order = rng.permutation(len(log_w))
    return log_w[order], in_a[order], in_b[order]


def _equal_weights(rng: np.random.Generator) -> Case:
    n_a, n_b = int(rng.integers(20, 41)), int(rng.integers(5, 16))
    log_w = np.full(n_a + n_b, float(rng.uniform(-5, 5)))
    in_a = np.arange(n_a + n_b) < n_a
    lw, a, b = _shuffled(rng, log_w, in_a, ~in_a)
    expected = math.log(n_a / n_b)
    return Case(f"equal weights, {n_a} samples in A and {n_b} in B", lw, a, b, {
        -expected: _sign_message(expected),
        0.0: f"ΔF = 0 would mean Z_A = Z_B, but with equal weights Z_B/Z_A is the fraction {n_b}/{n_a} — did you "
             "average the weights in each region instead of summing them?"})


def _unequal(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, float]:
    """A: ``k`` samples of weight 1; B: one sample of weight ``w`` (Z_B/Z_A = w/k; no slip gives the answer)."""
    k, w = int(rng.integers(2, 4)), float(rng.uniform(4.5, 8.5))
    return np.array([0.0] * k + [math.log(w)]), np.arange(k + 1) < k, k, w


def _unequal_weights(rng: np.random.Generator, shift: float = 0.0) -> Case:
    log_w, in_a, k, w = _unequal(rng)
    lw, a, b = _shuffled(rng, log_w + shift, in_a, ~in_a)
    what = f"A: {k} samples of weight 1, B: one sample of weight {w:.3f}"
    if shift:
        return Case(f"{what}, all times e^{{{shift:+.0f}}} (log_w {shift:+.0f})", lw, a, b)
    return Case(what, lw, a, b, {
        math.log(k): "you counted samples; each sample counts with its weight w_i = exp(log_w[i]): "
                     "Z_B/Z_A ≈ Σ_{i∈B} w_i / Σ_{i∈A} w_i",
        -math.log(w): "you averaged the weights in each region; the estimate uses the sums "
                      "(Z_region ≈ (1/N) Σ_{i∈region} w_i — the same 1/N for both, so it cancels)",
        math.log(w / k): _sign_message(math.log(k / w))})


def _outside_both(rng: np.random.Generator) -> Case:
    log_w, in_a, k, _ = _unequal(rng)
    m = int(rng.integers(1, 4))
    extra = rng.uniform(math.log(50), math.log(200), m)
    lw = np.concatenate([log_w, extra])
    a = np.concatenate([in_a, np.zeros(m, bool)])
    b = np.concatenate([~in_a, np.zeros(m, bool)])
    lw, a, b = _shuffled(rng, lw, a, b)
    return Case(f"{m} sample(s) (weights {', '.join(f'{math.exp(v):.0f}' for v in extra)}) in neither region", lw, a, b, {
        reference(lw, a, ~a): "a sample outside region B was counted in B: use only log_w[in_b] (not ~in_a) — "
                              "regions need not cover every sample",
        reference(lw, ~b, b): "a sample outside region A was counted in A: use only log_w[in_a]"})


def random_regions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks ``(in_a, in_b)`` of ``n`` samples: each in A, in B or in neither, at least one in each region.

    Example:
        >>> in_a, in_b = random_regions(np.random.default_rng(0), 10)
        >>> bool(in_a.any() and in_b.any() and not (in_a & in_b).any())
        True
    """
    region = rng.integers(0, 3, n)  # 0: A, 1: B, 2: neither
    region[:2] = (0, 1)
    region = region[rng.permutation(n)]
    return region == 0, region == 1


def _random(rng: np.random.Generator) -> Case:
    n = int(rng.integers(30, 61))
    a, b = random_regions(rng, n)
    return Case(f"{n} random log-weights ~ N(0, 2²), {int(a.sum())} in A, {int(b.sum())} in B",
                rng.normal(0.0, 2.0, n), a, b)


def cases(rng: np.random.Generator) -> list[Case]:
    """The check's cases, drawn from ``rng``: answers known by construction, then a random one.

    Example:
        >>> todo = cases(np.random.default_rng(0))
        >>> len(todo), todo[0].name.startswith("equal weights")
        (6, True)
    """
    return [_equal_weights(rng), _unequal_weights(rng), _unequal_weights(rng, 1000.0),
            _unequal_weights(rng, -1000.0), _outside_both(rng), _random(rng)]


def _number(raw: Any) -> float | None:
    """One number: a float or int, or a tensor holding one floating value; else ``None``."""
    if type(raw) in (float, int):
        return float(raw)
    if isinstance(raw, Tensor) and raw.values.size == 1 and raw.dtype in ("float32", "float64"):
        return float(raw.values.reshape(()))
    return None


def diagnose(case: Case, raw: Any) -> str | None:
    """``None`` if ``raw`` is the case's answer, else a sentence saying what is off.

    Example:
        >>> case = Case("2 in A, 1 in B", np.zeros(3), np.array([1, 1, 0], bool), np.array([0, 0, 1], bool))
        >>> diagnose(case, math.log(2)) is None
        True
        >>> print(diagnose(case, -math.log(2)))
        case '2 in A, 1 in B': expected ΔF = +0.6931 (k_B T), you returned -0.6931
    """
    got, expected = _number(raw), case.expected
    if got is None:
        return f"case '{case.name}': return one number (a float or a 0-dim tensor), got {_kind(raw)}"
    if not math.isfinite(got):
        return (f"case '{case.name}': you returned {got}. exp(±1000) over- or underflows (exp(1000) = inf, "
                "exp(−1000) = 0, and inf/inf or 0/0 = nan); stay in log space: "
                "log Σ_i w_i = torch.logsumexp(log_w[mask], 0)")
    if abs(got - expected) <= TOL * max(1.0, abs(expected)):
        return None
    for value, meaning in case.known.items():
        if abs(got - value) <= TOL * max(1.0, abs(value)):
            return f"case '{case.name}': expected ΔF = {expected:+.4f}, you returned {got:+.4f} — {meaning}"
    return f"case '{case.name}': expected ΔF = {expected:+.4f} (k_B T), you returned {got:+.4f}"


def call_estimator(student: Student, case: Case) -> Any:
    """The learner's ``free_energy_difference`` on ``case`` (an exception other than NotImplementedError: a verdict).

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> case = Case("2 in A, 1 in B", np.zeros(3), np.array([1, 1, 0], bool), np.array([0, 0, 1], bool))
        >>> call_estimator(DirectStudent({"free_energy_difference": lambda log_w, in_a, in_b: 0.5}), case)
        0.5
    """
    try:
        return student.call("free_energy_difference", tensor(case.log_w), tensor(case.in_a, "bool"),
                            tensor(case.in_b, "bool"))
    except StudentError as e:
        if e.type_name == "NotImplementedError":
            raise
        raise CheckFailed(f"case '{case.name}': your function raised {e.type_name}: {e.message}") from None


def expect(student: Student, case: Case) -> None:
    """Ask the learner's estimator about ``case``; :class:`CheckFailed` saying what is off unless it is right.

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> case = Case("2 in A, 1 in B", np.zeros(3), np.array([1, 1, 0], bool), np.array([0, 0, 1], bool))
        >>> expect(DirectStudent({"free_energy_difference": lambda log_w, in_a, in_b: math.log(2)}), case)
        >>> expect(DirectStudent({"free_energy_difference": lambda log_w, in_a, in_b: 0.0}), case)
        Traceback (most recent call last):
        ...
        flowkit.course.checks.verdict.CheckFailed: case '2 in A, 1 in B': expected ΔF = +0.6931 (k_B T), you returned +0.0000
    """
    message = diagnose(case, call_estimator(student, case))
    if message is not None:
        raise CheckFailed(message)


@exercise("07_at_work", "ex1-tests")
def free_energy(student: Student, rng: np.random.Generator) -> str:
    """The check of ``07_at_work/ex1-tests``: every case of :func:`cases` through :func:`expect`; the ✓ line.

    Example:
        >>> import torch
        >>> from flowkit.course.checks.student import DirectStudent
        >>> right = lambda log_w, a, b: float(torch.logsumexp(log_w[a], 0) - torch.logsumexp(log_w[b], 0))
        >>> free_energy(DirectStudent({"free_energy_difference": right}), np.random.default_rng(0))[:11]
        'all 6 cases'
    """
    require_defined(student, "free_energy_difference")
    todo = cases(rng)
    for case in todo:
        expect(student, case)
    return (f"all {len(todo)} cases: equal weights, unequal weights, log-weights of ±1000 (no overflow), "
            "samples outside both regions, and random log-weights")
