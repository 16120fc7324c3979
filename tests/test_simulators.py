"""Simulators with known posteriors (flowkit.data.simulators): the closed forms against sampling and quadrature."""

from __future__ import annotations

import math

import pytest
import torch

import flowkit as fk
from flowkit.data.simulators import LinearGaussian, TwoMoonsSimulator


def test_linear_gaussian_posterior_matches_conditioning_the_joint_gaussian():
    """p(θ, x) is jointly Gaussian: Cov(θ, x) = τ²Aᵀ, Cov(x) = τ²AAᵀ + σ²I, so E[θ|x] = τ²Aᵀ Cov(x)⁻¹ x."""
    A = torch.tensor([[1.0, 0.8], [0.0, 0.6], [0.3, -0.2]], dtype=torch.float64)
    sim = LinearGaussian(A, noise=0.4, prior_scale=1.5)
    x = torch.tensor([[0.3, -1.0, 0.5], [2.0, 0.1, -0.4]])
    cov_x = 1.5**2 * A @ A.T + 0.4**2 * torch.eye(3, dtype=torch.float64)
    gain = 1.5**2 * A.T @ torch.linalg.inv(cov_x)
    mean, cov = sim.posterior(x)
    assert torch.allclose(mean, x.double() @ gain.T, atol=1e-12)
    assert torch.allclose(cov, 1.5**2 * torch.eye(2, dtype=torch.float64) - gain @ A * 1.5**2, atol=1e-12)


def test_linear_gaussian_log_posterior_integrates_to_one_and_peaks_at_the_mean():
    sim = LinearGaussian()
    x = torch.tensor([[0.5, -0.2]])
    mass = fk.grid.integrate_on_grid(lambda t: sim.log_posterior(t, x), 5.0, resolution=400)
    assert mass == pytest.approx(1.0, abs=1e-6)
    mean, _ = sim.posterior(x)
    grid = mean + torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, -0.1]], dtype=torch.float64)
    lp = sim.log_posterior(grid, x)
    assert lp[0] > lp[1] and lp[0] > lp[2]


def test_linear_gaussian_samples_have_the_simulated_moments():
    sim = LinearGaussian()
    theta, x = sim.sample_joint(200_000, seed=3)
    resid = x.double() - theta.double() @ sim.matrix.T
    assert resid.std(0).tolist() == pytest.approx([0.5, 0.5], abs=0.005)
    assert theta.double().std(0).tolist() == pytest.approx([1.0, 1.0], abs=0.01)
    assert torch.equal(sim.sample_joint(5, seed=3)[1], sim.sample_joint(5, seed=3)[1]), "same seed, same data"


def test_two_moons_likelihood_is_a_normalised_density_in_x():
    sim = TwoMoonsSimulator()
    theta = torch.tensor([[0.3, -0.5]])
    centre = sim.shift(theta)[0] + torch.tensor([0.25, 0.0], dtype=torch.float64)
    box = ((centre[0].item() - 0.2, centre[0].item() + 0.2), (centre[1].item() - 0.2, centre[1].item() + 0.2))
    mass = fk.grid.integrate_on_grid(lambda x: sim.log_likelihood(theta.double(), x), box, resolution=1000)
    assert mass == pytest.approx(1.0, abs=2e-3)


def test_two_moons_simulations_follow_the_likelihood():
    """The radius |x − c(θ) − (¼, 0)| of simulations is N(0.1, 0.01²) and the angle lies in (−π/2, π/2)."""
    sim = TwoMoonsSimulator()
    theta, x = sim.sample_joint(50_000, seed=0)
    q = x.double() - sim.shift(theta) - torch.tensor([0.25, 0.0], dtype=torch.float64)
    r = q.norm(dim=1)
    assert float(r.mean()) == pytest.approx(0.1, abs=2e-4) and float(r.std()) == pytest.approx(0.01, abs=2e-4)
    assert bool((q[:, 0] > 0).all())
    assert bool(torch.isfinite(sim.log_likelihood(theta, x)).all())


def test_two_moons_rejection_samples_are_symmetric_and_on_the_crescents():
    sim = TwoMoonsSimulator()
    x = torch.tensor([[-0.2, 0.3]])
    draws = sim.rejection_sample(x, 3000, seed=1)
    assert draws.shape == (3000, 2)
    assert float((draws.sum(1) > 0).float().mean()) == pytest.approx(0.5, abs=0.04)
    # every draw has a finite likelihood (lies on a crescent) and lies in the prior box
    assert bool(torch.isfinite(sim.log_posterior(draws, x)).all())
    # the exact posterior mean is on θ₁ + θ₂ = 0 (mirror symmetry); the draws' mean agrees
    assert abs(float(draws.double().mean(0).sum())) < 0.02


def test_two_moons_log_posterior_is_minus_inf_outside_the_box_and_the_support():
    sim = TwoMoonsSimulator()
    x = torch.tensor([[0.0, 0.0]])
    lp = sim.log_posterior(torch.tensor([[1.5, 0.0], [0.1, 0.1]]), x)
    assert lp[0] == -math.inf, "outside the prior box"
    assert lp[1] == -math.inf, "q₁ ≤ 0: no angle in (−π/2, π/2) reaches x"


def test_simulator_bad_input():
    with pytest.raises(ValueError, match="noise"):
        LinearGaussian(noise=0.0)
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        LinearGaussian().posterior(torch.zeros(3))
    with pytest.raises(ValueError, match="one x row"):
        TwoMoonsSimulator().log_likelihood(torch.zeros(3, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"one observation"):
        TwoMoonsSimulator().rejection_sample(torch.zeros(2, 2), 5)
    with pytest.raises(ValueError, match="radius_sd"):
        TwoMoonsSimulator(radius_sd=-1.0)
