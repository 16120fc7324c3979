"""Training: one loop (:mod:`~flowkit.train.loop`) with losses and hooks, the fits, checkpoints and the CLI.

=================================  ===============================================================
:func:`fit`, :func:`fit_reverse_kl`  maximum likelihood / reverse KL (:mod:`flowkit.train.fit`)
:func:`~flowkit.train.loop.train`  the one loop: a loss per step + hooks (:mod:`~flowkit.train.loop`)
:mod:`~flowkit.train.losses`       :class:`MaximumLikelihood`, :class:`ReverseKL`, :class:`StepLoss`
:mod:`~flowkit.train.hooks`        LR schedule, validation/early stopping, checkpointing, progress, Ctrl-C
:func:`load_checkpoint`            read what ``python -m flowkit.train`` writes (:mod:`~flowkit.train.checkpoints`)
:func:`evaluate`                   the CLI's bits/dim estimator (an alias of :func:`flowkit.metrics.bits_per_dim`)
:func:`main`                       ``python -m flowkit.train {realnvp,glow,conditional-realnvp,posterior,classifier}``
=================================  ===============================================================

Example:
    >>> import flowkit as fk
    >>> flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
    >>> history = fk.fit(flow, fk.data.two_moons(256, seed=0), steps=5, progress=False)
    >>> len(history)
    5
"""

from .checkpoints import build_model, load_checkpoint
from .cli import main
from .fit import fit, fit_reverse_kl
from .history import History
from .hooks import Checkpoint, Hook, LRSchedule, Progress, StopOnInterrupt, TorchScheduler, Validation
from .image_run import evaluate
from .loop import TrainState, train
from .losses import MaximumLikelihood, ReverseKL, StepLoss

__all__ = ["fit", "fit_reverse_kl", "History", "load_checkpoint", "evaluate", "build_model", "main",
           "train", "TrainState", "MaximumLikelihood", "ReverseKL", "StepLoss",
           "Hook", "LRSchedule", "TorchScheduler", "Validation", "Checkpoint", "Progress", "StopOnInterrupt"]
