"""Exactness tests for the image layers, multi-scale models, dequantization and bits/dim.

Every shape-preserving layer goes through ``flowkit.check`` with random, non-identity
parameters; the shape-changing pieces (Squeeze, the multi-scale models) are checked with
their full flattened Jacobians in float64.
"""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from torch import nn

import flowkit as fk
from flowkit.image import (ActNorm, ConditionalRealNVP, Glow, ImageFlow, InvConv1x1, Logit, MultiScale, RealNVP, ResNet, Split,
                           Squeeze, VariationalDequantization, bits_per_dim,
                           channel_mask, checkerboard_mask, dequantized_nll)

torch.set_num_threads(1)

LOG2 = math.log(2.0)


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def perturb(module: nn.Module, std: float = 0.1, seed: int = 0) -> nn.Module:
    """Add N(0, std²) noise to every floating parameter (zero-initialised convs become non-zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
    return module


def data_like(shape, n=16, seed=0, dtype=torch.float64):
    """A batch with channel-dependent means and scales (so ActNorm's init is not trivial)."""
    g = torch.Generator().manual_seed(seed)
    C = shape[0]
    loc = torch.linspace(-1.0, 2.0, C, dtype=dtype).view(1, C, 1, 1)
    scale = torch.linspace(0.5, 3.0, C, dtype=dtype).view(1, C, 1, 1)
    return loc + scale * torch.randn((n, *shape), generator=g, dtype=dtype)


def coupling(shape, mask, hidden=8):
    C = shape[0]
    return fk.AffineCoupling(shape, mask=mask, conditioner=ResNet(C, 2 * C, hidden=hidden, n_blocks=1))


def flat_jacobian(fn, row: torch.Tensor) -> torch.Tensor:
    """Jacobian of ``fn`` (batch → batch of any shape) at one sample, flattened to a (D_out, D_in) matrix."""
    shape = row.shape

    def single(v):
        return fn(v.reshape(1, *shape))[0].reshape(-1)

    return torch.autograd.functional.jacobian(single, row.reshape(-1))


class NormalCDF(fk.Transform):
    """z ↦ Φ(z) elementwise: pushes N(0, I) to the uniform density on (0, 1)^D."""

    def forward(self, z):
        ld = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).reshape(z.shape[0], -1).sum(1)
        return torch.special.ndtr(z), ld

    def inverse(self, x):
        z = torch.special.ndtri(x)
        return z, -self.forward(z)[1]


def uniform_model(shape, n_bins, dequantizer=None) -> ImageFlow:
    return ImageFlow(NormalCDF(shape), n_bins, dequantizer)


# ----------------------------------------------------------------------------------------
# masks
# ----------------------------------------------------------------------------------------
def test_masks():
    m = checkerboard_mask(3, 4, 5)
    assert m.shape == (3, 4, 5) and m.dtype == torch.bool
    assert bool(m[:, 0, 0].all()) and not bool(m[:, 0, 1].any()) and not bool(m[:, 1, 0].any())
    assert torch.equal(checkerboard_mask(3, 4, 5, flip=True), ~m)
    assert torch.equal(m[0], m[2])
    c = channel_mask(4, 2, 3)
    assert bool(c[:2].all()) and not bool(c[2:].any())
    assert torch.equal(channel_mask(4, 2, 3, flip=True), ~c)
    with pytest.raises(ValueError):
        channel_mask(1, 4, 4)
    with pytest.raises(ValueError):
        checkerboard_mask(4, 1, 1)


# ----------------------------------------------------------------------------------------
# every shape-preserving layer passes flowkit.check
# ----------------------------------------------------------------------------------------
def _actnorm(shape):
    t = ActNorm(shape[0])
    t.train()
    t.inverse(data_like(shape, 32, seed=5).to(torch.float32))  # data-dependent init
    return perturb(t, 0.05)


def _glow_step(shape):
    C = shape[0]
    layers = [ActNorm(C), InvConv1x1(C, lu=True), coupling(shape, channel_mask(*shape))]
    t = fk.Compose(list(reversed(layers)))
    t.train()
    t.inverse(data_like(shape, 32, seed=5).to(torch.float32))
    return perturb(t, 0.05)


