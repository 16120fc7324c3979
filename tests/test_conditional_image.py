"""Class-conditional image flows (flowkit.image.conditional) and the shipped conditional checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import flowkit as fk
from flowkit.image import ConditionalRealNVP, ContextChannels, ResNet, checkerboard_mask

ROOT = Path(__file__).resolve().parents[1]


def _randomise(module: torch.nn.Module, scale: float = 0.05, seed: int = 0) -> torch.nn.Module:
    """Small random weights everywhere (a fresh model is zero-initialised, i.e. the same for every class)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _coupling(k: int = 3) -> ContextChannels:
    inner = fk.AffineCoupling((2, 4, 4), mask=checkerboard_mask(2, 4, 4), conditioner=ResNet(2 + k, 4, hidden=8),
                              zero_init=False)
    return ContextChannels(inner, k)


def _jacobian_logdet(fn, z: torch.Tensor) -> float:
    jac = torch.autograd.functional.jacobian(lambda v: fn(v.reshape(1, *z.shape[1:])).reshape(-1), z.reshape(-1))
    return float(torch.linalg.slogdet(jac)[1])


# -- ContextChannels -----------------------------------------------------------------------------
def test_context_channels_passes_fk_check_with_context():
    layer = _coupling().double()
    z = torch.randn(6, 2, 4, 4, dtype=torch.float64)
    c = torch.eye(3, dtype=torch.float64)[[0, 1, 2, 0, 1, 2]]
    report = fk.check(layer, z, c)
    assert report.passed, report


def test_context_channels_conditioner_sees_masked_input_and_constant_class_channels():
    layer = _coupling()
    seen = []
    hook = layer.transform.conditioner.register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    z = torch.randn(2, 2, 4, 4)
    c = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    layer.forward(z, c)
    hook.remove()
    (inp,) = seen
    mask = layer.transform.mask
    assert inp.shape == (2, 5, 4, 4)
    assert torch.equal(inp[:, :2], z * mask), "the first C channels are z ⊙ mask"
    assert torch.equal(inp[:, 2:], c[:, :, None, None].expand(2, 3, 4, 4)), "then K constant class channels"


def test_context_channels_logdet_matches_brute_force_jacobian_per_context():
    layer = _coupling().double()
    z = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    for k in range(3):
        c = torch.eye(3, dtype=torch.float64)[[k]]
        _, ld = layer.forward(z, c)
        brute = _jacobian_logdet(lambda v: layer.forward(v, c)[0], z)
        assert float(ld.detach()) == pytest.approx(brute, abs=1e-9)


def test_context_channels_bad_input():
    with pytest.raises(TypeError, match="flowkit.Transform"):
        ContextChannels(torch.nn.Linear(2, 2), 3)
    with pytest.raises(ValueError, match="images"):
        ContextChannels(fk.AffineCoupling(4), 3)
    with pytest.raises(ValueError, match="pass a context"):
        _coupling().forward(torch.randn(2, 2, 4, 4))
    with pytest.raises(ValueError, match="context"):
        _coupling().forward(torch.randn(2, 2, 4, 4), torch.zeros(3, 3))  # 3 rows for 2 inputs


# -- ConditionalRealNVP ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_model() -> ConditionalRealNVP:
    return _randomise(ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)).double().eval()


def test_conditional_realnvp_transform_passes_fk_check_with_context(small_model):
    z = 0.5 * torch.randn(4, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    c = small_model.one_hot(torch.tensor([0, 3, 7, 9]))
    report = fk.check(small_model.transform, z, c, n_jacobian=2)
    assert report.passed, report


def test_conditional_realnvp_log_prob_is_change_of_variables_with_brute_force_jacobian(small_model):
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 0.9 + 0.05
    for label in (1, 6):
        c = small_model.one_hot(torch.tensor([label]))
        with torch.no_grad():
            z, _ = small_model.transform.inverse(x, c)
            log_pz, log_px = float(small_model.base.log_prob(z, c)), float(small_model.log_prob(x, c))
        brute = _jacobian_logdet(lambda v: small_model.transform.inverse(v, c)[0], x)   # log|det ∂z/∂x|
        assert log_px == pytest.approx(log_pz + brute, abs=1e-8)


def test_fresh_model_is_the_same_for_every_class_and_a_trained_one_is_not(small_model):
    x = torch.randint(0, 17, (5, 1, 8, 8), generator=torch.Generator().manual_seed(3))
    fresh = ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)
    ll = fresh.class_log_likelihoods(x)
    assert torch.allclose(ll, ll[:, :1].expand_as(ll)), "zero-initialised: p(x|y) must not depend on y"
    ll2 = small_model.class_log_likelihoods(x)
    assert (ll2.max(1).values - ll2.min(1).values).min() > 1e-3, "random weights: the classes should differ"


