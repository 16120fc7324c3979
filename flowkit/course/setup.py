"""Small helpers shared by the course notebooks: one setup call and the fast-mode budget.

``FLOWKIT_FAST=1`` (set by ``make test``) shrinks long training runs so that every notebook
runs in CI within its time limit; a learner who runs a notebook normally gets the full
budget, which still finishes in minutes on a laptop CPU.
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

__all__ = ["setup", "fast_mode", "budget"]

T = TypeVar("T")


def fast_mode() -> bool:
    """True when the environment variable ``FLOWKIT_FAST`` is ``1`` (CI and tests).

    ``true`` and ``yes`` (any case) count as well; unset or anything else is False.

    Example:
        >>> import os
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"FLOWKIT_FAST": "1"}):
        ...     fast_mode()
        True
        >>> with mock.patch.dict(os.environ, {"FLOWKIT_FAST": "0"}):
        ...     fast_mode()
        False
    """
    return os.environ.get("FLOWKIT_FAST", "0").strip().lower() in ("1", "true", "yes")


def budget(full: T, fast: T) -> T:
    """``fast`` in fast mode, else ``full`` — e.g. ``steps = budget(3000, 300)``.

    Example:
        >>> import os
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"FLOWKIT_FAST": "1"}):
        ...     budget(3000, 300)
        300
        >>> with mock.patch.dict(os.environ, {"FLOWKIT_FAST": ""}):
        ...     budget(3000, 300)
        3000
    """
    return fast if fast_mode() else full


def setup(seed: int = 0, threads: int = 1) -> None:
    """Seed Python, NumPy and torch, and run torch on ``threads`` threads.

    One thread is the default because small interactive computations on a 2-core machine
    were 5–20× slower with two threads competing with the notebook's own work. In a Jupyter
    kernel it also imports ipympl for the explorers without changing pyplot's backend (the
    notebooks draw static figures inline).

    Example:
        >>> import torch
        >>> threads = torch.get_num_threads()
        >>> setup(seed=1)
        >>> first = torch.randn(3)
        >>> setup(seed=1)                                # the same seed: the same draws
        >>> torch.equal(first, torch.randn(3)), torch.get_num_threads()
        (True, 1)
        >>> setup(seed=1.5)
        Traceback (most recent call last):
            ...
        TypeError: seed must be an int, got float
        >>> torch.set_num_threads(threads)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    _prepare_explorers()


def _prepare_explorers() -> None:
    """In a Jupyter kernel, import ipympl now (it would switch pyplot's backend; this keeps it)."""
    try:
        from IPython import get_ipython
        if getattr(get_ipython(), "kernel", None) is None:
            return
        from .widgets.canvas import import_ipympl
        import_ipympl()
    except ImportError:  # no IPython or no ipympl: explorers fall back to Agg
        pass
