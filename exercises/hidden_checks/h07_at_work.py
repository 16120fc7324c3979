"""Hidden checks of 07_at_work: the free-energy estimator on fresh, larger and wider cases."""

from __future__ import annotations

from flowkit.course.checks.common import require_defined
from flowkit.course.checks.ex07_at_work import Case, expect, random_regions
from grader.hidden import hidden


@hidden("07_at_work/ex1-tests")
def free_energy_wide_weights(student, rng):
    """Thousands of log-weights spread over hundreds of nats around a random offset (float64 exactness)."""
    require_defined(student, "free_energy_difference")
    n = int(rng.integers(2000, 5000))
    in_a, in_b = random_regions(rng, n)
    offset = float(rng.uniform(-800, 800))
    expect(student, Case(f"{n} log-weights ~ N({offset:.0f}, 100²)", rng.normal(offset, 100.0, n), in_a, in_b))


@hidden("07_at_work/ex1-tests")
def free_energy_swapped_regions(student, rng):
    """Swapping the two regions flips the sign: ΔF(B, A) = −ΔF(A, B)."""
    require_defined(student, "free_energy_difference")
    n = int(rng.integers(10, 40))
    in_a, in_b = random_regions(rng, n)
    log_w = rng.normal(0.0, 3.0, n)
    expect(student, Case(f"{n} log-weights ~ N(0, 3²)", log_w, in_a, in_b))
    expect(student, Case(f"the same {n} log-weights, regions A and B swapped", log_w, in_b, in_a))
