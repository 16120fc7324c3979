"""Edge cases a held-out sweep found (issue 12), each pinned by a test that failed before the fix.

Numbering follows the issue: 1 image models score their own samples, 2 Radial's margin, 3 spline
gradients at knots and the tail bound, 4 NaN/inf constructor arguments, 5 readable errors, 8 planar
layers start near the identity, 9 consistent edges (empty batches, the thread count).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import flowkit as fk
from flowkit.image import ActNorm, InvConv1x1, Logit
from flowkit.transforms.spline import rational_quadratic_spline

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------- 1
@pytest.mark.parametrize("name", ["realnvp_digits", "glow_digits"])
@pytest.mark.parametrize("temperature", [0.5, 0.7, 1.0])
def test_shipped_image_models_score_their_own_samples(name: str, temperature: float) -> None:
    model = fk.train.load_checkpoint(ROOT / "checkpoints" / f"{name}.pt")
    with torch.no_grad():
        x = model.sample(64, temperature=temperature, generator=torch.Generator().manual_seed(0))
        lp = model.log_prob(x)
    assert torch.isfinite(lp).all(), f"{name} at T={temperature}: {int((~torch.isfinite(lp)).sum())} samples not scored"


def test_fresh_image_model_scores_its_samples() -> None:
    model = fk.image.RealNVP(seed=0).eval()
    with torch.no_grad():
        assert torch.isfinite(model.log_prob(model.sample(16))).all()


def test_logit_accepts_its_forward_image_in_float32_without_alpha() -> None:
    t = Logit(3, alpha=0.0)
    x, _ = t.forward(torch.tensor([[17.0, -17.0, 0.3]]))  # the sigmoid saturates to exactly 1 and ~0
    assert float(x[0, 0]) == 1.0
    y, ld = t.inverse(x)
    assert torch.isfinite(y).all() and torch.isfinite(ld).all()
    with pytest.raises(ValueError, match="must lie in"):
        t.inverse(torch.tensor([[1.0 + 1e-3, 0.5, 0.5]]))


# ---------------------------------------------------------------------------------------------- 2
def test_radial_keeps_a_margin_in_float32() -> None:
    r = fk.Radial(2)
    with torch.no_grad():
        r.beta_raw.fill_(-25.0)  # softplus underflows: without a margin β = −α exactly
    flow = fk.Flow(r, fk.StandardNormal(2))
    z0 = r.z0.detach().unsqueeze(0)
    assert torch.isfinite(flow.log_prob(z0)).all()


def test_radial_logdets_cancel_near_the_centre_in_float64() -> None:
    r = fk.Radial(2).double()
    with torch.no_grad():
        r.beta_raw.fill_(-25.0)
    z = r.z0.detach() + 1e-3 * torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x, ld_f = r.forward(z)
    back, ld_i = r.inverse(x)
    assert torch.allclose(ld_f + ld_i, torch.zeros_like(ld_f), atol=1e-6)
    assert torch.allclose(back, z, atol=1e-9)


# ---------------------------------------------------------------------------------------------- 3
@pytest.mark.parametrize("inverse", [False, True])
def test_spline_gradients_survive_knots_and_the_tail_bound(inverse: bool) -> None:
    g = torch.Generator().manual_seed(0)
    bound, K = 3.0, 6
    params = torch.randn(400, 3 * K - 1, generator=g, dtype=torch.float64) * 2
    # points exactly at ±B, just beyond, and exactly on knots
    y_knots, _ = rational_quadratic_spline(torch.linspace(-bound, bound, 400, dtype=torch.float64), params,
                                           bound=bound)
    pts = torch.cat([torch.full((100,), bound), torch.full((100,), -bound), torch.full((100,), bound + 1e-9),
                     torch.linspace(-bound, bound, 100)]).double()
    if inverse:
        pts = torch.cat([pts[:300], y_knots[:100].detach()])
    pts.requires_grad_(True)
    out, ld = rational_quadratic_spline(pts, params, inverse=inverse, bound=bound)
    (grad,) = torch.autograd.grad(out.sum(), pts)
    assert torch.all(grad > 0), "the spline is strictly increasing: a zero derivative means a cut gradient"
    assert torch.allclose(torch.log(grad), ld, atol=1e-7), "autograd slope and reported log-slope disagree"


# ---------------------------------------------------------------------------------------------- 4
@pytest.mark.parametrize("make", [lambda v: fk.Radial(2, init_scale=v), lambda v: fk.Planar(2, init_scale=v),
                                  lambda v: fk.AffineCoupling(2, scale_bound=v), lambda v: fk.MAF(2, scale_bound=v),
                                  lambda v: Logit(2, alpha=v), lambda v: ActNorm(2, eps=v)])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_constructors_reject_non_finite_numbers(make, value: float) -> None:
    with pytest.raises(ValueError):
        make(value)


# ---------------------------------------------------------------------------------------------- 5
def test_meta_device_flow_says_so() -> None:
    with torch.device("meta"):
        flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
        glow = fk.image.Glow()  # image models can be built on the meta device (to count parameters)
    assert sum(p.numel() for p in glow.parameters()) > 0
    with pytest.raises(ValueError, match="meta"):
        flow.log_prob(torch.randn(3, 2))


def test_actnorm_checks_channels_before_initialising() -> None:
    a = ActNorm(3)
    with pytest.raises(ValueError, match=r"\(batch, 3, \.\.\.\)"):
        a.inverse(torch.randn(5, 4, 2, 2))
    assert not bool(a.initialized), "a rejected batch must not initialise the layer"


@pytest.mark.parametrize("lu", [False, True])
def test_invconv_parameters_flatten(lu: bool) -> None:
    v = torch.nn.utils.parameters_to_vector(InvConv1x1(3, lu=lu).parameters())
    assert v.numel() == (9 if not lu else 9 + 9 + 3)  # W, or L and U (stored as full matrices) and log|s|


def test_complex_images_are_refused() -> None:
    model = fk.image.RealNVP(n_couplings=1, hidden=4, seed=0)
    with pytest.raises(TypeError, match="real"):
        model.nll(torch.zeros(2, 1, 8, 8, dtype=torch.complex64))


def test_numpy_integers_count_as_sample_sizes() -> None:
    flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
    assert flow.sample(np.int64(3)).shape == (3, 2)
    assert flow.sample_and_log_prob(np.int32(2))[0].shape == (2, 2)


def test_made_rejects_hidden_layers_narrower_than_d_minus_1() -> None:
    with pytest.raises(ValueError, match="features - 1"):
        fk.MAF(3, hidden=(1,))


def test_log_prob_works_under_vmap() -> None:
    flow = fk.Flow(fk.Compose([fk.AffineCoupling(2, zero_init=False), fk.Reverse(2), fk.MAF(2, zero_init=False)]),
                   fk.StandardNormal(2))
    x = torch.randn(4, 8, 2, generator=torch.Generator().manual_seed(0))
    batched = torch.func.vmap(flow.log_prob)(x)
    assert torch.allclose(batched, flow.log_prob(x.reshape(32, 2)).reshape(4, 8), atol=1e-6)
    # per-example gradients, the reason to want vmap
    grads = torch.func.vmap(torch.func.grad(lambda xi: flow.log_prob(xi.unsqueeze(0)).sum()))(x[0])
    assert grads.shape == (8, 2) and torch.isfinite(grads).all()


# ---------------------------------------------------------------------------------------------- 8
def test_fresh_planar_layer_is_close_to_the_identity() -> None:
    torch.manual_seed(0)
    p = fk.Planar(2)
    assert abs(float(p.w @ p.u_hat())) < 1e-2, "wᵀû should start near m(0) = 0, not at −0.31"
    z = torch.randn(256, 2)
    x, ld = p.forward(z)
    assert float((x - z).abs().max()) < 1e-2 and float(ld.abs().max()) < 1e-2


def test_planar_constraint_holds_at_its_boundary() -> None:
    p = fk.Planar(2).double()
    with torch.no_grad():
        p.w.copy_(torch.tensor([1.0, 0.0]))
        p.u.copy_(torch.tensor([-80.0, 0.0]))  # wᵀu → −∞: softplus underflows, the margin holds
    assert float(p.w @ p.u_hat()) >= -1 + fk.Planar.MARGIN - 1e-12
    # exact at the boundary (the density there is a ridge too thin for a grid integral: not integrated)
    assert fk.check(p, torch.randn(32, 2, dtype=torch.float64), n_jacobian=4, integrate=False).passed


# ---------------------------------------------------------------------------------------------- 9
def test_empty_batches_are_consistent() -> None:
    flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
    x = flow.sample(0)
    x2, lp = flow.sample_and_log_prob(0)
    assert x.shape == x2.shape == (0, 2) and lp.shape == (0,)


def test_check_leaves_the_thread_count_alone() -> None:
    before = torch.get_num_threads()
    fk.check(fk.Planar(2), torch.randn(16, 2))
    assert torch.get_num_threads() == before
