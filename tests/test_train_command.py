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