def test_class_log_likelihoods_equal_minus_nll_with_the_same_noise(small_model):
    x = torch.randint(0, 17, (7, 1, 8, 8), generator=torch.Generator().manual_seed(4))
    ll = small_model.class_log_likelihoods(x, generator=torch.Generator().manual_seed(5), batch_size=3)
    for k in (0, 4, 9):
        nll = small_model.nll(x, torch.Generator().manual_seed(5), context=small_model.one_hot(torch.full((7,), k)))
        # batch_size=3 draws the noise in chunks of 3 images; with one generator the stream is the same
        assert torch.allclose(ll[:, k], -nll, atol=1e-9), k


def test_conditional_bits_per_dim_is_the_nll_in_bits(small_model):
    x = torch.randint(0, 17, (6, 1, 8, 8), generator=torch.Generator().manual_seed(6))
    c = small_model.one_hot(torch.tensor([0, 1, 2, 3, 4, 5]))
    bpd = small_model.bits_per_dim(x, context=c, generator=torch.Generator().manual_seed(7), reduction="none")
    nll = small_model.nll(x, torch.Generator().manual_seed(7), context=c)
    assert torch.allclose(bpd, nll / (64 * math.log(2)), atol=1e-9)


def test_samples_and_temperature(small_model):
    c = small_model.one_hot(torch.tensor([2]))
    imgs = small_model.sample_images(4, c, temperature=0.7, generator=torch.Generator().manual_seed(0))
    assert imgs.shape == (4, 1, 8, 8) and imgs.dtype == torch.long and imgs.min() >= 0 and imgs.max() <= 16
    cold = small_model.sample_images(3, c, temperature=0.0)
    assert (cold == cold[:1]).all(), "T = 0: every sample is the image of the class mean"


def test_one_hot_and_constructor_errors(small_model):
    assert small_model.one_hot(torch.tensor([0, 9])).shape == (2, 10)
    with pytest.raises(TypeError, match="integer tensor"):
        small_model.one_hot(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        small_model.one_hot(torch.tensor([10]))
    with pytest.raises(ValueError, match="n_classes"):
        ConditionalRealNVP(n_classes=1)
    with pytest.raises(ValueError, match="dequantization"):
        ConditionalRealNVP(dequantization="gaussian")
    with pytest.raises(ValueError, match="divisible"):
        ConditionalRealNVP(shape=(1, 6, 6), n_levels=3)


def test_variational_dequantization_option_runs():
    model = ConditionalRealNVP(n_couplings=1, hidden=8, dequantization="variational", seed=0)
    x = torch.randint(0, 17, (3, 1, 8, 8))
    assert model.class_log_likelihoods(x).shape == (3, 10)


# -- the shipped checkpoints and the command that reproduces them ----------------------------------
@pytest.mark.parametrize("name, model, command", [("conditional_realnvp_digits", "conditional-realnvp", "conditional-realnvp"),
                                                  ("two_moons_posterior", "posterior", "posterior")])
def test_shipped_checkpoint_is_small_and_records_its_command(name, model, command):
    path, sidecar = ROOT / "checkpoints" / f"{name}.pt", ROOT / "checkpoints" / f"{name}.json"
    meta = json.loads(sidecar.read_text())
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size} bytes; keep checkpoints < 2 MB"
    assert meta["model"] == model and meta["command"].startswith(f"python -m flowkit.train {command} ")
    assert meta["command"].endswith(f"--out checkpoints/{name}.pt")
    assert meta["cpu_time_s"] < 240, "the training should take at most a few CPU-minutes"
    assert "trainer" not in meta, "written by the retired flowkit.train.conditional"


