"""Tests of flowkit.training: maximum likelihood (fit), reverse KL (fit_reverse_kl), History."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from flowkit import AffineCoupling, Affine, Compose, DiagNormal, Flow, Reverse, StandardNormal
from flowkit.train import History, fit, fit_reverse_kl
from flowkit.train.progress import progress_enabled as _progress_enabled

torch.set_num_threads(1)

try:  # flowkit.data is written separately; fall back to an inline two-moons generator.
    from flowkit.data import two_moons as _two_moons
except ImportError:  # pragma: no cover - depends on the state of the package
    _two_moons = None


def moons(n: int, seed: int) -> torch.Tensor:
    """Two moons, noise 0.05, standardised per coordinate."""
    if _two_moons is not None:
        x = _two_moons(n, seed=seed, noise=0.05)
    else:  # pragma: no cover
        g = torch.Generator().manual_seed(seed)
        t = torch.rand(n, generator=g) * math.pi
        lower = torch.rand(n, generator=g) < 0.5
        x1 = torch.where(lower, 1 - torch.cos(t), torch.cos(t))
        x2 = torch.where(lower, 0.5 - torch.sin(t), torch.sin(t))
        x = torch.stack([x1, x2], 1) + 0.05 * torch.randn(n, 2, generator=g)
    return ((x - x.mean(0)) / x.std(0)).float()


@pytest.fixture(scope="module")
def moons_split() -> tuple[torch.Tensor, torch.Tensor]:
    return moons(2000, seed=1), moons(1000, seed=2)


def coupling_flow(seed: int = 0, layers: int = 3, hidden: tuple[int, ...] = (32, 32)) -> Flow:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mods = []
        for _ in range(layers):
            mods += [AffineCoupling(2, hidden=hidden, zero_init=False), Reverse(2)]
        flow = Flow(Compose(mods), StandardNormal(2))
    # small random last layers: not exactly the identity, but a sane start
    with torch.no_grad():
        for m in flow.modules():
            if isinstance(m, AffineCoupling):
                last = [l for l in m.conditioner.modules() if isinstance(l, torch.nn.Linear)][-1]
                last.weight.mul_(0.1)
                last.bias.zero_()
    return flow


def params_of(flow: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in flow.parameters()]


# ----------------------------------------------------------------------------------------
# maximum likelihood
# ----------------------------------------------------------------------------------------
def test_fit_beats_standard_normal_on_held_out_moons(moons_split):
    train, val = moons_split
    baseline = float(-StandardNormal(2).log_prob(val).mean())  # ≈ 2.84 nats for standardised data
    flow = coupling_flow(0)
    hist = fit(flow, train, steps=400, lr=3e-3, val_data=val, seed=0)
    assert isinstance(hist, History) and hist.objective == "nll"
    assert len(hist) == 400 and hist.step == list(range(1, 401))
    assert hist.val_step[0] == 0 and hist.val_step[-1] == 400
    assert 15 <= len(hist.val_step) <= 25  # default: ~20 evaluations
    # the held-out NLL is clearly better than the N(0, I) baseline (observed margin ≈ 0.9 nats)
    assert hist.final_val_nll < baseline - 0.5, (hist.final_val_nll, baseline)
    with torch.no_grad():
        assert abs(float(-flow.log_prob(val).mean()) - hist.final_val_nll) < 1e-4
    assert hist.val_nll[0] - hist.final_val_nll > 0.3  # training moved it
    assert hist.best_val_nll == min(hist.val_nll) and hist.best_val_step in hist.val_step
    assert all(math.isfinite(v) for v in hist.loss + hist.grad_norm)
    assert hist.lr == [3e-3] * 400
    assert hist.time_s == sorted(hist.time_s)


def test_fit_same_seed_same_numbers_different_seed_different(moons_split):
    train, val = moons_split
    init = coupling_flow(3)
    rng_before = torch.get_rng_state()
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        flow = copy.deepcopy(init)
        hist = fit(flow, train, steps=40, batch_size=128, val_data=val, val_every=10, seed=seed)
        runs[name] = (hist, params_of(flow))
    assert torch.equal(torch.get_rng_state(), rng_before), "fit must not touch the global RNG"
    (ha, pa), (hb, pb), (hc, pc) = runs["a"], runs["b"], runs["c"]
    assert ha.loss == hb.loss and ha.val_nll == hb.val_nll and ha.grad_norm == hb.grad_norm
    assert all(torch.equal(x, y) for x, y in zip(pa, pb))
    assert ha.loss != hc.loss
    assert not all(torch.equal(x, y) for x, y in zip(pa, pc))
    # step 0 evaluation is before any update: identical for every seed
    assert ha.val_nll[0] == hc.val_nll[0]


def test_fit_reproducible_with_dropout_in_the_model(moons_split):
    """Model randomness (dropout) is seeded too, without touching the caller's global RNG."""
    train, _ = moons_split
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Dropout(0.5), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        init = Flow(Compose([AffineCoupling(2, conditioner=net), Reverse(2)]), StandardNormal(2))
    h1 = fit(copy.deepcopy(init), train, steps=20, seed=5)
    torch.rand(3)  # advance the global RNG: must not matter
    h2 = fit(copy.deepcopy(init), train, steps=20, seed=5)
    assert h1.loss == h2.loss


