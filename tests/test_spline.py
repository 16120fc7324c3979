"""Rational-quadratic spline coupling (Neural Spline Flows): exactness, identity at init, linear tails."""

from __future__ import annotations

import math

import pytest
import torch

import flowkit as fk
from flowkit.transforms.spline import RQSplineCoupling, rational_quadratic_spline

from registry import randomize
from test_autoregressive import gaussian_test_nll



@pytest.mark.parametrize("n_bins", [8, 5])
def test_fresh_spline_is_identity(n_bins: int) -> None:
    t = RQSplineCoupling(4, n_bins=n_bins).double()
    z = torch.randn(200, 4, dtype=torch.float64) * 3
    x, ld = t.forward(z)
    assert torch.allclose(x, z, atol=1e-12) and ld.abs().max() < 1e-12
    z2, ld2 = t.inverse(z)
    assert torch.allclose(z2, z, atol=1e-12) and ld2.abs().max() < 1e-12
    # float32 too, to rounding
    t32 = RQSplineCoupling(4, n_bins=n_bins)
    x32, ld32 = t32.forward(z.float())
    assert torch.allclose(x32, z.float(), atol=2e-6) and ld32.abs().max() < 1e-5


def test_conditioner_has_3k_minus_1_params_per_feature() -> None:
    t = RQSplineCoupling(5, n_bins=7, hidden=(8,))
    assert t.n_params == 20 and t.conditioner[-1].out_features == 20 * 3  # 3 transformed features


def test_tails_are_linear_outside_the_bound() -> None:
    B = 2.0
    t = randomize(RQSplineCoupling(2, hidden=(16,), n_bins=6, bound=B), std=0.5).double()
    za = torch.randn(400, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # built in float64: in float32, -B - 1e-9 rounds to -B, which lies on the spline's boundary
    zb = torch.cat([torch.linspace(-8, -B - 1e-9, 200, dtype=torch.float64),
                    torch.linspace(B + 1e-9, 8, 200, dtype=torch.float64)]).unsqueeze(1)
    z = torch.cat([za, zb], dim=1)
    x, ld = t.forward(z)
    assert torch.equal(x, z) and torch.equal(ld, torch.zeros(400, dtype=torch.float64))
    # inside the bound the map is not the identity
    zin = torch.cat([za, torch.linspace(-B + 0.1, B - 0.1, 400).double().unsqueeze(1)], dim=1)
    xin, ldin = t.forward(zin)
    assert (xin - zin).abs().max() > 1e-2 and ldin.abs().max() > 1e-2
    assert (xin[:, 1].abs() <= B).all(), "the spline maps [-B, B] onto itself"


def test_spline_is_monotone_continuous_and_c1_at_the_boundary() -> None:
    g = torch.Generator().manual_seed(0)
    K, B = 6, 3.0
    params = torch.randn(3 * K - 1, generator=g, dtype=torch.float64) * 2
    x = torch.linspace(-4, 4, 80001, dtype=torch.float64)
    y, ld = rational_quadratic_spline(x, params.expand(len(x), -1), bound=B)
    dx = float(x[1] - x[0])
    assert torch.all(torch.diff(y) > 0), "monotone increasing"
    assert torch.diff(y).max() < 200 * dx, "no jumps"
    # the log-slope agrees with finite differences (continuous derivative, also across the knots and ±B)
    fd = torch.diff(y) / dx
    xm = 0.5 * (x[1:] + x[:-1])
    _, ld_mid = rational_quadratic_spline(xm, params.expand(len(xm), -1), bound=B)
    assert ((fd - ld_mid.exp()) / ld_mid.exp()).abs().max() < 1e-2
    ends, _ = rational_quadratic_spline(torch.tensor([-B, B], dtype=torch.float64), params.expand(2, -1), bound=B)
    assert torch.allclose(ends, torch.tensor([-B, B], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("std", [1.0, 3.0])
def test_quadratic_root_inverse_is_exact_in_float64(std: float) -> None:
    g = torch.Generator().manual_seed(1)
    n, K = 5000, 8
    x = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * 4
    params = torch.randn(n, 3 * K - 1, generator=g, dtype=torch.float64) * std
    y, ld = rational_quadratic_spline(x, params, bound=4.0)
    x2, ld2 = rational_quadratic_spline(y, params, bound=4.0, inverse=True)
    assert (x2 - x).abs().max() < 1e-9
    assert (ld + ld2).abs().max() < 1e-9 * max(1.0, float(ld.abs().max()))


def test_spline_with_image_mask_and_conv_conditioner() -> None:
    from flowkit.image import checkerboard_mask

    K = 4
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 3 * K - 1, 3, padding=1))
    t = RQSplineCoupling((1, 4, 4), mask=checkerboard_mask(1, 4, 4), conditioner=net, n_bins=K, bound=3.0)
    randomize(t, std=0.3)
    fk.check(t, torch.randn(8, 1, 4, 4), n_jacobian=3)
    fk.check(t.double(), torch.randn(8, 1, 4, 4, dtype=torch.float64), n_jacobian=3)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        RQSplineCoupling(2, n_bins=0)
    with pytest.raises(ValueError, match="bound"):
        RQSplineCoupling(2, bound=-1.0)
    with pytest.raises(ValueError, match="min_bin_width"):
        RQSplineCoupling(2, n_bins=10, min_bin_width=0.2)
    with pytest.raises(ValueError, match="min_derivative"):
        RQSplineCoupling(2, min_derivative=1.5)
    with pytest.raises(ValueError, match="3K-1"):
        rational_quadratic_spline(torch.zeros(3), torch.zeros(3, 4))


def test_spline_flow_learns_two_moons() -> None:
    torch.manual_seed(0)
    train, _, test = fk.data.train_val_test("two_moons", 1000, 0, 1000, seed=0)
    layers = []
    for k in range(4):
        layers.append(RQSplineCoupling(2, mask=fk.split_mask(2, flip=bool(k % 2)), hidden=(32,), n_bins=8,
                                       bound=4.0))
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
    fk.fit(flow, train, steps=200, batch_size=128, lr=5e-3, progress=False)
    with torch.no_grad():
        model_nll = float(-flow.log_prob(test).mean())
    baseline = gaussian_test_nll(train, test)
    assert math.isfinite(model_nll) and model_nll < baseline - 0.2, (model_nll, baseline)