LAYERS = {
    "ActNorm": (_actnorm, 1),
    "InvConv1x1": (lambda s: perturb(InvConv1x1(s[0]), 0.1), 1),
    "InvConv1x1-lu": (lambda s: perturb(InvConv1x1(s[0], lu=True), 0.1), 1),
    "Coupling-checkerboard": (lambda s: perturb(coupling(s, checkerboard_mask(*s)), 0.1), 1),
    "Coupling-checkerboard-flip": (lambda s: perturb(coupling(s, checkerboard_mask(*s, flip=True)), 0.1), 1),
    "Coupling-channel": (lambda s: perturb(coupling(s, channel_mask(*s, flip=True)), 0.1), 2),
    "Split": (lambda s: perturb(Split(s), 0.1), 2),
    "Split-resnet": (lambda s: perturb(Split(s, hidden=8), 0.1), 2),
    "Logit": (lambda s: Logit(s), 1),
    "GlowStep": (_glow_step, 2),
}
CASES = [(name, shape) for name, (_, min_c) in LAYERS.items() for shape in [(1, 4, 4), (4, 8, 8)]
         if shape[0] >= min_c]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,shape", CASES, ids=[f"{n}-{'x'.join(map(str, s))}" for n, s in CASES])
def test_layer_passes_check(name, shape, dtype):
    torch.manual_seed(0)
    factory, _ = LAYERS[name]
    t = factory(shape).to(dtype)
    g = torch.Generator().manual_seed(1)
    if name == "Logit":
        x = (0.02 + 0.96 * torch.rand((6, *shape), generator=g, dtype=torch.float64)).to(dtype)
    else:
        x = torch.randn((6, *shape), generator=g, dtype=torch.float64).to(dtype)
    # the layer really is non-trivial: its log-det is not identically 0
    _, ld = t.inverse(x)
    assert ld.abs().max() > 1e-3
    fk.check(t, x, n_jacobian=3 if shape[0] == 1 else 1)


# ----------------------------------------------------------------------------------------
# Squeeze (shape-changing)
# ----------------------------------------------------------------------------------------
def test_squeeze_shapes_roundtrip_logdet():
    sq = Squeeze((3, 4, 6))
    assert sq.event_shape == (3, 4, 6) and sq.latent_shape == (12, 2, 3)
    x = torch.randn(5, 3, 4, 6)
    z, ld = sq.inverse(x)
    assert z.shape == (5, 12, 2, 3) and torch.equal(ld, torch.zeros(5))
    back, ld2 = sq.forward(z)
    assert torch.equal(back, x) and torch.equal(ld2, torch.zeros(5))
    # the documented layout z[c*4 + 2i + j, h, w] = x[c, 2h + i, 2w + j]
    for c, i, j, h, w in [(0, 0, 0, 0, 0), (1, 1, 0, 1, 2), (2, 1, 1, 1, 1), (2, 0, 1, 0, 2)]:
        assert z[:, c * 4 + 2 * i + j, h, w].equal(x[:, c, 2 * h + i, 2 * w + j])
    with pytest.raises(ValueError):
        Squeeze((1, 5, 4))
    with pytest.raises(ValueError):
        sq.inverse(torch.randn(2, 12, 2, 3))  # validated against the x-side shape


def test_squeeze_jacobian_is_a_permutation():
    sq = Squeeze((2, 4, 4)).double()
    x = torch.randn(2, 4, 4, dtype=torch.float64)
    for fn, row in [(lambda v: sq.inverse(v)[0], x), (lambda v: sq.forward(v)[0], x.reshape(8, 2, 2))]:
        J = flat_jacobian(fn, row)
        assert J.shape == (32, 32)
        assert torch.all((J == 0) | (J == 1))
        assert torch.equal(J.sum(0), torch.ones(32)) and torch.equal(J.sum(1), torch.ones(32))
        assert abs(float(torch.linalg.slogdet(J)[1])) < 1e-12


