"""Inputs of the metrics: tensors or arrays checked once, and the feature spaces they are compared in."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..validation import as_real_tensor as _as_tensor


def _is_digits(x: Tensor) -> bool:
    return (x.dim() == 4 and tuple(x.shape[1:]) == (1, 8, 8)) or (x.dim() == 3 and tuple(x.shape[1:]) == (8, 8))


@torch.no_grad()
def embed(x: object, features: str | Callable[[Tensor], Tensor] | None = "auto", *, name: str = "x",
          batch_size: int = 2048) -> Tensor:
    """The float64 feature matrix ``(N, d)`` of ``x`` in the chosen feature space (see the module docstring)."""
    t = _as_tensor(x, name)
    if features == "auto":
        features = "digits" if _is_digits(t) else None
    if features is None:
        return t.reshape(t.shape[0], -1).double().cpu()
    if features == "digits":
        from .classifier import load_classifier

        if not _is_digits(t) and not (t.dim() == 2 and t.shape[1] == 64):
            raise ValueError(f"{name}: the digits classifier needs 8×8 images (N, 1, 8, 8), got {tuple(t.shape)}")
        if t.is_floating_point() and float(t.max()) <= 1.0 + 1e-6 and float(t.max()) > 0:
            raise ValueError(f"{name}: digits features expect intensities on the 0..16 scale (e.g. "
                             "ImageFlow.sample_images), but the values are all in [0, 1]; multiply by 16")
        clf = load_classifier()
        return torch.cat([clf.features(t[i:i + batch_size]) for i in range(0, t.shape[0], batch_size)]).double()
    if isinstance(features, str):
        raise ValueError(f"features must be 'auto', 'digits', None or a callable, got {features!r}")
    if not callable(features):
        raise TypeError(f"features must be 'auto', 'digits', None or a callable, got {type(features).__name__}")
    f = features(t)
    f = _as_tensor(f, f"features({name})")
    if f.shape[0] != t.shape[0]:
        raise ValueError(f"features({name}) returned {f.shape[0]} rows for {t.shape[0]} inputs")
    return f.reshape(f.shape[0], -1).detach().double().cpu()


def _pair(a: object, b: object, features, names: tuple[str, str], min_rows: int = 1) -> tuple[Tensor, Tensor]:
    fa = embed(a, features, name=names[0])
    fb = embed(b, features, name=names[1])
    for f, n in ((fa, names[0]), (fb, names[1])):
        if f.shape[0] < min_rows:
            raise ValueError(f"{n} needs at least {min_rows} examples, got {f.shape[0]}")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} have different dimensions: {fa.shape[1]} vs {fb.shape[1]}")
    return fa, fb


def _sqdist(a: Tensor, b: Tensor) -> Tensor:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return d.clamp_min_(0.0)


def _nn_dist(query: Tensor, ref: Tensor, chunk: int = 2048) -> Tensor:
    """Euclidean distance of each query row to its nearest row of ``ref``."""
    out = [torch.cdist(query[i:i + chunk], ref).min(dim=1).values for i in range(0, query.shape[0], chunk)]
    return torch.cat(out)
