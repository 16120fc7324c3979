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


# ----------------------------------------------------------------------------------------
# conditional flows and image flows through fk.fit
# ----------------------------------------------------------------------------------------
def _two_class_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x | c ~ N((±2, 0), 0.5²): the class (one-hot c) decides the side."""
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 2, (n,), generator=g)
    x = 0.5 * torch.randn(n, 2, generator=g)
    x[:, 0] += 4.0 * label - 2.0
    return x, torch.nn.functional.one_hot(label, 2).float()


def test_fit_with_context_trains_a_conditional_flow():
    x, c = _two_class_data(2000, 0)
    xv, cv = _two_class_data(500, 1)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        flow = Flow(Compose([AffineCoupling(2, hidden=(32,), context_features=2), Reverse(2),
                             AffineCoupling(2, hidden=(32,), context_features=2), Reverse(2)]), StandardNormal(2))
    hist = fit(flow, x, c, steps=300, lr=3e-3, val_data=xv, val_context=cv, seed=0)
    with torch.no_grad():
        right = float(-flow.log_prob(xv, cv).mean())
        wrong = float(-flow.log_prob(xv, 1 - cv).mean())
        left = flow.sample(2000, torch.tensor([[1.0, 0.0]]), generator=torch.Generator().manual_seed(0))
    assert hist.final_val_nll == pytest.approx(right, abs=1e-4)  # val_nll is the conditional NLL
    assert right < 1.8 and wrong > right + 5.0, (right, wrong)  # the context is used, not ignored
    assert float(left[:, 0].mean()) == pytest.approx(-2.0, abs=0.3)
    with pytest.raises(ValueError, match="context"):
        fit(flow, x, c[:10], steps=1)
    with pytest.raises(ValueError, match="val_context needs val_data"):
        fit(flow, x, c, steps=1, val_context=cv)


@pytest.fixture(scope="module")
def digits_small() -> tuple[torch.Tensor, torch.Tensor]:
    from flowkit.data.digits import digits_splits

    d = digits_splits()
    return d["train"][:400], d["val"][:100]


def _tiny_realnvp():
    from flowkit.image import RealNVP

    return RealNVP(n_levels=1, n_couplings=1, hidden=8, seed=0)


def test_fit_trains_an_imageflow_on_integer_images(digits_small):
    from flowkit.metrics import nll

    train, val = digits_small
    model = _tiny_realnvp()
    rng_before = torch.get_rng_state()
    hist = fit(model, train, steps=40, batch_size=64, lr=3e-3, val_data=val, val_every=20, seed=0)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert hist.val_step == [0, 20, 40] and hist.val_nll[-1] < hist.val_nll[0] - 10, hist.val_nll
    # the validation value is the dequantized bound with noise seeded 0, in nats per image
    assert hist.val_nll[-1] == pytest.approx(nll(model, val, seed=0), rel=1e-6)
    again = _tiny_realnvp()
    assert fit(again, train, steps=40, batch_size=64, lr=3e-3, val_data=val, val_every=20, seed=0).loss == hist.loss
    with pytest.raises(ValueError, match=r"0\.\.16"):
        fit(_tiny_realnvp(), train + 1, steps=1)
    with pytest.raises(TypeError, match="data"):
        fit(_tiny_realnvp(), train.bool(), steps=1)


# ----------------------------------------------------------------------------------------
# the one loop and its hooks
# ----------------------------------------------------------------------------------------
def test_loop_takes_any_loss_and_records_what_it_returns():
    from flowkit.train import StepLoss, train

    w = torch.nn.Parameter(torch.tensor([2.0, -1.0]))
    model = torch.nn.ParameterList([w])

    def loss(m, state):
        value = (w ** 2).sum()
        return StepLoss(value, float(value.detach()), {"step_twice": 2.0 * state.step})

    state = train(model, loss, steps=20, optimizer=torch.optim.SGD([w], lr=0.1))
    assert state.step == 20 and state.history.step == list(range(1, 21))
    assert state.history.extra["step_twice"] == [2.0 * s for s in range(1, 21)]
    assert state.history.loss[-1] < 1e-3 * state.history.loss[0]
    with pytest.raises(ValueError, match="scalar"):
        train(model, lambda m, s: w * 1.0, steps=1, optimizer=torch.optim.SGD([w], lr=0.1))


def test_loop_nonfinite_gradient_stops_before_the_update():
    from flowkit.train import train

    w = torch.nn.Parameter(torch.tensor([1.0]))
    model = torch.nn.ParameterList([w])

    def loss(m, state):  # a finite value, a NaN gradient at step 3
        return _loss_nan_grad(w, state.step)

    with pytest.raises(FloatingPointError, match=r"gradient norm became non-finite \(nan\) at step 3"):
        train(model, loss, steps=10, optimizer=torch.optim.SGD([w], lr=0.1))
    assert float(w.detach()) == pytest.approx(1.0 - 2 * 0.1)  # steps 1 and 2 only
    assert w.grad is None


def _loss_nan_grad(w: torch.Tensor, step: int) -> torch.Tensor:
    if step != 3:
        return w.sum()
    return torch.sqrt(w.sum() * 0.0)  # value 0, d/dw sqrt(0·w) = 0·inf = nan


def test_hooks_schedule_validation_early_stop_and_best_restore():
    from flowkit.train import LRSchedule, Validation, train

    s = LRSchedule.warmup(1e-3, warmup=100, total=1500)
    for step in (1, 50, 100, 101, 800, 1500, 2000):  # the formula python -m flowkit.train always used
        t = min(max(step - 100, 0) / 1400, 1.0)
        ref = 1e-3 * step / 100 if step <= 100 else 1e-3 * 0.5 * (1.0 + math.cos(math.pi * t))
        assert s.lr_at(step) == ref
    assert LRSchedule.warmup(1e-3, warmup=0, total=10, schedule="constant").lr_at(7) == 1e-3
    with pytest.raises(ValueError, match="lr"):
        LRSchedule.warmup(float("inf"), total=10)

    w = torch.nn.Parameter(torch.tensor([0.0]))
    values = iter([5.0, 4.0, 4.5, 3.99995, 4.2, 4.3, 1.0])
    snapshots = []
    val = Validation(lambda m: next(values), every=2, patience=3, min_delta=1e-4, restore_best=True,
                     on_eval=lambda state, v, improved: snapshots.append((state.step, improved)))
    sched = LRSchedule(lambda step: 0.1 * step)
    state = train(torch.nn.ParameterList([w]), lambda m, st: -w.sum(), steps=100,
                  optimizer=torch.optim.SGD([w], lr=1.0), hooks=[sched, val])
    # 3.99995 is not better than 4.0 by more than min_delta: patience runs out at step 10
    assert snapshots == [(2, True), (4, True), (6, False), (8, False), (10, False)]
    assert state.stop_reason == "early_stop" and state.step == 10
    assert state.history.lr == [0.1 * k for k in range(1, 11)]
    assert val.best == 4.0 and val.best_step == 4
    assert float(w.detach()) == pytest.approx(sum(0.1 * k for k in range(1, 5)))  # the weights of step 4


def test_stop_on_interrupt_ends_at_a_step_boundary_and_restores_the_handler():
    import signal

    from flowkit.train import Checkpoint, StopOnInterrupt, train

    before = signal.getsignal(signal.SIGINT)
    w = torch.nn.Parameter(torch.tensor([0.0]))
    saved = []

    def loss(m, state):
        if state.step == 5:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of step 5
        return -w.sum()

    state = train(torch.nn.ParameterList([w]), loss, steps=100, optimizer=torch.optim.SGD([w], lr=1.0),
                  hooks=[StopOnInterrupt(), Checkpoint(lambda st: saved.append(st.step), every=50)])
    assert state.stop_reason == "interrupted" and state.step == 5 and saved == [5]
    assert float(w.detach()) == 5.0  # step 5 completed, nothing after it
    assert signal.getsignal(signal.SIGINT) is before


def test_seeded_is_the_one_seeded_rng_and_leaves_the_caller_alone():
    import flowkit.image.builders as builders
    from flowkit.rng import seeded

    assert not hasattr(builders, "_seeded")
    state = torch.get_rng_state()
    with seeded(7):
        a = torch.randn(3)
    with seeded(7):
        b = torch.randn(3)
    assert torch.equal(a, b) and torch.equal(torch.get_rng_state(), state)
    with seeded(None):
        torch.randn(1)
    assert not torch.equal(torch.get_rng_state(), state)  # None: the global RNG, unforked
    with pytest.raises(ValueError, match="seed"):
        with seeded(-1):
            pass