@pytest.mark.parametrize("seed", range(5))
def test_short_runs_stay_finite_over_seeds(moons_split, seed):
    train, val = moons_split
    flow = coupling_flow(100 + seed, hidden=(16, 16))
    hist = fit(flow, train, steps=60, lr=5e-3, seed=seed, val_data=val)
    assert all(math.isfinite(v) for v in hist.loss + hist.val_nll + hist.grad_norm)
    wide = torch.empty(2000, 2).uniform_(-6, 6, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        assert torch.isfinite(flow.log_prob(val)).all()
        assert torch.isfinite(flow.log_prob(wide)).all()
        x, lp = flow.sample_and_log_prob(500, generator=torch.Generator().manual_seed(seed))
        assert torch.isfinite(x).all() and torch.isfinite(lp).all()


def test_fit_epochs_and_batches(moons_split):
    train, _ = moons_split
    flow = coupling_flow(0, layers=1, hidden=(8,))
    hist = fit(flow, train, epochs=2, batch_size=256)  # ceil(2000 / 256) = 8 steps per epoch
    assert len(hist) == 16
    hist = fit(flow, train[:100], steps=3, batch_size=1000)  # batch capped at N
    assert len(hist) == 3 and hist.val_nll == [] and hist.final_val_nll is None and hist.best_val_nll is None


def test_fit_restores_mode_and_accepts_optimizer(moons_split):
    train, _ = moons_split
    flow = coupling_flow(0, layers=1, hidden=(8,))
    flow.eval()
    seen = []
    flow.transform[0].conditioner.register_forward_pre_hook(lambda m, a: seen.append(m.training))
    fit(flow, train, steps=3)
    assert seen and all(seen) and flow.training is False
    flow.train()
    opt = torch.optim.SGD(flow.parameters(), lr=0.05)
    hist = fit(flow, train, steps=3, optimizer=opt)
    assert hist.lr == [0.05] * 3 and flow.training is True
    hist = fit(flow, train, steps=2, optimizer=lambda ps: torch.optim.SGD(ps, lr=0.02))
    assert hist.lr == [0.02] * 2


def test_fit_clip_grad_bounds_update(moons_split):
    train, _ = moons_split
    flow = Flow(Affine(2), StandardNormal(2))
    far = train * 0.01 + 50.0  # huge gradients at the start
    before = params_of(flow)
    opt = torch.optim.SGD(flow.parameters(), lr=1.0)
    hist = fit(flow, far, steps=1, clip_grad=0.5, optimizer=opt)
    step_norm = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(params_of(flow), before)))
    assert hist.grad_norm[0] > 100  # the recorded norm is the one before clipping
    assert float(step_norm) == pytest.approx(0.5, rel=1e-4)


