"""The 8×8 digits loader (offline) and the optional MNIST loader (never downloads here)."""

from __future__ import annotations

import collections
import gzip
import struct

import numpy as np
import pytest
import torch

from flowkit.data.digits import DIGITS_BINS, DIGITS_SPLIT, digits_splits, load_digits, load_mnist


def _multiset(x: torch.Tensor) -> collections.Counter:
    return collections.Counter(bytes(r.numpy().astype(np.uint8)) for r in x.reshape(len(x), -1))


def test_shapes_dtype_and_range():
    splits = digits_splits()
    assert DIGITS_SPLIT == (1200, 200, 397) and DIGITS_BINS == 17
    for name, n in zip(("train", "val", "test"), DIGITS_SPLIT):
        x = splits[name]
        assert x.shape == (n, 1, 8, 8) and x.dtype == torch.long
        assert int(x.min()) == 0 and int(x.max()) == 16
    assert load_digits("all").shape == (1797, 1, 8, 8)


def test_splits_partition_the_dataset():
    s = digits_splits()
    together = torch.cat([s["train"], s["val"], s["test"]])
    assert _multiset(together) == _multiset(load_digits("all"))
    x, y = load_digits("test", return_labels=True)
    assert y.shape == (397,) and set(y.tolist()) == set(range(10))


def test_split_is_deterministic_and_seeded():
    a = load_digits("train")
    torch.manual_seed(123)
    np.random.seed(7)
    b = load_digits("train")
    assert torch.equal(a, b)
    c = load_digits("train", seed=1)
    assert not torch.equal(a, c)
    a[0, 0, 0, 0] = 99  # returned tensors are copies, the cache is not modified
    assert int(load_digits("train").max()) == 16
    with pytest.raises(ValueError):
        load_digits("validation")


def test_load_mnist_never_downloads_unless_asked(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError):
        load_mnist(tmp_path, split="val")


def test_load_mnist_reads_idx_files(tmp_path):
    imgs = np.arange(2 * 28 * 28, dtype=np.uint16).reshape(2, 28, 28) % 256
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 28, 28) + imgs.astype(np.uint8).tobytes())
    with open(tmp_path / "t10k-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 2) + bytes([3, 7]))
    x, y = load_mnist(tmp_path, "test", return_labels=True)
    assert x.shape == (2, 1, 28, 28) and x.dtype == torch.long
    assert torch.equal(x[:, 0], torch.from_numpy(imgs.astype(np.int64)))
    assert y.tolist() == [3, 7]
