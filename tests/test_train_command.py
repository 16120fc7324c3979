"""`python -m flowkit.train`: a few steps of a tiny model, resume, and a clear error for a missing GPU."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden", "8", "--levels", "1", "--eval-every", "10", "--batch-size", "32", "--schedule", "constant",
        "--progress", "off"]


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "flowkit.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def _load(path: Path) -> dict:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert isinstance(ckpt, dict)
    return ckpt


def test_train_resume_and_reproduce(tmp_path: Path) -> None:
    from flowkit.image import ImageFlow
    from flowkit.train import evaluate, load_checkpoint

    out = tmp_path / "g.pt"
    _run("glow", "--data", "digits", "--steps", "20", "--steps-per-level", "1", "--out", str(out), *TINY)
    assert out.exists() and out.with_suffix(".json").exists() and (tmp_path / "g.state.pt").exists()
    ckpt = _load(out)
    assert ckpt["model"] == "glow" and ckpt["torch"] == str(torch.__version__) and ckpt["seed"] == 0
    assert ckpt["command"].startswith("python -m flowkit.train glow ")
    m = ckpt["metrics"]
    assert m["trained_steps"] == 20 and m["steps"] in (10, 20)
    for key in ("val_bpd", "test_bpd", "test_bpd_iw"):
        assert math.isfinite(m[key]) and 0 < m[key] < 6, (key, m[key])
    assert m["test_bpd_iw"] <= m["test_bpd"] + 1e-6  # the IW bound is tighter
    assert json.loads(out.with_suffix(".json").read_text())["metrics"] == m

    model = load_checkpoint(out)
    assert isinstance(model, ImageFlow) and not model.training
    test = __import__("flowkit.data.digits", fromlist=["load_digits"]).load_digits("test")
    again = evaluate(model, test, n_samples=ckpt["eval"]["test_samples"], seed=ckpt["eval"]["seed"])
    assert again == pytest.approx(m["test_bpd"], abs=1e-6)

    # resume: the step counter continues from the saved state
    proc = _run("glow", "--steps", "30", "--resume", str(out))
    assert "resumed glow from step 20" in proc.stdout
    resumed = _load(out)
    assert resumed["metrics"]["trained_steps"] == 30
    assert resumed["history"]["val_step"] == [10, 20, 30]
    state = _load(tmp_path / "g.state.pt")
    assert state["step"] == 30

    # ... and continues exactly: 20 + 10 resumed steps == 30 steps in one go
    straight = tmp_path / "h.pt"
    _run("glow", "--data", "digits", "--steps", "30", "--steps-per-level", "1", "--out", str(straight), *TINY)
    assert _load(straight)["metrics"]["test_bpd"] == pytest.approx(resumed["metrics"]["test_bpd"], abs=1e-6)


def test_realnvp_uniform_runs(tmp_path: Path) -> None:
    out = tmp_path / "r.pt"
    _run("realnvp", "--steps", "20", "--couplings", "1", "--dequantization", "uniform", "--out", str(out), *TINY)
    ckpt = _load(out)
    assert ckpt["model"] == "realnvp" and ckpt["config"]["dequantization"] == "uniform"
    assert all(math.isfinite(ckpt["metrics"][k]) for k in ("val_bpd", "test_bpd", "test_bpd_iw"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_but_unavailable(tmp_path: Path) -> None:
    proc = _run("glow", "--steps", "2", "--device", "cuda", "--out", str(tmp_path / "c.pt"), check=False)
    assert proc.returncode != 0
    assert "CUDA is not available" in proc.stderr and "--device cpu" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "c.pt").exists()


# ----------------------------------------------------------------------------------------
# issue 12, item 6: every argument is checked before any data is loaded or any step is taken
# ----------------------------------------------------------------------------------------
@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command gets as far as loading data or training."""
    import flowkit.train.classifier as clf
    import flowkit.train.image_run as image_run

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command started loading data / training before rejecting its arguments")

    monkeypatch.setattr(image_run, "load_data", boom)
    monkeypatch.setattr(clf, "train_classifier", boom)


BAD_CLI_ARGS = [
    (["realnvp", "--lr", "inf"], "--lr must be finite, got inf"),
    (["glow", "--lr", "nan"], "--lr must be finite, got nan"),
    (["glow", "--lr", "0"], "--lr must be > 0, got 0.0"),
    (["glow", "--weight-decay", "inf"], "--weight-decay must be finite, got inf"),
    (["glow", "--weight-decay", "nan"], "--weight-decay must be finite, got nan"),
    (["glow", "--weight-decay", "-0.1"], "--weight-decay must be >= 0, got -0.1"),
    (["glow", "--clip-grad", "nan"], "--clip-grad must be finite, got nan"),
    (["glow", "--clip-grad", "-1"], "--clip-grad must be >= 0, got -1.0"),
    (["glow", "--dropout", "1"], "--dropout must be >= 0 and < 1, got 1.0"),
    (["realnvp", "--dropout", "nan"], "--dropout must be finite, got nan"),
    (["glow", "--alpha", "0.5"], "--alpha must be > 0 and < 0.5, got 0.5"),
    (["glow", "--shift-prob", "1.5"], "--shift-prob must be >= 0 and <= 1, got 1.5"),
    (["realnvp", "--shift-prob", "nan"], "--shift-prob must be finite, got nan"),
    (["glow", "--steps-per-level", "6,3,2"], "--steps-per-level 6,3,2 gives 3 levels but --levels is 2"),
    (["glow", "--steps-per-level", "6,0"], "--steps-per-level must be a positive int, got 0"),
    (["glow", "--steps", "0"], "--steps must be a positive int, got 0"),
    (["glow", "--batch-size", "-3"], "--batch-size must be a positive int, got -3"),
    (["glow", "--eval-every", "0"], "--eval-every must be a positive int, got 0"),
    (["realnvp", "--couplings", "0"], "--couplings must be a positive int, got 0"),
    (["glow", "--patience", "-1"], "--patience must be an int >= 0, got -1"),
    (["glow", "--warmup", "-5"], "--warmup must be an int >= 0, got -5"),
    (["glow", "--seed", "-1"], "--seed must be an int in [0, 2**63), got -1"),
    (["glow", "--threads", "0"], "--threads must be a positive int, got 0"),
    (["classifier", "--epochs", "0"], "--epochs must be a positive int, got 0"),
    (["classifier", "--lr", "inf"], "--lr must be finite, got inf"),
    (["classifier", "--weight-decay", "nan"], "--weight-decay must be finite, got nan"),
]


