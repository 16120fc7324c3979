r"""Immediate feedback for the "build it" exercise of notebook 07: the importance-weighted free-energy estimator.

The learner writes ``free_energy_difference(log_w, in_a, in_b)`` returning

.. math:: \Delta F = F_B - F_A = -\log\frac{Z_B}{Z_A}, \qquad
          \frac{Z_B}{Z_A} \approx \frac{\sum_{i\in B} w_i}{\sum_{i\in A} w_i},\quad \log w_i = \log\tilde p(x_i) - \log q(x_i)

(Noé et al., 2019, *Boltzmann generators*, Science 365). :func:`check_free_energy` runs it on
small cases whose answers are known by construction and prints one specific message for the
first case that fails (the sign, unweighted counts, averages instead of sums, overflow, samples
outside both regions). It never raises for a wrong or unfinished answer — it prints and
returns ``False`` — so a notebook with the exercise still runs top to bottom. It holds no
implementation of the estimator.

Example:
    >>> import math, torch
    >>> check_free_energy(lambda log_w, in_a, in_b: 0.0)   # doctest: +ELLIPSIS
    ✗ ...
    False
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["check_free_energy"]

_TOL = 1e-6


def _as_float(value: Any) -> float | None:
    try:
        if isinstance(value, Tensor):
            return float(value.detach().reshape(())) if value.numel() == 1 else None
        return float(value)
    except (TypeError, ValueError):
        return None


def _cases() -> list[tuple[str, Tensor, Tensor, Tensor, float, dict[float, str]]]:
    """``(name, log_w, in_a, in_b, expected, {wrong value: what it means})`` — answers known by construction."""
    f64 = torch.float64
    equal = torch.zeros(40, dtype=f64)
    a40 = torch.arange(40) < 30  # 30 samples in A, 10 in B, equal weights: Z_B/Z_A = 1/3
    # A: three samples of weight 1 (sum 3); B: one sample of weight 6 (sum 6): Z_B/Z_A = 2
    w4 = torch.tensor([0.0, 0.0, 0.0, math.log(6.0)], dtype=f64)
    a4 = torch.tensor([True, True, True, False])
    # a fifth sample in neither region (weight 100): it must not count for A or B
    w5 = torch.cat([w4, torch.tensor([math.log(100.0)], dtype=f64)])
    a5, b5 = torch.cat([a4, torch.tensor([False])]), torch.tensor([False, False, False, True, False])
    return [
        ("equal weights, 30 samples in A and 10 in B", equal, a40, ~a40, math.log(3.0),
         {-math.log(3.0): "the sign is flipped: ΔF = F_B − F_A = −log(Z_B/Z_A), and here Z_B < Z_A, so ΔF > 0",
          0.0: "ΔF = 0 would mean Z_A = Z_B, but with equal weights Z_B/Z_A is the fraction 10/30 — did you "
               "average the weights in each region instead of summing them?"}),
        ("A: three samples of weight 1, B: one sample of weight 6", w4, a4, ~a4, -math.log(2.0),
         {math.log(3.0): "you counted samples; each sample counts with its weight w_i = exp(log_w[i]): "
                         "Z_B/Z_A ≈ Σ_{i∈B} w_i / Σ_{i∈A} w_i",
          -math.log(6.0): "you averaged the weights in each region; the estimate uses the sums "
                          "(Z_region ≈ (1/N) Σ_{i∈region} w_i — the same 1/N for both, so it cancels)",
          math.log(2.0): "the sign is flipped: ΔF = F_B − F_A = −log(Z_B/Z_A)"}),
        ("the same weights times e^{+1000} (log_w + 1000)", w4 + 1000.0, a4, ~a4, -math.log(2.0),
         {}),
        ("the same weights times e^{−1000} (log_w − 1000)", w4 - 1000.0, a4, ~a4, -math.log(2.0),
         {}),
        ("a fifth sample (weight 100) in neither region", w5, a5, b5, -math.log(2.0),
         {-math.log(106.0 / 3.0): "a sample outside region B was counted in B: use only log_w[in_b] "
                                  "(not ~in_a) — regions need not cover every sample",
          -math.log(6.0 / 103.0): "a sample outside region A was counted in A: use only log_w[in_a]"}),
    ]


def _diagnose(name: str, got: float | None, expected: float, known: dict[float, str], raw: Any) -> str | None:
    if got is None:
        return (f"case '{name}': return one number (a float or a 0-dim tensor), got "
                f"{type(raw).__name__}{' of shape ' + str(tuple(raw.shape)) if isinstance(raw, Tensor) else ''}")
    if not math.isfinite(got):
        return (f"case '{name}': you returned {got}. exp(±1000) over- or underflows (exp(1000) = inf, "
                "exp(−1000) = 0, and inf/inf or 0/0 = nan); stay in log space: "
                "log Σ_i w_i = torch.logsumexp(log_w[mask], 0)")
    if abs(got - expected) <= _TOL * max(1.0, abs(expected)):
        return None
    for value, meaning in known.items():
        if abs(got - value) <= 1e-6 * max(1.0, abs(value)):
            return f"case '{name}': expected ΔF = {expected:+.4f}, you returned {got:+.4f} — {meaning}"
    return f"case '{name}': expected ΔF = {expected:+.4f} (k_B T), you returned {got:+.4f}"


def check_free_energy(fn: Callable[[Tensor, Tensor, Tensor], Any], *, verbose: bool = True) -> bool:
    r"""Check a learner's ``fn(log_w, in_a, in_b) → ΔF``; print ✓ or the first specific problem; return whether it passed.

    Args:
        fn: the learner's function; ``log_w`` is a float64 tensor ``(N,)``, ``in_a`` / ``in_b``
            boolean masks ``(N,)``.
        verbose: print the outcome (``False``: only return it).

    Example:
        >>> check_free_energy(lambda log_w, in_a, in_b: 0.0, verbose=False)   # a wrong answer
        False
    """
    if not callable(fn):
        raise TypeError(f"check_free_energy: pass your function itself, got {type(fn).__name__}")
    cases = _cases()
    for name, log_w, in_a, in_b, expected, known in cases:
        try:
            raw = fn(log_w.clone(), in_a.clone(), in_b.clone())
        except NotImplementedError:
            message = ("not implemented yet: replace `raise NotImplementedError` in free_energy_difference "
                       "with your estimator, then run this cell again")
        except Exception as err:  # the learner's code may raise anything; report it, don't crash the notebook
            message = f"case '{name}': your function raised {type(err).__name__}: {err}"
        else:
            message = _diagnose(name, _as_float(raw), expected, known, raw)
        if message is not None:
            if verbose:
                print(f"✗ {message}")
            return False
    if verbose:
        print(f"✓ free_energy_difference passes all {len(cases)} cases: equal weights, unequal weights, "
              "log-weights of ±1000 (no overflow), and samples outside both regions")
    return True
