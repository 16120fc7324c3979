"""Training: the loops (:func:`fit`, :func:`fit_reverse_kl`), their :class:`History`, checkpoints and the CLI.

``python -m flowkit.train {realnvp,glow} --data digits`` trains an image flow from the command
line (:mod:`flowkit.train.cli`); :func:`load_checkpoint` reads what it writes.

Example:
    >>> import flowkit as fk
    >>> flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
    >>> history = fk.fit(flow, fk.data.two_moons(256, seed=0), steps=5, progress=False)
    >>> len(history)
    5
"""

from .cli import build_model, evaluate, load_checkpoint, main
from .history import History
from .loop import fit, fit_reverse_kl

__all__ = ["fit", "fit_reverse_kl", "History", "load_checkpoint", "evaluate", "build_model", "main"]
