"""The shipped checkpoints: load with ``weights_only=True`` and reproduce their bits/dim deterministically.

The numbers live in three places that must agree: the checkpoint's ``metrics``, its JSON
sidecar (written by ``python -m flowkit.train``) and :data:`EXPECTED` below (the numbers
quoted in the README/notebooks). ``test_bpd`` is the dequantization bound averaged over
``eval.test_samples`` (8) noise samples per test image; ``test_bpd_iw`` the importance-weighted
bound with the same ``k = 8`` samples (tighter; both are upper bounds on the true bits/dim).
The noise comes from a generator seeded ``eval.seed`` (1234), so the evaluation is deterministic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CKPT_DIR = ROOT / "checkpoints"

# test bits/dim of the shipped checkpoints (test split, 397 images; 8 noise samples, seed 1234)
EXPECTED = {
    "realnvp_digits": {"test_bpd": 1.949, "test_bpd_iw": 1.884},
    "glow_digits": {"test_bpd": 2.117, "test_bpd_iw": 2.048},
}
MAX_BYTES = 2_000_000


def _plain(obj: object) -> bool:
    """Only tensors, ints, floats, strings, bools, None, lists and dicts."""
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(_plain(v) for v in obj)
    return obj is None or isinstance(obj, (torch.Tensor, int, float, str, bool))


@pytest.fixture(scope="module")
def test_images() -> torch.Tensor:
    from flowkit.data.digits import load_digits

    x = load_digits("test")
    assert isinstance(x, torch.Tensor) and x.shape == (397, 1, 8, 8)
    return x


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_checkpoint_reproduces_its_bits_per_dim(name: str, test_images: torch.Tensor) -> None:
    from flowkit.image import ImageFlow
    from flowkit.train import evaluate, load_checkpoint

    path = CKPT_DIR / f"{name}.pt"
    sidecar = json.loads((CKPT_DIR / f"{name}.json").read_text())
    assert path.stat().st_size < MAX_BYTES, f"{path} is {path.stat().st_size} bytes"

    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert _plain(raw)
    assert raw["model"] == name.split("_")[0] and raw["data"] == "digits"
    assert raw["command"] == sidecar["command"] and raw["command"].startswith(f"python -m flowkit.train {raw['model']} ")
    assert f"--out checkpoints/{name}.pt" in raw["command"]
    assert raw["seed"] == sidecar["seed"] and isinstance(raw["torch"], str)
    assert raw["metrics"] == sidecar["metrics"]

    model = load_checkpoint(path)
    assert isinstance(model, ImageFlow) and not model.training
    ev = raw["eval"]
    with torch.no_grad():
        got = {
            "test_bpd": evaluate(model, test_images, n_samples=ev["test_samples"], seed=ev["seed"]),
            "test_bpd_iw": evaluate(model, test_images, n_samples=ev["test_samples"], importance_weighted=True,
                                    seed=ev["seed"]),
        }
    for key, value in got.items():
        assert math.isfinite(value)
        assert value == pytest.approx(raw["metrics"][key], abs=0.01), (name, key)
        assert value == pytest.approx(sidecar["metrics"][key], abs=0.01), (name, key)
        assert EXPECTED[name][key] is not None, f"fill in EXPECTED[{name!r}][{key!r}] = {value:.3f}"
        assert value == pytest.approx(EXPECTED[name][key], abs=0.01), (name, key)
    assert got["test_bpd_iw"] <= got["test_bpd"] + 1e-9


def test_checkpoint_samples_are_valid_images() -> None:
    from flowkit.train import load_checkpoint

    model = load_checkpoint(CKPT_DIR / "glow_digits.pt")
    x = model.sample_images(16, temperature=0.7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (16, 1, 8, 8) and x.dtype == torch.long
    assert int(x.min()) >= 0 and int(x.max()) <= 16
