"""Importance-sampling estimators (flowkit.metrics.importance) against exact answers."""

from __future__ import annotations

import math

import pytest
import torch

import flowkit as fk


def test_effective_sample_size_limits_and_invariance():
    assert fk.metrics.effective_sample_size(torch.zeros(50)) == pytest.approx(50.0)
    assert fk.metrics.effective_sample_size(torch.tensor([0.0, -1e4, -1e4])) == pytest.approx(1.0)
    lw = torch.randn(100, dtype=torch.float64)
    assert fk.metrics.effective_sample_size(lw + 1234.5) == pytest.approx(fk.metrics.effective_sample_size(lw))
    w = torch.exp(lw)
    assert fk.metrics.effective_sample_size(lw) == pytest.approx(float(w.sum() ** 2 / (w**2).sum()))


def test_importance_sampling_recovers_a_gaussian_mean_and_log_ratio():
    """Proposal N(0, 2²), target ∝ N(1, 1) restricted to two half-lines: exact answers from the normal CDF."""
    g = torch.Generator().manual_seed(0)
    x = 2.0 * torch.randn(400_000, generator=g, dtype=torch.float64)
    log_q = -0.5 * (x / 2) ** 2 - math.log(2.0)
    log_p_tilde = -0.5 * (x - 1.0) ** 2 + 7.0          # any constant offset
    lw = log_p_tilde - log_q
    assert fk.metrics.importance_mean(lw, x) == pytest.approx(1.0, abs=0.01)
    # Z_B / Z_A = Φ(1) / Φ(−1) for A = {x < 0}, B = {x ≥ 0}
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))
    expected = -math.log(phi(1.0) / phi(-1.0))
    assert fk.metrics.free_energy_difference(lw, x < 0, x >= 0) == pytest.approx(expected, abs=0.01)


def test_free_energy_difference_uses_only_the_samples_in_each_region_and_no_overflow():
    lw = torch.tensor([1000.0, 1000.0, 1000.0 + math.log(6.0), 1000.0 + math.log(100.0)], dtype=torch.float64)
    in_a = torch.tensor([True, True, False, False])
    in_b = torch.tensor([False, False, True, False])
    assert fk.metrics.free_energy_difference(lw, in_a, in_b) == pytest.approx(-math.log(3.0))


def test_importance_bad_input():
    with pytest.raises(ValueError, match="no sample falls in region in_b"):
        fk.metrics.free_energy_difference(torch.zeros(3), torch.ones(3, dtype=torch.bool), torch.zeros(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="boolean"):
        fk.metrics.free_energy_difference(torch.zeros(3), torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="one-dimensional"):
        fk.metrics.effective_sample_size(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="NaN"):
        fk.metrics.effective_sample_size(torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match="shape"):
        fk.metrics.importance_mean(torch.zeros(3), torch.zeros(4))