def test_fit_nonfinite_loss_raises_and_keeps_parameters(moons_split):
    train, _ = moons_split
    flow = Flow(Compose([Affine(2), Reverse(2)]), DiagNormal(2))
    with torch.no_grad():
        flow.transform[0].log_scale.fill_(float("nan"))
    before = params_of(flow)
    with pytest.raises(FloatingPointError, match=r"non-finite \(nan\) at step 1"):
        fit(flow, train, steps=10)
    assert all(torch.equal(a, b) or (a.isnan() == b.isnan()).all() for a, b in zip(params_of(flow), before))
    assert flow.training


def test_fit_nonfinite_midway_reports_step(moons_split):
    train, _ = moons_split
    flow = Flow(Affine(2), StandardNormal(2))
    calls = {"n": 0}
    orig = flow.log_prob

    def log_prob(x, context=None):  # becomes NaN on the 4th evaluation
        calls["n"] += 1
        out = orig(x, context)
        return out * float("nan") if calls["n"] == 4 else out

    flow.log_prob = log_prob  # type: ignore[method-assign]
    with pytest.raises(FloatingPointError, match="step 4"):
        fit(flow, train, steps=10)


BAD_FIT_ARGS = [
    (dict(data="moons"), TypeError, "data"),
    (dict(data=torch.zeros(10, 2, dtype=torch.long)), TypeError, "data"),
    (dict(data=torch.zeros(10, 3)), ValueError, "data"),
    (dict(data=torch.full((10, 2), float("nan"))), ValueError, "data"),
    (dict(data=torch.zeros(0, 2)), ValueError, "data"),
    (dict(data=torch.zeros(10, 2, dtype=torch.float64)), TypeError, "data"),
    (dict(val_data=torch.zeros(10, 5)), ValueError, "val_data"),
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(steps=True), TypeError, "steps"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(steps=5, epochs=1), ValueError, "exactly one"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size="32"), TypeError, "batch_size"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(lr=float("inf")), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(clip_grad=0.0), ValueError, "clip_grad"),
    (dict(val_every=0), ValueError, "val_every"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(progress="yes"), TypeError, "progress"),
    (dict(optimizer="adam"), TypeError, "optimizer"),
]


@pytest.mark.parametrize("kwargs,exc,word", BAD_FIT_ARGS)
def test_fit_bad_arguments(kwargs, exc, word):
    flow = Flow(Affine(2), StandardNormal(2))
    kwargs = dict(kwargs)
    data = kwargs.pop("data", torch.zeros(10, 2))
    kwargs.setdefault("steps", None if "epochs" in kwargs and "steps" not in kwargs else 2)
    with pytest.raises(exc, match=word):
        fit(flow, data, **kwargs)


def test_fit_rejects_non_flows():
    with pytest.raises(TypeError, match="flow"):
        fit("flow", torch.zeros(4, 2), steps=1)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(Flow(Reverse(2), StandardNormal(2)), torch.zeros(4, 2), steps=1)


def test_progress_auto_and_env(monkeypatch, moons_split):
    assert _progress_enabled(None) is False  # under pytest
    assert _progress_enabled(True) is True and _progress_enabled(False) is False
    monkeypatch.setenv("FLOWKIT_PROGRESS", "1")
    assert _progress_enabled(None) is True
    monkeypatch.setenv("FLOWKIT_PROGRESS", "0")
    assert _progress_enabled(None) is False
    flow = Flow(Affine(2), StandardNormal(2))
    hist = fit(flow, moons_split[0], steps=12, progress=True)  # the bar must not break anything
    assert len(hist) == 12


