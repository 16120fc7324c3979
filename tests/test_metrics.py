"""flowkit.metrics on data with a known answer (each test can fail for a wrong implementation)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import flowkit as fk
from flowkit import metrics as M

ROOT = Path(__file__).resolve().parents[1]
CLF = ROOT / "checkpoints" / "digits_classifier.pt"



def _randn(n: int, d: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.fixture(scope="module")
def digits() -> dict[str, torch.Tensor]:
    from flowkit.data.digits import digits_splits

    return digits_splits()


# ---------------------------------------------------------------------------------------- MMD
def test_mmd_test_same_distribution_is_not_rejected() -> None:
    stat, p = M.mmd_test(_randn(150, 2, 0), _randn(150, 2, 1), n_permutations=200, seed=0)
    assert p > 0.05 and abs(stat) < 0.02
    ps = [M.mmd_test(_randn(80, 2, 10 + s), _randn(80, 2, 100 + s), n_permutations=200, seed=s).p_value
          for s in range(12)]
    assert sum(p < 0.05 for p in ps) <= 2, ps  # under H0 the p-values are ~uniform
    assert np.mean(ps) > 0.3, ps


def test_mmd_test_shift_is_rejected() -> None:
    stat, p = M.mmd_test(_randn(150, 2, 0), _randn(150, 2, 1) + torch.tensor([0.7, 0.0], dtype=torch.float64),
                         n_permutations=200, seed=0)
    assert p < 0.01 and stat > 0.02
    # a different scale with the same mean is also detected
    _, p2 = M.mmd_test(_randn(200, 2, 2), 2.0 * _randn(200, 2, 3), n_permutations=200, seed=0)
    assert p2 < 0.01


def test_mmd_statistic_and_arguments() -> None:
    x, y = _randn(60, 3, 0), _randn(70, 3, 1) + 1.0
    assert M.mmd(x, y) == pytest.approx(M.mmd_test(x, y, n_permutations=5).statistic)
    assert M.mmd(x, y, 1.0) > M.mmd(x, _randn(70, 3, 2), 1.0)
    # unbiased: averaged over independent pairs from one distribution it is ≈ 0
    vals = [M.mmd(_randn(50, 2, 2 * s), _randn(50, 2, 2 * s + 1), [0.5, 1.0]) for s in range(30)]
    assert abs(np.mean(vals)) < 3 * np.std(vals) / math.sqrt(30) + 1e-4
    assert isinstance(M.mmd_test(x.numpy(), y.numpy(), n_permutations=10), tuple)
    with pytest.raises(ValueError, match="dimensions"):
        M.mmd(x, _randn(5, 2, 0))
    with pytest.raises(ValueError, match="at least 2"):
        M.mmd(x, _randn(1, 3, 0))
    with pytest.raises(TypeError, match="Tensor or numpy"):
        M.mmd([[0.0]], y)
    with pytest.raises(ValueError, match="bandwidths"):
        M.mmd(x, y, bandwidths=-1.0)
    with pytest.raises(ValueError, match="n_permutations"):
        M.mmd_test(x, y, n_permutations=0)
    with pytest.raises(ValueError, match="NaN"):
        M.mmd(torch.full((3, 3), float("nan")), y)


# ---------------------------------------------------------------------------------------- KL
def _gaussian_flow(mu: list[float], sigma: list[float]) -> fk.Flow:
    t = fk.Affine(2, log_scale=torch.log(torch.tensor(sigma)), shift=torch.tensor(mu))
    return fk.Flow(t, fk.StandardNormal(2)).double()


def _std_normal_logpdf(p: torch.Tensor) -> torch.Tensor:
    return -0.5 * (p ** 2).sum(1) - math.log(2 * math.pi)


def test_kl_of_a_density_with_itself_is_zero() -> None:
    kl = M.kl_to_density(_gaussian_flow([0.0, 0.0], [1.0, 1.0]), _std_normal_logpdf, 10.0, 300, direction="both")
    assert abs(kl["forward"]) < 1e-10 and abs(kl["reverse"]) < 1e-10


def test_kl_matches_the_gaussian_closed_form() -> None:
    mu, sigma = np.array([0.5, -0.3]), np.array([1.3, 0.8])
    q = _gaussian_flow(mu.tolist(), sigma.tolist())
    # p = N(0, I), q = N(mu, diag sigma²)
    forward = float(np.sum(np.log(sigma) + (1 + mu ** 2) / (2 * sigma ** 2) - 0.5))  # KL(p‖q)
    reverse = float(np.sum(-np.log(sigma) + (sigma ** 2 + mu ** 2) / 2 - 0.5))  # KL(q‖p)
    kl = M.kl_to_density(q, _std_normal_logpdf, 10.0, 400, direction="both")
    assert kl["forward"] == pytest.approx(forward, abs=1e-4)
    assert kl["reverse"] == pytest.approx(reverse, abs=1e-4)
    assert forward != pytest.approx(reverse, abs=1e-2)  # the two directions really differ here
    assert M.kl_to_density(q.log_prob, _std_normal_logpdf, 10.0, 400) == pytest.approx(forward, abs=1e-4)


def test_kl_validation() -> None:
    q = _gaussian_flow([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="integrates to"):
        M.kl_to_density(q, _std_normal_logpdf, 1.0, 100)  # the box misses most of p's mass
    with pytest.raises(ValueError, match="direction"):
        M.kl_to_density(q, _std_normal_logpdf, direction="sideways")
    with pytest.raises(TypeError, match="callable"):
        M.kl_to_density(q, 3.0)


# ---------------------------------------------------------------------------------------- AUROC / OOD
def test_auroc_known_values() -> None:
    a = np.arange(10.0)
    assert M.auroc(a, a + 100) == 1.0
    assert M.auroc(a + 100, a) == 0.0
    assert M.auroc(a, a) == 0.5
    assert M.auroc(torch.zeros(5), torch.zeros(7)) == 0.5
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    s_in, s_out = rng.normal(size=300), rng.normal(0.5, 1, size=200).round(1)
    ref = roc_auc_score(np.r_[np.zeros(300), np.ones(200)], np.r_[s_in, s_out])
    assert M.auroc(s_in, s_out) == pytest.approx(ref, abs=1e-12)
    with pytest.raises(ValueError, match="one-dimensional"):
        M.auroc(np.zeros((3, 2)), a)
    with pytest.raises(ValueError, match="at least 1"):
        M.auroc(np.zeros(0), a)


def test_anomaly_scores_and_typicality() -> None:
    d = 10
    flow = fk.Flow(fk.Affine(d), fk.StandardNormal(d)).double()
    train, val = _randn(2000, d, 0), _randn(500, d, 1)
    s_train = M.anomaly_scores(flow, train)
    assert torch.allclose(s_train, -flow.log_prob(train).detach())
    s_val = M.anomaly_scores(flow, val)
    ok = M.typicality_test(M.anomaly_scores(flow, _randn(50, d, 2)), s_train, calibration_scores=s_val)
    assert not ok.out_of_distribution and ok.p_value > 0.05
    # points near the mode: each is *more* likely than typical data (per-example AUROC < 0.5) ...
    near_mode = 0.05 * _randn(50, d, 3)
    s_mode = M.anomaly_scores(flow, near_mode)
    assert M.auroc(s_val, s_mode) < 0.1
    # ... but the batch is atypical: the typicality test flags it
    res = M.typicality_test(s_mode, s_train, calibration_scores=s_val)
    assert res.out_of_distribution and res.statistic > res.threshold and res.p_value < 0.01
    assert res.batch_mean_nll < res.entropy_estimate
    wide = M.typicality_test(M.anomaly_scores(flow, 2.0 * _randn(50, d, 4)), s_train)
    assert wide.out_of_distribution
    # the entropy estimate is the Gaussian's entropy d/2·log(2πe)
    assert res.entropy_estimate == pytest.approx(d / 2 * math.log(2 * math.pi * math.e), abs=0.15)
    with pytest.raises(ValueError, match="alpha"):
        M.typicality_test(s_mode, s_train, alpha=1.5)
    with pytest.raises(TypeError, match="flow"):
        M.anomaly_scores(object(), val)


# ---------------------------------------------------------------------------------------- likelihoods
def test_nll_and_bits_per_dim_of_a_continuous_flow() -> None:
    flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2)).double()
    x = _randn(100, 2, 0)
    ref = float(-flow.log_prob(x).detach().mean())
    assert M.nll(flow, x) == pytest.approx(ref)
    assert M.bits_per_dim(flow, x) == pytest.approx(ref / (2 * math.log(2)))
    assert M.nll(flow, x, reduction="none").shape == (100,)
    with pytest.raises(ValueError, match="n_samples"):
        M.bits_per_dim(flow, x, n_samples=4)
    with pytest.raises(TypeError, match="flow"):
        M.nll("model", x)


def test_nll_and_anomaly_scores_take_a_context() -> None:
    """p(x | c) = N((3 c₀, 0), I): every likelihood metric passes the context through to the flow."""
    base = fk.ConditionalDiagNormal(2, context_features=2)
    with torch.no_grad():
        base.net.weight[0, 0] = 3.0
    flow = fk.Flow(fk.Affine(2), base).double()
    x, c = _randn(50, 2, 0), torch.eye(2, dtype=torch.float64)[torch.arange(50) % 2]
    mean = torch.stack([3 * c[:, 0], torch.zeros(50, dtype=torch.float64)], 1)
    ref = 0.5 * ((x - mean) ** 2).sum(1) + math.log(2 * math.pi)
    assert torch.allclose(M.nll(flow, x, c, reduction="none"), ref, atol=1e-12)
    assert torch.allclose(M.anomaly_scores(flow, x, c), ref, atol=1e-12)
    assert M.nll(flow, x, context=c) == pytest.approx(float(ref.mean()), abs=1e-12)
    assert M.bits_per_dim(flow, x, c) == pytest.approx(float(ref.mean()) / (2 * math.log(2)), abs=1e-12)
    assert not torch.allclose(ref, M.nll(flow, x, 1 - c, reduction="none"))  # the context matters
    with pytest.raises(ValueError, match="context.*rows"):
        M.nll(flow, x, c[:10])


def test_bits_per_dim_wraps_imageflow_importance_weighted(digits) -> None:
    from flowkit.image import RealNVP

    model = RealNVP((1, 8, 8), n_levels=1, n_couplings=1, hidden=8, dequantization="variational", seed=0)
    with torch.no_grad():  # a non-trivial dequantizer, so the importance weights differ
        for p in model.dequantizer.flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    model.nll(digits["train"][:256])  # data-dependent ActNorm initialisation (train mode)
    model.eval()
    x = digits["test"][:40]
    iw = M.bits_per_dim(model, x, n_samples=6, seed=3, importance_weighted=True, reduction="none")
    ref = model.bits_per_dim(x, n_samples=6, importance_weighted=True, generator=torch.Generator().manual_seed(3),
                             reduction="none")
    assert torch.equal(iw, ref.double())  # one implementation: the metric *is* ImageFlow.bits_per_dim
    avg = M.bits_per_dim(model, x, n_samples=6, seed=3, importance_weighted=False, reduction="none")
    assert torch.all(iw <= avg + 1e-9) and float((avg - iw).mean()) > 1e-4  # IW is the tighter bound
    # the same defaults as ImageFlow.bits_per_dim (importance_weighted=False, batch_size=1024) ...
    default = M.bits_per_dim(model, x, n_samples=6, seed=3)
    assert default == float(model.bits_per_dim(x, n_samples=6, generator=torch.Generator().manual_seed(3)))
    assert default == pytest.approx(float(avg.mean()), abs=1e-6)
    # ... and with one sample the two estimators are identical
    one_iw = M.bits_per_dim(model, x, seed=5, importance_weighted=True, reduction="none")
    assert torch.equal(one_iw, M.bits_per_dim(model, x, seed=5, reduction="none"))
    s = M.anomaly_scores(model, x, n_samples=2)
    assert s.shape == (40,) and torch.isfinite(s).all()
    assert torch.allclose(s, M.nll(model, x, n_samples=2, reduction="none"))
    assert M.nll(model, x, seed=5) == pytest.approx(float(one_iw.mean()) * 64 * math.log(2), rel=1e-6)


# ---------------------------------------------------------------------------------------- classifier
def test_digits_classifier_checkpoint_reaches_its_stated_accuracy(digits) -> None:
    from flowkit.metrics.classifier import load_classifier
    from flowkit.data.digits import load_digits

    assert CLF.exists() and CLF.stat().st_size < 1_000_000
    raw = torch.load(CLF, map_location="cpu", weights_only=True)
    side = json.loads(CLF.with_suffix(".json").read_text())
    assert side["metrics"] == raw["metrics"]
    # the recorded command is the train CLI's classifier subcommand, and the one a user types gives it
    assert side["command"] == raw["command"]
    assert side["command"].startswith("python -m flowkit.train classifier ") and "--out" in side["command"]
    from flowkit.train.classifier import command_of
    from flowkit.train.cli import build_parser

    typed = build_parser().parse_args(["classifier", "--out", "checkpoints/digits_classifier.pt"])
    assert command_of(typed, typed.out) == side["command"]
    model = load_classifier(CLF)
    x, y = load_digits("test", return_labels=True)
    acc = float((model.predict(x) == y).double().mean())
    assert acc == pytest.approx(raw["metrics"]["test_acc"], abs=1e-12)
    assert acc >= 0.95
    f = model.features(x[:5])
    assert f.shape == (5, 64)


# ---------------------------------------------------------------------------------------- FID
def test_frechet_distance_gaussian_closed_form() -> None:
    # N(0, I_3) vs N(m, 4 I_3): d² = |m|² + 3·(1 + 4 - 2·2) = |m|² + 3
    m = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    d = M.frechet_distance(_randn(40000, 3, 0), m + 2.0 * _randn(40000, 3, 1), features=None)
    assert d == pytest.approx(float(m @ m) + 3.0, rel=0.02)


def test_frechet_distance_of_digits(digits) -> None:
    te = digits["test"]
    assert M.frechet_distance(te, te) == pytest.approx(0.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    fids = [M.frechet_distance(te, (te.float() + s * torch.randn(te.shape, generator=g)).clamp(0, 16))
            for s in (1.0, 3.0, 6.0)]
    assert 0.1 < fids[0] < fids[1] < fids[2], fids
    with pytest.raises(ValueError, match="0..16"):
        M.frechet_distance(te.float() / 16, te)


# ---------------------------------------------------------------------------------------- precision/recall
def test_precision_recall_known_answers(digits) -> None:
    x = _randn(300, 2, 0)
    assert tuple(M.precision_recall(x, x, k=3)) == (1.0, 1.0)
    assert tuple(M.precision_recall(x, x + 100.0, k=3)) == (0.0, 0.0)
    half = torch.cat([x[:150], x[150:] + 100.0])  # half the fakes are real points, half far away
    assert M.precision_recall(x, half, k=3).precision == 0.5
    # mode dropping: real data has two far-apart clusters, the fakes cover one → precision 1, recall ½
    two = torch.cat([x, x + 100.0])
    pr = M.precision_recall(two, _randn(300, 2, 1), k=3)
    assert pr.precision > 0.95 and 0.4 < pr.recall <= 0.5
    te = digits["test"]
    assert tuple(M.precision_recall(te, te)) == (1.0, 1.0)
    blank = torch.zeros_like(te[:100]) + torch.randint(0, 2, te[:100].shape, generator=torch.Generator().manual_seed(0))
    bad = M.precision_recall(te, blank)
    assert bad.precision < 0.05 and bad.recall < 0.05
    with pytest.raises(ValueError, match="k"):
        M.precision_recall(x, x, k=0)


# ---------------------------------------------------------------------------------------- memorisation
def test_memorization_flags_copies_not_held_out_data(digits) -> None:
    train, val, test = digits["train"], digits["val"], digits["test"]
    copies = M.memorization(train[:200], train, test)
    assert copies.flagged and copies.n_exact_copies == 200 and copies.copy_fraction == 1.0 and copies.ratio < 0.01
    fresh = M.memorization(val, train, test)
    assert not fresh.flagged and fresh.n_exact_copies == 0
    assert 0.8 < fresh.ratio < 1.25 and fresh.copy_fraction < 0.15
    mixed = M.memorization(torch.cat([train[:60], val[:140]]), train, test)  # 30 % copies
    assert mixed.flagged and 0.25 < mixed.copy_fraction < 0.45
    # slightly perturbed copies are still far closer than held-out data
    g = torch.Generator().manual_seed(0)
    noisy = (train[:200].float() + 0.3 * torch.randn(train[:200].shape, generator=g))
    near = M.memorization(noisy, train.float(), test.float())
    assert near.flagged and near.n_exact_copies == 0
    with pytest.raises(ValueError, match="alpha"):
        M.memorization(val, train, test, alpha=0.0)