@pytest.mark.parametrize("argv,message", BAD_CLI_ARGS, ids=[" ".join(a) for a, _ in BAD_CLI_ARGS])
def test_bad_arguments_exit_2_before_training(argv: list[str], message: str, tmp_path: Path, no_training: None,
                                              capsys: pytest.CaptureFixture) -> None:
    from flowkit.train import main

    with pytest.raises(SystemExit) as done:
        main([*argv, "--out", str(tmp_path / "m.pt")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err, err
    assert list(tmp_path.iterdir()) == []


def test_lr_inf_subprocess_fails_fast_without_traceback(tmp_path: Path) -> None:
    proc = _run("realnvp", "--lr", "inf", "--out", str(tmp_path / "r.pt"), check=False)
    assert proc.returncode == 2 and "error: --lr must be finite, got inf" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def _unusable_outs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "a_file").write_text("x")
    cases = {"directory": (tmp_path, "is a directory"),
             "under a regular file": (tmp_path / "a_file" / "m.pt", "is a file, not a directory")}
    if sys.platform.startswith("linux"):
        cases["/proc"] = (Path("/proc/flowkit_no_such_dir/m.pt"), "cannot write in /proc")
        cases["/proc file"] = (Path("/proc/flowkit_m.pt"), "cannot write in /proc")
    return cases


@pytest.mark.parametrize("case", ["directory", "under a regular file", "/proc", "/proc file"])
@pytest.mark.parametrize("command", ["glow", "classifier"])
def test_unusable_out_is_found_before_training(case: str, command: str, tmp_path: Path, no_training: None,
                                               capsys: pytest.CaptureFixture) -> None:
    from flowkit.train import main

    cases = _unusable_outs(tmp_path)
    if case not in cases:
        pytest.skip("needs Linux /proc")
    out, why = cases[case]
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as done:
        main([command, "--out", str(out)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: --out {out}" in err and why in err, err
    assert sorted(tmp_path.rglob("*")) == before  # no .tmp, no probe file, nothing created


# ----------------------------------------------------------------------------------------
# Ctrl-C: exit 130, one line saying where the state is, no .tmp; --resume continues bit-identically
# ----------------------------------------------------------------------------------------
def _popen(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "flowkit.train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


GLOW_RUN = ["glow", "--steps", "150", "--steps-per-level", "1", "--warmup", "20", *TINY]


def test_sigint_saves_state_exits_130_and_resume_is_bit_identical(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "g.pt"
    proc = _popen(*GLOW_RUN, "--out", str(out))
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first evaluation (step 10): the loop is running
    assert first.startswith("step"), first
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(tmp_path / "g.state.pt") in lines[0] and "--resume" in lines[0], stderr
    assert not list(tmp_path.glob("*.tmp")) and not out.exists()
    interrupted_at = _load(tmp_path / "g.state.pt")["step"]
    assert 10 <= interrupted_at < 150

    resumed = _run("glow", "--resume", str(tmp_path / "g.state.pt"), "--progress", "off")  # options from the state
    assert f"resumed glow from step {interrupted_at}" in resumed.stdout
    straight = tmp_path / "s.pt"
    _run(*GLOW_RUN, "--out", str(straight))
    a, b = _load(out), _load(straight)
    assert a["resumed_at"] == [interrupted_at] and "resumed_at" not in b
    assert a["metrics"] == b["metrics"] and a["history"] == b["history"]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in b["state_dict"])
    sa, sb = _load(tmp_path / "g.state.pt"), _load(tmp_path / "s.state.pt")
    assert all(torch.equal(sa["state_dict"][k], sb["state_dict"][k]) for k in sb["state_dict"])
    assert sa["history"]["loss"] == sb["history"]["loss"]


# ----------------------------------------------------------------------------------------
# --resume with an option that differs from the saved run: refused, never silently ignored
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("resume") / "g.pt"
    _run("glow", "--steps", "10", "--steps-per-level", "1", "--out", str(out), *TINY)
    return out


@pytest.mark.parametrize("option", [["--lr", "0.0005"], ["--lr=0.0005"], ["--weight-decay", "0.01"],
                                    ["--hidden", "16"], ["--seed", "3"], ["--batch-size", "16"],
                                    ["--shift-prob", "0.3"]])
def test_resume_refuses_a_changed_option(option: list[str], saved_run: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    from flowkit.train import main

    state_file = saved_run.with_name("g.state.pt")
    before = state_file.read_bytes()
    with pytest.raises(SystemExit) as done:
        main(["glow", "--resume", str(saved_run), "--steps", "20", *option])
    assert done.value.code == 2
    err = capsys.readouterr().err
    flag, value = option[0].split("=")[0], (option[1] if len(option) > 1 else option[0].split("=")[1])
    assert f"{flag} {float(value) if flag in ('--lr', '--weight-decay', '--shift-prob') else value}" in err, err
    assert "the saved run has" in err and "Start a new run" in err
    assert state_file.read_bytes() == before


def test_resume_accepts_the_same_values_and_the_changeable_options(saved_run: Path) -> None:
    proc = _run("glow", "--resume", str(saved_run), "--lr", "0.001", "--hidden", "8", "--steps", "20",
                "--eval-every", "5", "--progress", "off")
    assert "resumed glow from step 10" in proc.stdout
    ckpt = _load(saved_run)
    assert ckpt["metrics"]["trained_steps"] == 20 and ckpt["history"]["val_step"] == [10, 15, 20]
    assert "--eval-every 5" in ckpt["command"] and "--steps 20" in ckpt["command"]


def test_resume_from_a_broken_state_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.state.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    proc = _run("glow", "--resume", str(bad), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--resume {bad}: {bad}: cannot be read by torch.load" in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------------------
# the digits classifier is a subcommand of the same CLI
# ----------------------------------------------------------------------------------------
def test_classifier_subcommand_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    from flowkit.metrics.classifier import load_classifier

    out = tmp_path / "clf.pt"
    proc = _run("classifier", "--epochs", "2", "--width", "4", "--feature-dim", "8", "--quiet", "--out", str(out))
    assert "test accuracy" in proc.stdout
    raw, side = _load(out), json.loads(out.with_suffix(".json").read_text())
    assert raw["kind"] == "digits_classifier" and raw["metrics"] == side["metrics"] and raw["command"] == side["command"]
    assert raw["command"] == ("python -m flowkit.train classifier --epochs 2 --batch-size 64 --lr 0.002 "
                              f"--weight-decay 0.0001 --seed 0 --width 4 --feature-dim 8 --shift 1 --threads 1 --out {out}")
    model = load_classifier(out)
    assert model.config == {"width": 4, "feature_dim": 8} and not model.training


def test_help_lists_every_option_of_every_command(capsys: pytest.CaptureFixture) -> None:
    from flowkit.train import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--data", "--device", "--steps-per-level", "--couplings", "--resume", "--epochs", "--feature-dim",
                 "--simulator", "--simulations", "--val-simulations"):
        assert flag in text, flag
