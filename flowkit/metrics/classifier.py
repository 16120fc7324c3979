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

    python -m flowkit.train classifier --out checkpoints/digits_classifier.pt

The training (:mod:`flowkit.train.classifier`, the one training loop) uses the course's train
split (:func:`flowkit.data.digits.load_digits`, 1200 images) with Adam and small random shifts,
keeps the weights with the best validation accuracy and reports the test accuracy (397 images)
in the checkpoint and in a JSON sidecar ``<out>.json`` together with the exact command. The
checkpoint holds only tensors and plain Python values: ``torch.load(path, weights_only=True)``
reads it; :func:`load_classifier` rebuilds the model and checks the file like every flowkit
checkpoint (:func:`flowkit.train.checkpoints.read_checkpoint`).

Example:
    >>> import torch
    >>> from flowkit.metrics.classifier import load_classifier
    >>> clf = load_classifier()
    >>> clf.features(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 64])
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["DigitsClassifier", "load_classifier", "accuracy", "DEFAULT_CHECKPOINT"]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "digits_classifier.pt"


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
    """Tiny CNN for the 8×8 digits; inputs on the 0..16 intensity scale (see :func:`_as_images`).

    Example:
        >>> import torch
        >>> DigitsClassifier(width=4, feature_dim=8)(torch.zeros(3, 1, 8, 8)).shape
        torch.Size([3, 10])
    """

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
    """Fraction of correctly classified images (model in eval mode).

    Example:
        >>> from flowkit.data.digits import load_digits
        >>> x, y = load_digits("test", return_labels=True)
        >>> accuracy(load_classifier(), x, y) > 0.95
        True
    """
    was = model.training
    model.eval()
    try:
        return float((model.predict(x).cpu() == y.cpu()).double().mean())
    finally:
        model.train(was)


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> DigitsClassifier:
    from ..train.checkpoints import read_checkpoint

    ckpt = read_checkpoint(path, kind="digits_classifier")
    try:
        model = DigitsClassifier(**ckpt["config"])
        model.load_state_dict(ckpt["state_dict"])
    except (TypeError, RuntimeError) as e:
        raise ValueError(f"{path}: the config or weights do not fit a DigitsClassifier: {e}") from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_classifier(path: str | os.PathLike | None = None) -> DigitsClassifier:
    """The classifier saved at ``path`` (default: the shipped ``checkpoints/digits_classifier.pt``), in eval mode.

    Loaded with ``weights_only=True`` and checked (:func:`flowkit.train.checkpoints.read_checkpoint`:
    a truncated, non-flowkit, NaN-weight or sidecar-mismatched file is a ``ValueError`` naming the
    path); cached per file, with frozen parameters (shared: do not train it).

    Example:
        >>> load_classifier().config
        {'width': 16, 'feature_dim': 64}
    """
    p = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not p.exists():
        raise FileNotFoundError(f"{p} not found; create it with `python -m flowkit.train classifier --out {p}`")
    return _cached(str(p.resolve()), p.stat().st_mtime)


def __getattr__(name: str) -> Any:
    if name == "train_classifier":  # flowkit 0.1 name; the training lives in flowkit.train.classifier
        from ..train.classifier import train_classifier

        return train_classifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