# ----------------------------------------------------------------------------------------
# Logit
# ----------------------------------------------------------------------------------------
def test_logit_logdet_against_autograd_and_range():
    t = Logit((1, 3, 3), alpha=0.05).double()
    x = 0.01 + 0.98 * torch.rand(4, 1, 3, 3, dtype=torch.float64)
    y, ld = t.inverse(x)
    lam = 0.05 + 0.9 * x
    assert torch.allclose(y, torch.log(lam / (1 - lam)))
    for i in range(4):
        J = flat_jacobian(lambda v: t.inverse(v)[0], x[i])
        assert torch.allclose(ld[i], torch.linalg.slogdet(J)[1], atol=1e-10)
        Jf = flat_jacobian(lambda v: t.forward(v)[0], y[i])
        assert torch.allclose(t.forward(y[i:i + 1])[1][0], torch.linalg.slogdet(Jf)[1], atol=1e-10)
    back, ldf = t.forward(y)
    assert torch.allclose(back, x, atol=1e-12) and torch.allclose(ldf, -ld, atol=1e-10)
    # forward (generative) maps logit space into data space around [0, 1]
    assert torch.all((t.forward(torch.tensor([[[[-50.0, 0.0, 50.0]] * 3]], dtype=torch.float64))[0]).abs() < 1.1)
    # the inverse accepts the closed forward image [-α/(1-2α), 1+α/(1-2α)] (the model's own samples) ...
    lo, hi = -0.05 / 0.9, 1 + 0.05 / 0.9
    for edge in (lo, hi, -1e-6, 1.0):
        xb = x.clone()
        xb[0, 0, 0, 0] = edge
        assert torch.isfinite(t.inverse(xb)[1]).all()
    # ... and nothing beyond it
    for bad in (-0.1, 1.5, lo - 1e-3, hi + 1e-3):
        xb = x.clone()
        xb[0, 0, 0, 0] = bad
        with pytest.raises(ValueError, match=r"must lie in \[-0.05556, 1.056\]"):
            t.inverse(xb)
    # inside a Compose (no public validation) the range is still checked
    with pytest.raises(ValueError):
        fk.Compose([Logit((1, 3, 3))]).inverse(torch.full((1, 1, 3, 3), 2.0))
    t0 = Logit((1, 3, 3), alpha=0.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        t0.inverse(torch.full((1, 1, 3, 3), -1e-6))
    # alpha = 0: the saturated sigmoid's exact 0 and 1 (forward(±17) in float32) map back to finite values
    ends, _ = t0.forward(torch.tensor([-17.0, 17.0]).repeat(5)[:9].reshape(1, 1, 3, 3))
    assert torch.isfinite(t0.inverse(ends)[1]).all()
    with pytest.raises(ValueError):
        Logit((1, 3, 3), alpha=0.5)


# ----------------------------------------------------------------------------------------
# ActNorm
# ----------------------------------------------------------------------------------------
def test_actnorm_data_dependent_init():
    x = data_like((3, 5, 5), 64, dtype=torch.float32)
    t = ActNorm(3)
    assert not bool(t.initialized) and "initialized" in t.state_dict()
    assert "initialized" not in dict(t.named_parameters())
    t.train()
    z, _ = t.inverse(x)
    assert bool(t.initialized)
    per = z.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(per.std(1, unbiased=False), torch.ones(3), atol=1e-4)
    # the second batch does not re-initialise
    before = t.log_scale.detach().clone()
    t.inverse(3 * x + 1)
    assert torch.equal(t.log_scale.detach(), before)
    # eval mode on a fresh layer: no init, identity
    e = ActNorm(3).eval()
    assert torch.equal(e.inverse(x)[0], x) and not bool(e.initialized)
    # init through the generative direction standardises the forward output
    f = ActNorm(3).train()
    out, _ = f.forward(x)
    per = out.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(per.std(1, unbiased=False), torch.ones(3), atol=1e-4)


def test_actnorm_state_dict_roundtrip_keeps_initialisation():
    x = data_like((2, 4, 4), 32, dtype=torch.float32)
    t = ActNorm(2).train()
    t.inverse(x)
    buf = io.BytesIO()
    torch.save(t.state_dict(), buf)
    buf.seek(0)
    fresh = ActNorm(2).train()
    fresh.load_state_dict(torch.load(buf))
    assert bool(fresh.initialized)
    other = 5 * x - 3
    z_loaded, _ = fresh.inverse(other)            # first batch of the reloaded model
    assert torch.equal(fresh.bias, t.bias) and torch.equal(fresh.log_scale, t.log_scale)
    assert torch.allclose(z_loaded, t.inverse(other)[0])
    # control: a model without the flag would have re-initialised on that batch
    control = ActNorm(2).train()
    control.inverse(other)
    assert not torch.allclose(control.bias, t.bias)


def test_glow_state_dict_roundtrip_no_reinit():
    x = torch.randint(0, 17, (16, 1, 8, 8))
    m = Glow(seed=0).train()
    g = torch.Generator().manual_seed(0)
    y, _ = m.dequantize(x, generator=g)
    lp = m.log_prob(y)
    m2 = Glow(seed=1).train()
    m2.load_state_dict(m.state_dict())
    lp2 = m2.log_prob(2 * y / 3)  # a differently distributed first batch
    assert torch.allclose(m2.log_prob(y), lp, atol=1e-5)
    assert torch.isfinite(lp2).all()


# ----------------------------------------------------------------------------------------
# InvConv1x1
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lu", [False, True])
def test_invconv_logdet_and_inverse(lu):
    torch.manual_seed(0)
    t = InvConv1x1(6, lu=lu)
    W0 = t.weight_matrix().detach().double()
    assert torch.allclose(W0 @ W0.T, torch.eye(6, dtype=torch.float64), atol=1e-5)  # orthogonal init
    perturb(t, 0.3, seed=2)
    W = t.weight_matrix().detach().double()
    x = torch.randn(3, 6, 5, 7)
    z, ld = t.inverse(x)
    assert torch.allclose(ld.double(), 35 * torch.linalg.slogdet(W)[1].expand(3), rtol=1e-5, atol=1e-5)
    assert torch.allclose(z.double(), torch.einsum("ij,bjhw->bihw", W, x.double()), atol=1e-5)
    back, ldf = t.forward(z)
    assert (back - x).abs().max() < 1e-5  # float32 round trip
    assert torch.allclose(ldf, -ld)
    assert abs(float(torch.linalg.slogdet(W)[1])) > 1e-2  # the perturbation changed |det W|


def test_invconv_float32_inverse_is_accurate_for_ill_conditioned_weights():
    torch.manual_seed(0)
    t = InvConv1x1(8)
    with torch.no_grad():
        t.weight.copy_(torch.eye(8) + 0.9 * torch.randn(8, 8))
    x = torch.randn(4, 8, 3, 3)
    z, _ = t.inverse(x)
    back, _ = t.forward(z)
    assert (back - x).abs().max() < 1e-3


def test_invconv_lu_buffers_and_factorisation():
    torch.manual_seed(0)
    t = perturb(InvConv1x1(5, lu=True), 0.2)
    params = dict(t.named_parameters())
    buffers = dict(t.named_buffers())
    assert set(params) == {"lower", "upper", "log_s"}
    assert {"P", "sign"} <= set(buffers) and "P" not in params and "sign" not in params
    P, sign = t.P, t.sign
    assert torch.allclose(P @ P.T, torch.eye(5)) and torch.all(sign.abs() == 1)
    W = t.weight_matrix().detach().double()
    assert torch.allclose(torch.linalg.slogdet(W)[1], t.log_s.detach().double().sum(), atol=1e-6)
    assert torch.allclose(t.inverse_weight().double() @ W, torch.eye(5, dtype=torch.float64), atol=1e-5)
    t64 = copy.deepcopy(t).double()
    assert t64.P.dtype == torch.float64 and t64.sign.dtype == torch.float64


# ----------------------------------------------------------------------------------------
# Split: the conditional prior is counted exactly
# ----------------------------------------------------------------------------------------
def test_split_is_the_conditional_gaussian_prior():
    torch.manual_seed(0)
    s = perturb(Split((4, 3, 3)), 0.2).double()
    x = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    z, ld = s.inverse(x)
    assert torch.equal(z[:, :2], x[:, :2])
    base = torch.distributions.Normal(0.0, 1.0)
    counted = base.log_prob(z[:, 2:]).sum((1, 2, 3)) + ld
    mu, logs = s.mean_and_log_scale(x[:, :2])
    direct = torch.distributions.Normal(mu, torch.exp(logs)).log_prob(x[:, 2:]).sum((1, 2, 3))
    assert torch.allclose(counted, direct, atol=1e-10)
    assert ld.abs().min() > 1e-3
    fresh = Split((4, 3, 3))
    assert torch.equal(fresh.inverse(x.float())[0], x.float())  # zero-init: the identity


def test_multiscale_rejects_inconsistent_shapes():
    # generative order: the data-side level (squeezing (1, 8, 8) to (4, 4, 4)) is the last one
    data_side = fk.Compose([coupling((4, 4, 4), channel_mask(4, 4, 4)), Squeeze((1, 8, 8))])
    with pytest.raises(ValueError, match="split 0 keeps"):
        MultiScale([coupling((4, 4, 4), channel_mask(4, 4, 4)), data_side], [Split((4, 4, 4))])
    with pytest.raises(ValueError, match="level 1 expects"):
        MultiScale([coupling((2, 2, 2), checkerboard_mask(2, 2, 2)), data_side], [Split((4, 2, 2))])
    with pytest.raises(ValueError, match="splits"):
        MultiScale([data_side], [Split((4, 4, 4))])


# ----------------------------------------------------------------------------------------
# the key exactness test: multi-scale log_prob against a brute-force Jacobian
# ----------------------------------------------------------------------------------------
def _tiny(kind: str) -> ImageFlow:
    if kind == "glow":
        m = Glow((1, 4, 4), n_levels=2, n_steps=2, hidden=8, seed=0)
    elif kind == "realnvp":
        m = RealNVP((1, 4, 4), n_levels=2, n_couplings=2, hidden=8, seed=0)
    else:  # three levels
        m = Glow((1, 8, 8), n_levels=3, n_steps=1, hidden=8, seed=0)
    m.train()
    g = torch.Generator().manual_seed(3)
    m.log_prob(m.dequantize(torch.randint(0, 17, (32, *m.event_shape), generator=g), generator=g)[0])  # ActNorm init
    perturb(m, 0.1, seed=4)
    return m.double().eval()


@pytest.mark.parametrize("kind", ["glow", "realnvp", "glow-3-levels"])
def test_multiscale_log_prob_equals_brute_force(kind):
    m = _tiny(kind)
    D = m.num_dims
    ms = m.transform[0]
    assert isinstance(ms, MultiScale) and m.transform.latent_shape == (D,)
    g = torch.Generator().manual_seed(5)
    x = (torch.randint(0, 17, (3, *m.event_shape), generator=g).double()
         + torch.rand((3, *m.event_shape), generator=g, dtype=torch.float64)) / 17
    lp = m.log_prob(x)
    std_normal = torch.distributions.Normal(torch.zeros((), dtype=torch.float64), 1.0)
    rows = 3 if D <= 16 else 1
    for i in range(rows):
        J = flat_jacobian(lambda v: m.transform.inverse(v)[0], x[i])
        assert J.shape == (D, D)
        z = m.transform.inverse(x[i:i + 1])[0][0]
        brute = std_normal.log_prob(z).sum() + torch.linalg.slogdet(J)[1]
        assert torch.allclose(lp[i], brute, atol=1e-9, rtol=1e-9), (float(lp[i]), float(brute))
    # the splits contribute (so the test would catch a dropped prior term)
    h = m.transform[1].inverse(x)[0]
    contrib = torch.zeros(3, dtype=torch.float64)
    y = h
    for i in range(len(ms.splits) - 1, -1, -1):  # generative order: the data-side level is the last
        y = ms.levels[i + 1].inverse(y)[0]
        y, ld = ms.splits[i].inverse(y)
        contrib += ld
        y = y[:, : ms.splits[i].n_keep]
    assert contrib.abs().min() > 1e-4
    # round trip and log-det consistency of the whole model
    z, ld_i = m.transform.inverse(x)
    back, ld_f = m.transform.forward(z)
    assert torch.allclose(back, x, atol=1e-10) and torch.allclose(ld_f, -ld_i, atol=1e-9)
    s, lps = m.sample_and_log_prob(4, generator=torch.Generator().manual_seed(0))
    # a model scores its own samples, pixels a little outside [0, 1] included (Logit's forward image):
    # finite always, and equal to the density they were drawn with unless the sigmoid saturated
    lo, hi = m.transform[1].image
    assert torch.isfinite(m.log_prob(s)).all()
    unsaturated = ((s > lo) & (s < hi)).reshape(4, -1).all(1)
    assert torch.allclose(m.log_prob(s[unsaturated]), lps[unsaturated], atol=1e-8)
    # latent parts have the documented shapes
    parts = ms.latent_parts(z)
    assert [tuple(p.shape[1:]) for p in parts] == [ms.final_shape, *ms.factored_shapes]


# ----------------------------------------------------------------------------------------
# bits per dimension
# ----------------------------------------------------------------------------------------
def test_bits_per_dim_function():
    D = 64
    assert torch.allclose(bits_per_dim(torch.tensor(0.0), D, n_bins=17), torch.tensor(math.log2(17)))
    assert torch.allclose(bits_per_dim(D * math.log(256), D), torch.tensor(8.0, dtype=torch.float64))
    nll = dequantized_nll(torch.tensor([-3.0, 2.0]), D, 17)
    assert torch.allclose(nll, torch.tensor([3.0, -2.0]) + D * math.log(17))
    assert torch.allclose(bits_per_dim(nll, D), bits_per_dim(torch.tensor([3.0, -2.0]), D, n_bins=17))
    with pytest.raises(ValueError):
        bits_per_dim(1.0, 0)


@pytest.mark.parametrize("n_bins", [2, 17, 256])
def test_uniform_model_has_log2K_bits_per_dim(n_bins):
    m = uniform_model((1, 4, 4), n_bins).double()
    x = torch.randint(0, n_bins, (50, 1, 4, 4))
    bpd = m.bits_per_dim(x, reduction="none", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(bpd, torch.full((50,), math.log2(n_bins), dtype=torch.float64), atol=1e-8)
    assert abs(float(m.bits_per_dim(x, n_samples=3, importance_weighted=True).detach()) - math.log2(n_bins)) < 1e-8


def test_bits_per_dim_counts_scaling_and_logit():
    m = _tiny("glow")
    x = torch.randint(0, 17, (6, 1, 4, 4))
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    bpd = m.bits_per_dim(x, reduction="none", generator=g1)
    y, log_q = m.dequantize(x, generator=g2)
    assert torch.all(log_q == 0) and torch.all((y >= 0) & (y < 1))
    assert torch.allclose(y * 17 - x, (y * 17 - x).clamp(0, 1))
    # by hand: -log p(y) (with the logit log-det inside) + D log K, over D log 2
    z, ld = m.transform.inverse(y)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1) + ld
    assert torch.allclose(bpd, (-log_p + 16 * math.log(17)) / (16 * LOG2), atol=1e-10)
    assert torch.allclose(bpd, bits_per_dim(-log_p, 16, n_bins=17), atol=1e-10)
    with pytest.raises(ValueError, match="0..16"):
        m.bits_per_dim(torch.full((1, 1, 4, 4), 17))
    with pytest.raises(ValueError, match="shape"):
        m.bits_per_dim(torch.zeros(1, 1, 8, 8, dtype=torch.long))


# ----------------------------------------------------------------------------------------
# variational dequantization
# ----------------------------------------------------------------------------------------
def test_variational_dequantization_log_q_is_exact():
    torch.manual_seed(0)
    vd = perturb(VariationalDequantization((1, 4, 4), hidden=8, n_couplings=2), 0.1).double()
    x = torch.randint(0, 17, (3, 1, 4, 4))
    eps = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    u, log_q = vd.noise_from_eps(x.double(), 17, eps)
    assert torch.all((u > 0) & (u < 1))
    std_normal = torch.distributions.Normal(torch.zeros((), dtype=torch.float64), 1.0)
    for i in range(3):
        J = flat_jacobian(lambda v: vd.noise_from_eps(x[i:i + 1].double().expand(v.shape[0], -1, -1, -1), 17, v)[0],
                          eps[i])
        brute = std_normal.log_prob(eps[i]).sum() - torch.linalg.slogdet(J)[1]
        assert torch.allclose(log_q[i], brute, atol=1e-9)
    assert torch.allclose(vd.log_q(u, x, 17), log_q, atol=1e-8)
    assert log_q.abs().max() > 1e-2  # really not uniform after perturbation


def test_variational_dequantization_elbo_on_uniform_model():
    x = torch.randint(0, 17, (40, 1, 4, 4))
    torch.manual_seed(0)
    vd = VariationalDequantization((1, 4, 4), hidden=8)
    m = uniform_model((1, 4, 4), 17, vd).double()
    # a fresh q is exactly uniform: same bound as uniform dequantization
    bpd = m.bits_per_dim(x, reduction="none")
    assert torch.allclose(bpd, torch.full_like(bpd, math.log2(17)), atol=1e-6)
    # any other q gives a looser bound on this model: E_q[log q] = -H(q) >= 0 on the unit cube
    perturb(vd, 0.05, seed=1)
    assert float(m.bits_per_dim(x, n_samples=4).detach()) > math.log2(17) + 1e-3
    y, _ = m.dequantize(x)
    assert torch.all((y * 17 >= x) & (y * 17 <= x + 1))


def test_variational_dequantization_trains_with_the_model():
    data = torch.randint(0, 17, (64, 1, 8, 8))
    m = Glow(n_steps=1, hidden=8, dequantization="variational", seed=0)
    params = dict(m.named_parameters())
    assert any(k.startswith("dequantizer.") for k in params)
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    for _ in range(3):
        loss = m.nll(data).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)
    first = m.dequantizer.flow.transform[0]  # q(u|x) is a conditional Flow; its first coupling's output layer
    assert first.conditioner.out.weight.abs().sum() > 0  # got gradients


