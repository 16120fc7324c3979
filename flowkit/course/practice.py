"""What the "Your turn" exercise cells of the course notebooks share.

:func:`when_done` wraps the code an exercise runs *with the learner's answer* (a plot of their
flow, a training run of their model): until the answer is written, the stub raises
``NotImplementedError`` and the block is skipped with a note instead of stopping *Run All* (so is a block that needs one of
``names`` that an unfinished exercise never defined).
Either way the notebook's random numbers after the block are the ones it would have had
without it, so an exercise never changes what the course's own cells compute.
"""

from __future__ import annotations

import contextlib
import random
from typing import Iterator

import numpy as np
import torch

__all__ = ["when_done"]


@contextlib.contextmanager
def when_done(*names: str) -> Iterator[None]:
    """Run the block once ``names`` (the learner's functions) are written; keep the random state.

    Example:
        >>> def push_forward(n):
        ...     raise NotImplementedError()
        >>> with when_done("push_forward"):
        ...     push_forward(3)
        ⏸ skipped until your push_forward is written (it still raises NotImplementedError)
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    except NotImplementedError:
        what = ", ".join(names) or "answer above"
        print(f"⏸ skipped until your {what} is written (it still raises NotImplementedError)")
    except NameError as e:
        if getattr(e, "name", None) not in names:
            raise
        print(f"⏸ skipped: `{e.name}` does not exist yet (write and run the exercise above first)")
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
