"""MADE / MAF / IAF: autoregressive structure, one-pass density, D-pass sampling, training."""

from __future__ import annotations

import math

import pytest
import torch

import flowkit as fk
from flowkit.autoregressive import MADE, MaskedAffineAutoregressive

from registry import randomize



def _rank(order: torch.Tensor) -> torch.Tensor:
    r = torch.empty_like(order)
    r[order] = torch.arange(len(order))
    return r


@pytest.mark.parametrize("order", [None, [3, 0, 4, 1, 2]])
def test_made_is_autoregressive(order) -> None:
    d = 5
    made = randomize(MADE(d, n_params=2, hidden=(12, 12), order=order), std=0.7).double()
    rank = _rank(made.order)
    allowed = rank[:, None] > rank[None, :]  # output i may see input j iff j comes before i
    assert torch.equal(made.connectivity(), allowed)
    g = torch.Generator().manual_seed(0)
    # several points: at any one point a ReLU can be off and hide a connection that exists
    jacs = [torch.autograd.functional.jacobian(lambda v: made(v.unsqueeze(0))[0], torch.randn(d, dtype=torch.float64,
                                                                                               generator=g))
            for _ in range(8)]  # each (2, d, d)
    used = torch.stack(jacs).abs().amax(dim=0)
    for p in range(2):
        for jac in jacs:
            assert torch.all(jac[p][~allowed] == 0), "an output depends on a later (or its own) input"
        assert torch.all(used[p][allowed] > 0), "every allowed connection should be used"


def test_made_first_feature_is_constant_and_d1_works() -> None:
    made = randomize(MADE(1, n_params=2, hidden=(4,)), std=1.0)
    out = made(torch.randn(7, 1))
    assert out.shape == (7, 2, 1) and torch.allclose(out, out[:1].expand_as(out))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_maf_jacobian_is_triangular_in_its_order(dtype) -> None:
    d = 5
    order = torch.tensor([2, 4, 0, 3, 1])
    t = randomize(MaskedAffineAutoregressive(d, hidden=(16, 16), order=order), std=0.5).double()
    x = torch.randn(d, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: t.inverse(v.unsqueeze(0))[0][0], x)  # ∂z/∂x
    jo = jac[order][:, order]  # rows and columns in autoregressive order
    assert torch.all(torch.triu(jo, diagonal=1) == 0), "z_i must not depend on later x_j"
    assert torch.tril(jo, diagonal=-1).abs().max() > 0, "z_i should depend on earlier x_j"
    _, ld = t.inverse(x.unsqueeze(0))
    assert torch.allclose(ld[0], torch.log(torch.diagonal(jac).abs()).sum())
    # the same check in the layer's own dtype through flowkit.check
    tt = randomize(MaskedAffineAutoregressive(d, hidden=(16, 16), order=order), std=0.5).to(dtype)
    fk.check(tt, torch.randn(16, d, dtype=dtype))


def _count_made_calls(t: MaskedAffineAutoregressive) -> list[int]:
    calls = [0]
    t.made.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_maf_density_is_one_pass_and_sampling_is_d_passes() -> None:
    d = 6
    t = randomize(MaskedAffineAutoregressive(d, hidden=(16,)), std=0.5)
    calls = _count_made_calls(t)
    x = torch.randn(10, d)
    z, ld_i = t.inverse(x)
    assert calls[0] == 1
    calls[0] = 0
    x2, ld_f = t.forward(z)
    assert calls[0] == d
    assert torch.allclose(x2, x, atol=1e-5) and torch.allclose(ld_f, -ld_i, atol=1e-5)


def test_iaf_is_inverse_maf_with_one_pass_sampling() -> None:
    d = 4
    maf = randomize(MaskedAffineAutoregressive(d, hidden=(16,)), std=0.5).double()
    iaf = fk.Inverse(maf)
    flow = fk.Flow(iaf, fk.StandardNormal(d)).double()
    calls = _count_made_calls(maf)
    x, lp = flow.sample_and_log_prob(50, generator=torch.Generator().manual_seed(0))
    assert calls[0] == 1, "IAF sampling with its density must be a single MADE pass"
    calls[0] = 0
    lp2 = flow.log_prob(x)
    assert calls[0] == d, "IAF density evaluation of given data is the D-pass direction"
    assert torch.allclose(lp, lp2, atol=1e-10)


def test_fresh_maf_is_identity_and_scale_is_bounded() -> None:
    t = MaskedAffineAutoregressive(3)
    z = torch.randn(8, 3)
    x, ld = t.forward(z)
    assert torch.equal(x, z) and torch.equal(ld, torch.zeros(8))
    z2, ld2 = t.inverse(z)
    assert torch.equal(z2, z) and torch.equal(ld2, torch.zeros(8))
    t = randomize(MaskedAffineAutoregressive(2, hidden=(8,), scale_bound=2.0), std=50.0)
    x, ld = t.inverse(torch.randn(500, 2) * 10)
    assert torch.isfinite(x).all() and ld.abs().max() <= 2 * 2.0 + 1e-4


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="features"):
        MaskedAffineAutoregressive(0)
    with pytest.raises(ValueError, match="scale_bound"):
        MaskedAffineAutoregressive(2, scale_bound=-1.0)
    with pytest.raises(ValueError, match="order"):
        MaskedAffineAutoregressive(3, order=[0, 0, 1])
    with pytest.raises(ValueError, match="either order or reverse"):
        MaskedAffineAutoregressive(2, order=[1, 0], reverse=True)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        MaskedAffineAutoregressive(3).inverse(torch.randn(4, 2))


def gaussian_test_nll(train: torch.Tensor, test: torch.Tensor) -> float:
    """Test NLL (nats) of the maximum-likelihood Gaussian fitted to ``train``."""
    mu = train.double().mean(0)
    cov = torch.cov(train.double().T)
    dist = torch.distributions.MultivariateNormal(mu, cov)
    return float(-dist.log_prob(test.double()).mean())


def test_maf_learns_two_moons() -> None:
    torch.manual_seed(0)
    train, _, test = fk.data.train_val_test("two_moons", 1000, 0, 1000, seed=0)
    layers = []
    for k in range(4):
        layers.append(MaskedAffineAutoregressive(2, hidden=(32,), reverse=bool(k % 2)))
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
    fk.fit(flow, train, steps=200, batch_size=128, lr=5e-3, progress=False)
    with torch.no_grad():
        model_nll = float(-flow.log_prob(test).mean())
    baseline = gaussian_test_nll(train, test)
    assert math.isfinite(model_nll) and model_nll < baseline - 0.2, (model_nll, baseline)