# ----------------------------------------------------------------------------------------
# builders on 8x8 images
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder", [RealNVP, Glow])
def test_builder_log_prob_and_samples(builder):
    m = builder((1, 8, 8), seed=0)
    assert isinstance(m, fk.Flow) and m.event_shape == (1, 8, 8) and m.n_bins == 17
    x = torch.randint(0, 17, (8, 1, 8, 8))
    y, _ = m.dequantize(x)
    lp = m.log_prob(y)
    assert lp.shape == (8,) and torch.isfinite(lp).all()
    s = m.sample(5, temperature=0.7)
    assert s.shape == (5, 1, 8, 8) and torch.isfinite(s).all()
    im = m.sample_images(5)
    assert im.dtype == torch.long and im.shape == (5, 1, 8, 8) and int(im.min()) >= 0 and int(im.max()) <= 16
    s0 = m.sample(3, temperature=0.0)
    assert torch.allclose(s0[0], s0[1]) and torch.allclose(s0[1], s0[2])  # T = 0: the mode of the latent


def test_builders_validate_shapes():
    with pytest.raises(ValueError):
        Glow((1, 6, 6), n_levels=2)
    with pytest.raises(ValueError):
        RealNVP((1, 8, 8), n_levels=0)


@pytest.mark.parametrize("builder", [RealNVP, Glow])
def test_short_training_stays_finite_over_seeds(builder):
    from flowkit.data.digits import load_digits

    data = load_digits("train")[:256]
    first, last = [], []
    for seed in range(5):
        m = builder((1, 8, 8), hidden=16, seed=seed)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(seed)
        for step in range(20):
            batch = data[torch.randint(0, len(data), (32,), generator=g)]
            loss = m.nll(batch, generator=g).mean()
            assert torch.isfinite(loss), f"seed {seed} step {step}: loss {loss}"
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step == 0:
                first.append(float(loss.detach()))
        last.append(float(loss.detach()))
        with torch.no_grad():
            m.eval()
            lp = m.log_prob(m.dequantize(data[:64], generator=g)[0])
            assert torch.isfinite(lp).all(), f"seed {seed}: non-finite log-prob"
            s = m.sample(16, generator=g)
            assert torch.isfinite(s).all(), f"seed {seed}: non-finite sample"
    assert sum(last) < sum(first)  # it learns


