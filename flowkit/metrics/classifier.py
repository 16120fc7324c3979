r"""A small CNN classifier of the 8×8 digits, used as the feature extractor of the image metrics.

:func:`flowkit.metrics.frechet_distance` and :func:`flowkit.metrics.precision_recall` compare
images in the 64-dimensional *penultimate layer* of this network (as FID uses Inception's
pool features, Heusel et al., 2017): distances there reflect digit identity and stroke
shape rather than raw pixel differences.

Architecture (≈ 40 k parameters, ≈ 170 KB)::

    x / 16  (1×8×8)  → conv3×3(16) → ReLU → conv3×3(32) → ReLU → maxpool 2 (32×4×4)
            → linear 512→64 → ReLU   (= features(x), 64-d)
            → linear 64→10           (= logits)

Reproduce the shipped checkpoint (CPU, one thread, deterministic)::

    python -m flowkit.classifier --out checkpoints/digits_classifier.pt

It trains on the course's train split (:func:`flowkit.digits.load_digits`, 1200 images) with
Adam and small random shifts, keeps the weights with the best validation accuracy and
reports the test accuracy (397 images) in the checkpoint and in a JSON sidecar
``<out>.json`` together with the exact command. The checkpoint holds only tensors and plain
Python values: ``torch.load(path, weights_only=True)`` reads it; :func:`load_classifier`
rebuilds the model.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["DigitsClassifier", "load_classifier", "train_classifier", "accuracy", "DEFAULT_CHECKPOINT", "main"]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "digits_classifier.pt"
FORMAT = 1
DEFAULTS: dict[str, Any] = {"epochs": 60, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "seed": 0,
                            "width": 16, "feature_dim": 64, "shift": 1, "threads": 1}


def _as_images(x: Tensor) -> Tensor:
    """Digits on the 0..16 scale (integer or float), shape (N, 1, 8, 8), (N, 8, 8) or (N, 64) → float (N, 1, 8, 8) in [0, 1]."""
    if not isinstance(x, Tensor):
        raise TypeError(f"DigitsClassifier expects a torch.Tensor of images, got {type(x).__name__}")
    if x.dim() == 2 and x.shape[1] == 64:
        x = x.view(-1, 1, 8, 8)
    elif x.dim() == 3 and tuple(x.shape[1:]) == (8, 8):
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"DigitsClassifier expects images of shape (N, 1, 8, 8), (N, 8, 8) or (N, 64), "
                         f"got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("DigitsClassifier: empty batch of images")
    x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError("DigitsClassifier: images contain NaN or infinite values")
    return x / 16.0


class DigitsClassifier(nn.Module):
    """Tiny CNN for the 8×8 digits; inputs on the 0..16 intensity scale (see :func:`_as_images`)."""

    def __init__(self, width: int = 16, feature_dim: int = 64) -> None:
        super().__init__()
        self.config = {"width": int(width), "feature_dim": int(feature_dim)}
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc = nn.Linear(2 * width * 16, feature_dim)
        self.head = nn.Linear(feature_dim, 10)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features ``(N, feature_dim)`` (after the ReLU)."""
        h = _as_images(x).to(self.fc.weight.device)
        h = F.relu(self.conv1(h))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, 10)``."""
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self(x).argmax(dim=1)


@torch.no_grad()
def accuracy(model: DigitsClassifier, x: Tensor, y: Tensor) -> float:
    """Fraction of correctly classified images (model in eval mode)."""
    was = model.training
    model.eval()
    try:
        return float((model.predict(x).cpu() == y.cpu()).double().mean())
    finally:
        model.train(was)


def _shift(x: Tensor, max_shift: int, gen: torch.Generator) -> Tensor:
    """Random translations by up to ``max_shift`` pixels (zero padding), one per image."""
    if max_shift <= 0:
        return x
    n = x.shape[0]
    pad = F.pad(x, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = pad[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
    return out


def train_classifier(*, epochs: int = DEFAULTS["epochs"], batch_size: int = DEFAULTS["batch_size"],
                     lr: float = DEFAULTS["lr"], weight_decay: float = DEFAULTS["weight_decay"],
                     seed: int = DEFAULTS["seed"], width: int = DEFAULTS["width"],
                     feature_dim: int = DEFAULTS["feature_dim"], shift: int = DEFAULTS["shift"],
                     log: bool = False) -> tuple[DigitsClassifier, dict[str, Any]]:
    """Train on the train split, keep the best validation accuracy; returns ``(model, metrics)``."""
    from ..data.digits import load_digits

    x_tr, y_tr = load_digits("train", return_labels=True)  # type: ignore[misc]
    x_va, y_va = load_digits("val", return_labels=True)  # type: ignore[misc]
    x_te, y_te = load_digits("test", return_labels=True)  # type: ignore[misc]
    with torch.random.fork_rng(devices=[]):  # seeded initialisation, caller's global RNG untouched
        torch.manual_seed(seed)
        model = DigitsClassifier(width, feature_dim)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    xf = x_tr.float()
    best = (-1.0, -1)
    best_state: dict[str, Tensor] = {}
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(xf.shape[0], generator=gen)
        for i in range(0, xf.shape[0], batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(_shift(xf[idx], shift, gen)), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val_acc = accuracy(model, x_va, y_va)
        if val_acc > best[0]:
            best = (val_acc, epoch + 1)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if log:
            print(f"epoch {epoch + 1:3d}  loss {float(loss):.4f}  val acc {val_acc:.4f}", file=sys.stderr)
    model.load_state_dict(best_state)
    model.eval()
    metrics = {"train_acc": accuracy(model, x_tr, y_tr), "val_acc": accuracy(model, x_va, y_va),
               "test_acc": accuracy(model, x_te, y_te), "best_epoch": best[1], "epochs": epochs,
               "n_test": int(x_te.shape[0])}
    return model, metrics


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> DigitsClassifier:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "digits_classifier" or "state_dict" not in ckpt:
        raise ValueError(f"{path}: not a flowkit.classifier checkpoint")
    model = DigitsClassifier(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_classifier(path: str | os.PathLike | None = None) -> DigitsClassifier:
    """The classifier saved at ``path`` (default: the shipped ``checkpoints/digits_classifier.pt``), in eval mode.

    Loaded with ``weights_only=True``; cached per file, with frozen parameters (shared: do not train it).
    """
    p = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not p.exists():
        raise FileNotFoundError(f"{p} not found; create it with `python -m flowkit.classifier --out {p}`")
    return _cached(str(p.resolve()), p.stat().st_mtime)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flowkit.classifier",
                                description="Train the 8×8 digits classifier used by flowkit.metrics.")
    p.add_argument("--out", default="checkpoints/digits_classifier.pt")
    for k in ("epochs", "batch_size", "seed", "width", "feature_dim", "shift", "threads"):
        p.add_argument("--" + k.replace("_", "-"), type=int, default=DEFAULTS[k])
    for k in ("lr", "weight_decay"):
        p.add_argument("--" + k.replace("_", "-"), type=float, default=DEFAULTS[k])
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    model, metrics = train_classifier(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                                      weight_decay=a.weight_decay, seed=a.seed, width=a.width,
                                      feature_dim=a.feature_dim, shift=a.shift, log=not a.quiet)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python -m flowkit.classifier " + " ".join(
        f"--{k.replace('_', '-')} {getattr(a, k)}" for k in
        ("epochs", "batch_size", "lr", "weight_decay", "seed", "width", "feature_dim", "shift", "threads")
    ) + f" --out {shlex.quote(a.out)}"
    ckpt = {"format": FORMAT, "kind": "digits_classifier", "config": model.config,
            "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "metrics": metrics, "command": command, "seed": a.seed, "torch": str(torch.__version__)}
    tmp = out.with_name(out.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, out)
    side = {k: v for k, v in ckpt.items() if k != "state_dict"}
    side.update({"checkpoint": out.name, "checkpoint_bytes": out.stat().st_size,
                 "n_params": sum(p.numel() for p in model.parameters()),
                 "wall_time_s": round(time.time() - t0, 1), "threads": a.threads,
                 "argv": ["python", "-m", "flowkit.classifier", *(sys.argv[1:] if argv is None else argv)]})
    out.with_suffix(".json").write_text(json.dumps(side, indent=2) + "\n")
    print(f"wrote {out} ({side['checkpoint_bytes']} bytes): test accuracy {metrics['test_acc']:.4f} "
          f"(val {metrics['val_acc']:.4f}, train {metrics['train_acc']:.4f})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