# ----------------------------------------------------------------------------------------
# reverse KL
# ----------------------------------------------------------------------------------------
def test_reverse_kl_fits_shifted_gaussian():
    mu, sd = torch.tensor([1.5, -1.0]), torch.tensor([0.5, 2.0])

    def log_density(x):  # unnormalised: log Z = Σ log σ + log 2π
        return (-0.5 * ((x - mu) / sd) ** 2).sum(1)

    log_z = float(torch.log(sd).sum() + math.log(2 * math.pi))
    flow = Flow(Compose([AffineCoupling(2, hidden=(16,)), Reverse(2), AffineCoupling(2, hidden=(16,))]),
                StandardNormal(2))
    hist = fit_reverse_kl(flow, log_density, steps=400, lr=1e-2, log_normalizer=log_z, seed=0)
    assert hist.objective == "reverse_kl" and hist.log_normalizer == log_z
    assert hist.kl == pytest.approx([v + log_z for v in hist.loss])
    first, last = sum(hist.kl[:20]) / 20, sum(hist.kl[-50:]) / 50
    assert first > 1.0 and last < 0.05 and last < first / 20, (first, last)
    with torch.no_grad():
        x = flow.sample(20000, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(x.mean(0), mu, atol=0.1), x.mean(0)
    assert torch.allclose(x.std(0), sd, rtol=0.1), x.std(0)


def test_reverse_kl_on_U1():
    data = pytest.importorskip("flowkit.data")
    log_z = data.log_normalizer("U1")
    flow = coupling_flow(0, layers=4)
    hist = fit_reverse_kl(flow, lambda z: -data.U1(z), steps=400, lr=3e-3, log_normalizer=log_z,
                          anneal_steps=100, seed=0)
    first, last = sum(hist.kl[:20]) / 20, sum(hist.kl[-50:]) / 50
    assert last < 0.4 and last < first / 4, (first, last)
    assert all(math.isfinite(v) for v in hist.loss)


def test_reverse_kl_annealing_schedule_and_determinism():
    def log_density(x):
        return -0.5 * (x ** 2).sum(1)

    init = Flow(Affine(2), StandardNormal(2))
    f1, f2, f3 = copy.deepcopy(init), copy.deepcopy(init), copy.deepcopy(init)
    h1 = fit_reverse_kl(f1, log_density, steps=30, anneal_steps=10, beta0=0.1, seed=3)
    h2 = fit_reverse_kl(f2, log_density, steps=30, anneal_steps=10, beta0=0.1, seed=3)
    h3 = fit_reverse_kl(f3, log_density, steps=30, anneal_steps=10, beta0=0.1, seed=4)
    assert h1.beta[0] == pytest.approx(0.1) and h1.beta[10:] == [1.0] * 20
    assert all(a < b for a, b in zip(h1.beta[:10], h1.beta[1:11]))
    assert h1.loss == h2.loss and all(torch.equal(a, b) for a, b in zip(params_of(f1), params_of(f2)))
    assert h1.loss != h3.loss
    assert h1.kl == [] and h1.final_kl is None


def test_reverse_kl_nan_log_density_raises():
    flow = Flow(Affine(2), StandardNormal(2))
    before = params_of(flow)

    def bad(x):
        return torch.where(x[:, 0] > 1.0, torch.full_like(x[:, 0], float("nan")), -0.5 * (x ** 2).sum(1))

    with pytest.raises(FloatingPointError, match=r"step 1.*log_density\(x\) is NaN/inf for \d+ of 64"):
        fit_reverse_kl(flow, bad, steps=5, batch_size=64)
    assert all(torch.equal(a, b) for a, b in zip(params_of(flow), before))


@pytest.mark.parametrize("kwargs,exc,word", [
    (dict(log_density="U1"), TypeError, "log_density"),
    (dict(log_density=lambda x: x), ValueError, "log_density"),  # wrong shape (batch, 2)
    (dict(steps=0), ValueError, "steps"),
    (dict(batch_size=-4), ValueError, "batch_size"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(anneal_steps=-1), ValueError, "anneal_steps"),
    (dict(beta0=0.0), ValueError, "beta0"),
    (dict(beta0=1.5), ValueError, "beta0"),
    (dict(log_normalizer=float("inf")), ValueError, "log_normalizer"),
    (dict(clip_grad=-1.0), ValueError, "clip_grad"),
])
def test_reverse_kl_bad_arguments(kwargs, exc, word):
    flow = Flow(Affine(2), StandardNormal(2))
    kwargs = dict(kwargs)
    log_density = kwargs.pop("log_density", lambda x: -0.5 * (x ** 2).sum(1))
    with pytest.raises(exc, match=word):
        fit_reverse_kl(flow, log_density, **{"steps": 2, **kwargs})