def test_builders_name_impossible_level_counts():
    from flowkit.image import Glow, RealNVP

    with pytest.raises(ValueError, match="n_levels=3 needs height and width divisible by 8, got 28×28"):
        Glow((1, 28, 28), n_levels=3)
    with pytest.raises(ValueError, match="n_levels=3 needs height and width divisible by 4"):
        RealNVP((1, 6, 6), n_levels=3)


@pytest.mark.parametrize("builder", [RealNVP, Glow, ConditionalRealNVP])
def test_dropout_regularises_training_and_leaves_an_exact_flow_in_eval_mode(builder):
    """Dropout in the conditioners changes the training-mode density; eval mode is the exact, deterministic flow."""
    m = builder((1, 8, 8), hidden=8, seed=0, dropout=0.5)
    with torch.no_grad():  # move off the identity (zero-initialised output convolutions) so dropout matters
        for conv in (mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)):
            conv.weight.normal_(0, 0.05)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64) * 0.9 + 0.05
    m = m.double()
    ctx = m.one_hot(torch.arange(4)) if builder is ConditionalRealNVP else None
    m.train()
    assert not torch.equal(m.log_prob(x, ctx), m.log_prob(x, ctx)), "training mode should draw dropout masks"
    m.eval()
    lp = m.log_prob(x, ctx)
    assert torch.equal(lp, m.log_prob(x, ctx))
    z, ld = m.transform.inverse(x, ctx) if ctx is not None else m.transform.inverse(x)
    x_back, ld_f = m.transform.forward(z, ctx) if ctx is not None else m.transform.forward(z)
    assert torch.allclose(x_back, x, atol=1e-10) and torch.allclose(ld_f, -ld, atol=1e-10)
    assert m.config["dropout"] == 0.5 and builder(**{**m.config, "seed": 0}).config == m.config


