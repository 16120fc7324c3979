"""Image data for the image-flow chapters: scikit-learn's 8×8 digits (offline) and an optional MNIST loader.

**Digits.** ``sklearn.datasets.load_digits`` ships with scikit-learn (no download): 1797
grey-scale 8×8 images of handwritten digits with integer intensities 0..16, i.e.
:data:`DIGITS_BINS` ``= 17`` levels. :func:`load_digits` returns them as ``torch.long`` tensors
of shape ``(N, 1, 8, 8)`` with a fixed split: the images are shuffled once with
``numpy.random.default_rng(seed)`` (``seed=0`` by default) and cut into
:data:`DIGITS_SPLIT` ``= (1200, 200, 397)`` train / validation / test images
(1200 + 200 + 397 = 1797). The same seed always gives the same split; global RNG
state is never used or changed.

**MNIST** (optional, never used by the tests): :func:`load_mnist` reads the four IDX files
from ``root`` and downloads them only when asked with ``download=True``.
"""

from __future__ import annotations

import functools
import gzip
import os
import urllib.request
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["DIGITS_BINS", "DIGITS_SPLIT", "load_digits", "digits_splits", "load_mnist", "MNIST_BINS"]

DIGITS_BINS = 17
DIGITS_SPLIT = (1200, 200, 397)
MNIST_BINS = 256
_SPLITS = ("train", "val", "test")


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits as _sk_load
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("flowkit.digits needs scikit-learn (pip install scikit-learn); "
                          "its 8x8 digits ship with the package, no download needed") from e
    d = _sk_load()
    images = np.asarray(d.images).astype(np.int64)  # (1797, 8, 8), values 0..16
    return images, np.asarray(d.target).astype(np.int64)


def _permutation(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)


def load_digits(split: str = "train", *, seed: int = 0, return_labels: bool = False
                ) -> Tensor | tuple[Tensor, Tensor]:
    """The 8×8 digits as integer images ``(N, 1, 8, 8)`` (``torch.long``, values 0..16).

    Args:
        split: ``"train"`` (1200 images), ``"val"`` (200), ``"test"`` (397) or ``"all"`` (1797,
            in sklearn's original order).
        seed: seed of the one-off shuffle that defines the split (0: the course's split).
        return_labels: also return the digit labels ``(N,)`` (``torch.long``, 0..9).

    Use with ``n_bins=DIGITS_BINS`` (17) in :mod:`flowkit.image`.

    Example:
        >>> x = load_digits("test")
        >>> x.shape, x.dtype, int(x.max()) <= 16
        (torch.Size([397, 1, 8, 8]), torch.int64, True)
    """
    if split not in (*_SPLITS, "all"):
        raise ValueError(f"load_digits: split must be one of 'train', 'val', 'test', 'all', got {split!r}")
    images, labels = _raw_digits()
    if split == "all":
        idx = np.arange(len(images))
    else:
        perm = _permutation(len(images), seed)
        n_train, n_val, _ = DIGITS_SPLIT
        bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, len(images))}
        lo, hi = bounds[split]
        idx = perm[lo:hi]
    x = torch.from_numpy(images[idx].copy()).unsqueeze(1)
    if return_labels:
        return x, torch.from_numpy(labels[idx].copy())
    return x


def digits_splits(*, seed: int = 0) -> dict[str, Tensor]:
    """``{"train": …, "val": …, "test": …}`` of :func:`load_digits`.

    Example:
        >>> {k: len(v) for k, v in digits_splits().items()}
        {'train': 1200, 'val': 200, 'test': 397}
    """
    return {s: load_digits(s, seed=seed) for s in _SPLITS}  # type: ignore[misc]


# ----------------------------------------------------------------------------------------
# MNIST (optional)
# ----------------------------------------------------------------------------------------
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "https://storage.googleapis.com/cvdf-datasets/mnist/")


def _find(root: Path, name: str) -> Path | None:
    for cand in (root / name, root / f"{name}.gz", root / "MNIST" / "raw" / name, root / "MNIST" / "raw" / f"{name}.gz"):
        if cand.exists():
            return cand
    return None


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"load_mnist: {path} is not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"load_mnist: {path} is truncated ({arr.size} values, header says {shape})")
    return arr.reshape(shape)


def _download(root: Path, name: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in _MNIST_MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                payload = r.read()
            tmp = root / f"{name}.gz.part"
            tmp.write_bytes(payload)
            os.replace(tmp, root / f"{name}.gz")
            return
        except Exception as e:  # noqa: BLE001 - report every mirror's failure
            errors.append(f"{url}: {e}")
    raise RuntimeError("load_mnist: could not download MNIST (no network?). Tried:\n  " + "\n  ".join(errors)
                       + f"\nPlace the IDX files ({name}[.gz], ...) in {root} by hand, or use "
                         "flowkit.digits.load_digits() which needs no download.")


def load_mnist(root: str | os.PathLike, split: str = "train", *, download: bool = False,
               return_labels: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """MNIST as integer images ``(N, 1, 28, 28)`` (``torch.long``, values 0..255, ``MNIST_BINS`` = 256 levels).

    Reads ``train-images-idx3-ubyte[.gz]`` etc. from ``root`` (or ``root/MNIST/raw``, the
    torchvision layout). Nothing is downloaded unless ``download=True``; missing files raise
    ``FileNotFoundError`` saying so, and a failed download raises ``RuntimeError``.

    Args:
        root: directory holding (or to receive) the IDX files.
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000).
        download: fetch missing files from a public mirror.
        return_labels: also return the labels ``(N,)``.

    Example:
        >>> load_mnist("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    paths = []
    for name in _MNIST_FILES[split]:
        p = _find(root, name)
        if p is None:
            if not download:
                raise FileNotFoundError(
                    f"load_mnist: {name}[.gz] not found in {root}. Pass download=True to fetch MNIST "
                    "(needs network access), or use flowkit.digits.load_digits() which works offline.")
            _download(root, name)
            p = _find(root, name)
            assert p is not None
        paths.append(p)
    images = torch.from_numpy(_read_idx(paths[0]).astype(np.int64)).unsqueeze(1)
    if return_labels:
        return images, torch.from_numpy(_read_idx(paths[1]).astype(np.int64))
    return images