def test_shipped_checkpoint_commands_parse_to_the_recorded_run():
    """Each recorded command, parsed by today's CLI, reproduces the stored configuration."""
    import shlex

    from flowkit.train.cli import build_parser

    for name in ("conditional_realnvp_digits", "two_moons_posterior"):
        meta = json.loads((ROOT / "checkpoints" / f"{name}.json").read_text())
        args = build_parser().parse_args(shlex.split(meta["command"])[3:])
        assert args.seed == meta["seed"] and args.out == f"checkpoints/{name}.pt"
        if args.command == "posterior":
            assert (args.couplings, [args.hidden] * 2) == (meta["config"]["n_layers"], meta["config"]["hidden"])
        else:
            assert (args.couplings, args.hidden, args.dequantization) == (
                meta["config"]["n_couplings"], meta["config"]["hidden"], meta["config"]["dequantization"])


def test_digits_checkpoint_reproduces_its_stored_test_bits_per_dim():
    model, info = fk.train.load_checkpoint(ROOT / "checkpoints" / "conditional_realnvp_digits.pt", return_info=True)
    assert isinstance(model, ConditionalRealNVP) and not model.training
    x, y = fk.data.load_digits("test", return_labels=True)
    ev = info["eval"]
    bpd = fk.metrics.bits_per_dim(model, x, model.one_hot(y), n_samples=ev["test_samples"], seed=ev["seed"])
    assert bpd == pytest.approx(info["metrics"]["test_bpd"], abs=1e-5)


def test_posterior_checkpoint_reproduces_its_stored_validation_nll():
    from flowkit.train.posterior import SIMULATORS

    q, info = fk.train.load_checkpoint(ROOT / "checkpoints" / "two_moons_posterior.pt", return_info=True)
    theta, x = SIMULATORS[info["data"]]().sample_joint(info["metrics"]["val_simulations"], seed=info["seed"] + 100)
    assert float(fk.metrics.nll(q, theta, x)) == pytest.approx(info["metrics"]["val_nll"], abs=1e-5)


def test_a_checkpoint_of_the_retired_trainer_is_refused_with_the_new_command(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": 1, "trainer": "flowkit.train.conditional", "kind": "digits", "config": {},
                "state_dict": {}}, path)
    with pytest.raises(ValueError, match="retired.*conditional-realnvp"):
        fk.train.load_checkpoint(path, sidecar="ignore")


@pytest.mark.parametrize("command", ["conditional-realnvp", "posterior"])
def test_training_command_writes_a_loadable_checkpoint(tmp_path, command):
    out = tmp_path / f"{command}.pt"
    small = ["--steps", "4", "--eval-every", "2", "--hidden", "8", "--couplings", "1", "--progress", "off"]
    if command == "posterior":
        small += ["--simulations", "512", "--val-simulations", "64"]
    assert fk.train.main([command, *small, "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["argv"][3] == command and meta["metrics"] and meta["model"] == command
    model, info = fk.train.load_checkpoint(out, return_info=True)
    assert not model.training and info["command"] == meta["command"]
    kind = ConditionalRealNVP if command == "conditional-realnvp" else fk.Flow
    assert isinstance(model, kind)


def test_posterior_command_reproduces_its_weights_bit_for_bit(tmp_path):
    """The recorded command is a reproduction recipe: the same options give the same weights."""
    small = ["posterior", "--steps", "6", "--eval-every", "3", "--hidden", "8", "--couplings", "2",
             "--simulations", "512", "--val-simulations", "64", "--progress", "off"]
    states = []
    for k in range(2):
        out = tmp_path / f"run{k}.pt"
        assert fk.train.main([*small, "--out", str(out)]) == 0
        states.append(torch.load(out, weights_only=True)["state_dict"])
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