@pytest.mark.parametrize("bad", [1.0, -0.1, float("nan"), "0.2"])
def test_dropout_must_be_a_probability(bad):
    err = TypeError if isinstance(bad, str) else ValueError
    with pytest.raises(err, match="dropout must be"):
        RealNVP((1, 8, 8), dropout=bad)
    with pytest.raises(err, match="ResNet: dropout must be"):
        ResNet(1, 2, dropout=bad)


def test_glow_first_level_starts_as_a_checkerboard_split():
    """conv_init="checkerboard": the data-side first coupling keeps exactly the pixels with row + column even."""
    from flowkit.image.squeeze import Squeeze

    convs = [mod for mod in Glow((1, 8, 8), n_steps=3, seed=0).modules() if isinstance(mod, InvConv1x1)]
    level1 = [c for c in convs if c.num_channels == 4]  # generative order: the data-side first one is last
    x = torch.arange(64, dtype=torch.float32).view(1, 1, 8, 8)
    z, ld = level1[-1].inverse(Squeeze((1, 8, 8)).inverse(x)[0])
    kept = {int(v) for v in z[0, :2].flatten()}
    assert kept == {r * 8 + c for r in range(8) for c in range(8) if (r + c) % 2 == 0} and float(ld) == 0.0
    for later in level1[:-1]:
        assert torch.allclose(later.weight_matrix(), torch.eye(4))
    deeper = [c for c in convs if c.num_channels == 8]
    assert deeper and not torch.allclose(deeper[0].weight_matrix().abs(), torch.eye(8)), "deeper levels: random rotations"
    random = [mod for mod in Glow((1, 8, 8), n_steps=3, seed=0, conv_init="random").modules() if isinstance(mod, InvConv1x1)]
    assert not any(torch.allclose(c.weight_matrix().abs(), torch.eye(c.num_channels)) for c in random)
    with pytest.raises(ValueError, match="conv_init must be"):
        Glow((1, 8, 8), conv_init="identity")
    with pytest.raises(ValueError, match="permutation must hold each of 0..3 once"):
        InvConv1x1(4, permutation=[0, 0, 1, 2])
