"""When to show a progress bar, and the bar itself (tqdm, or a silent stand-in).

``progress=None`` means *automatic*: a bar in a Jupyter kernel or an interactive terminal, none
under pytest or CI (``PYTEST_CURRENT_TEST`` / ``CI`` set), and the environment variable
``FLOWKIT_PROGRESS`` (``0``/``1``) overrides the automatic choice. :func:`flowkit.fit`,
:func:`flowkit.fit_reverse_kl` and ``python -m flowkit.train --progress auto`` all decide with
:func:`progress_enabled`.

Example:
    >>> from flowkit.train.progress import make_bar, progress_enabled
    >>> progress_enabled(False)
    False
    >>> bar = make_bar(False, total=10, desc="fit")   # a silent bar with tqdm's interface
    >>> bar.update(1); bar.close()
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["progress_enabled", "progress_flag", "make_bar", "NoBar"]

_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}


def _in_jupyter_kernel() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except Exception:  # pragma: no cover - IPython missing
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def progress_flag(choice: str | None) -> bool | None:
    """The command line's ``--progress on|off|auto`` as :func:`progress_enabled`'s argument.

    Example:
        >>> progress_flag("on"), progress_flag("off"), progress_flag("auto")
        (True, False, None)
    """
    return {"on": True, "off": False}.get(choice)


def progress_enabled(progress: bool | None) -> bool:
    """Whether to show a bar: ``progress`` if it is a bool, else the automatic choice (module docstring).

    Example:
        >>> import os
        >>> saved = os.environ.get("FLOWKIT_PROGRESS")
        >>> os.environ["FLOWKIT_PROGRESS"] = "0"
        >>> progress_enabled(None), progress_enabled(True)
        (False, True)
        >>> _ = os.environ.pop("FLOWKIT_PROGRESS") if saved is None else os.environ.update(FLOWKIT_PROGRESS=saved)
    """
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {type(progress).__name__} {progress!r}")
        return progress
    env = os.environ.get("FLOWKIT_PROGRESS", "").strip().lower()
    if env in _OFF:
        return False
    if env in _ON:
        return True
    if "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("CI"):
        return False
    if _in_jupyter_kernel():
        return True
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except Exception:  # pragma: no cover - unusual streams
        return False


class NoBar:
    """The do-nothing bar: tqdm's ``update``/``set_postfix``/``write``/``close``, printing only ``write``.

    Example:
        >>> bar = NoBar()
        >>> bar.write("step 10  loss 1.23")
        step 10  loss 1.23
    """

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def write(self, msg: str) -> None:
        print(msg, flush=True)

    def close(self) -> None:
        pass


def make_bar(enabled: bool, total: int, desc: str, initial: int = 0) -> Any:
    """A ``tqdm.auto`` bar over ``total`` steps starting at ``initial`` if ``enabled``, else a :class:`NoBar`.

    Example:
        >>> make_bar(False, 100, "fit").__class__.__name__
        'NoBar'
    """
    if not enabled:
        return NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=True, dynamic_ncols=True)
