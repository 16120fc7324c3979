"""What the course notebooks share: one setup call, the fast-mode budget, plots and live explorers.

* :func:`setup`, :func:`fast_mode`, :func:`budget` — seeds, one torch thread, CI-sized runs;
* :mod:`flowkit.course.viz` — static plots (densities, samples, grid deformations, histories);
* :mod:`flowkit.course.widgets` — live slider explorers (ipympl);
* :func:`when_done` — the "Your turn" cells' guard (see :mod:`flowkit.course.practice`).

Example:
    >>> import flowkit as fk
    >>> fk.course.budget(3000, 300) in (3000, 300)
    True
"""

from . import viz, widgets
from .practice import when_done
from .setup import budget, fast_mode, setup

__all__ = ["setup", "fast_mode", "budget", "viz", "widgets", "when_done"]
