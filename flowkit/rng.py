"""Seeded randomness without side effects: the one context manager flowkit uses for it.

:func:`seeded` runs a block under torch's global RNG seeded with ``seed`` and gives the caller
back its own RNG state afterwards (``torch.random.fork_rng``). flowkit uses it wherever a
*global*-RNG consumer must be reproducible — parameter initialisation in the image builders and
the digits classifier, dropout inside :func:`flowkit.fit` — while explicit noise (mini-batch
order, dequantization, base samples) comes from local ``torch.Generator`` objects.

Example:
    >>> import torch
    >>> from flowkit.rng import seeded
    >>> before = torch.get_rng_state()
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> torch.equal(a, b), torch.equal(torch.get_rng_state(), before)
    (True, True)
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .validation import nonneg_int

__all__ = ["seeded"]


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device | str | None = None) -> Iterator[None]:
    """Run the block with torch's global RNG seeded ``seed``; restore the caller's RNG state after it.

    Args:
        seed: a non-negative int, or ``None`` to run the block unchanged (no fork, no seeding).
        device: the device whose RNG is also forked when it is a CUDA device (the CPU RNG is
            always forked); ``None``: the CPU only.

    Example:
        >>> import torch
        >>> with seeded(3):
        ...     x = torch.randn(1)
        >>> with seeded(3):
        ...     bool(torch.equal(x, torch.randn(1)))
        True
    """
    if seed is None:
        yield
        return
    seed = nonneg_int(seed, "seed", "seeded")
    devices: list[int] = []
    if device is not None and torch.device(device).type == "cuda":
        dev = torch.device(device)
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)  # the CPU RNG only: other devices keep theirs
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield
