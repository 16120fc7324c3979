r"""Hooks of the training loop: learning-rate schedule, validation, saving, progress, Ctrl-C.

A :class:`Hook` is called by :func:`flowkit.train.loop.train` at five events, in the order the
hooks were given: ``on_start(state)`` before the first step, ``before_step(state)`` and
``after_step(state)`` around every step, ``on_end(state)`` when the run ends normally (all steps
done, or a hook asked to stop), and ``close(state)`` always, even after an error. Every method
gets the :class:`~flowkit.train.loop.TrainState`; a hook stops the run with
``state.request_stop(reason)``.

=====================  ==================================================================
:class:`LRSchedule`    sets the learning rate before every step: a function of the step, e.g.
                       linear warm-up then cosine decay (:meth:`LRSchedule.warmup`)
:class:`TorchScheduler`  steps a ``torch.optim.lr_scheduler`` every ``k`` steps (e.g. per epoch)
:class:`Validation`    evaluates a metric every ``k`` steps, keeps the best weights, stops after
                       ``patience`` evaluations without improvement, restores the best at the end
:class:`Checkpoint`    calls ``save(state)`` every ``k`` steps and when the run stops (resumable state)
:class:`Progress`      a tqdm bar with the loss and the last validation value
:class:`StopOnInterrupt`  the first Ctrl-C (SIGINT) ends the run cleanly after the current step
=====================  ==================================================================

Example:
    >>> import torch, flowkit as fk
    >>> from flowkit.train.loop import train
    >>> from flowkit.train.hooks import LRSchedule, Validation
    >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
    >>> x, x_val = torch.randn(256, 2) + 3, torch.randn(64, 2) + 3
    >>> val = Validation(lambda m: float(-m.log_prob(x_val).mean().detach()), every=20, restore_best=True)
    >>> state = train(flow, lambda m, s: -m.log_prob(x).mean(), steps=100,
    ...               optimizer=torch.optim.Adam(flow.parameters(), lr=0.05),
    ...               hooks=[LRSchedule.warmup(0.05, warmup=10, total=100), val])
    >>> state.history.val_step, val.best == min(state.history.val_nll)
    ([20, 40, 60, 80, 100], True)
"""

from __future__ import annotations

import math
import signal
import threading
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor

from ..validation import choice, finite_real, nonneg_int, positive_int
from .progress import make_bar

if TYPE_CHECKING:  # pragma: no cover
    from .loop import TrainState

__all__ = ["Hook", "LRSchedule", "TorchScheduler", "Validation", "Checkpoint", "Progress", "StopOnInterrupt",
           "cpu_state_dict"]


def cpu_state_dict(module: torch.nn.Module) -> dict[str, Tensor]:
    """A detached CPU copy of ``module.state_dict()`` (safe to keep while training goes on).

    Example:
        >>> sorted(cpu_state_dict(torch.nn.Linear(2, 1)))
        ['bias', 'weight']
    """
    return {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}


class Hook:
    """Base class: every event does nothing; override the ones you need.

    Example:
        >>> class PrintEvery(Hook):
        ...     def after_step(self, state):
        ...         if state.step % 50 == 0:
        ...             print(state.step, round(state.loss, 2))
    """

    def on_start(self, state: TrainState) -> None:
        """Before the first step (``state.step`` is the step the run starts after)."""

    def before_step(self, state: TrainState) -> None:
        """Before the loss of step ``state.step`` is computed."""

    def after_step(self, state: TrainState) -> None:
        """After the update of step ``state.step`` (recorded in ``state.history``)."""

    def on_end(self, state: TrainState) -> None:
        """When the run ends without an error (``state.stop_reason`` says if a hook stopped it)."""

    def close(self, state: TrainState) -> None:
        """Always, last (release resources: bars, signal handlers)."""


class LRSchedule(Hook):
    r"""Set every parameter group's learning rate to ``lr_at(step)`` before each step.

    :meth:`warmup` builds the usual schedule: linear warm-up :math:`\eta\,t/W` for
    :math:`t \le W`, then either constant :math:`\eta` or cosine decay
    :math:`\tfrac{\eta}{2}\big(1+\cos(\pi\,\tfrac{t-W}{T-W})\big)`, reaching 0 at step ``T``
    (Loshchilov & Hutter, 2017, "SGDR").

    Example:
        >>> s = LRSchedule.warmup(1e-3, warmup=10, total=110)
        >>> s.lr_at(5), s.lr_at(10), s.lr_at(60), s.lr_at(110)
        (0.0005, 0.001, 0.0005, 0.0)
    """

    def __init__(self, lr_at: Callable[[int], float]) -> None:
        if not callable(lr_at):
            raise TypeError(f"LRSchedule: lr_at must be a callable step -> lr, got {type(lr_at).__name__}")
        self.lr_at = lr_at

    @classmethod
    def warmup(cls, lr: float, *, warmup: int = 0, total: int, schedule: str = "cosine") -> LRSchedule:
        """Linear warm-up over ``warmup`` steps, then ``"cosine"`` decay to 0 at ``total`` or ``"constant"``."""
        lr = finite_real(lr, "lr", "LRSchedule", low=0.0, low_open=True)
        warmup = nonneg_int(warmup, "warmup", "LRSchedule")
        total = positive_int(total, "total", "LRSchedule")
        choice(schedule, "schedule", ("cosine", "constant"), "LRSchedule")

        def lr_at(step: int) -> float:
            if warmup and step <= warmup:
                return lr * step / warmup
            if schedule == "constant":
                return lr
            t = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
            return lr * 0.5 * (1.0 + math.cos(math.pi * t))

        return cls(lr_at)

    def before_step(self, state: TrainState) -> None:
        lr = self.lr_at(state.step)
        for group in state.optimizer.param_groups:
            group["lr"] = lr


class TorchScheduler(Hook):
    """Call ``scheduler.step()`` after every ``every``-th step (``every`` = steps per epoch: once per epoch).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([w], lr=1.0)
        >>> hook = TorchScheduler(torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), every=10)
    """

    def __init__(self, scheduler: Any, *, every: int = 1) -> None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"TorchScheduler: scheduler must have a step() method, got {type(scheduler).__name__}")
        self.scheduler, self.every = scheduler, positive_int(every, "every", "TorchScheduler")

    def after_step(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self.scheduler.step()


class Validation(Hook):
    """Evaluate ``metric(model)`` every ``every`` steps; track the best; stop early; restore the best weights.

    Evaluations happen at steps divisible by ``every``, at the last step (``at_end``) and before
    training (``at_start``, recorded as step 0). Each is appended to ``history.val_step`` /
    ``history.val_nll``. An evaluation *improves* when it beats the best so far by more than
    ``min_delta`` (lower is better for ``mode="min"``, higher for ``"max"``); then the weights are
    copied (when ``restore_best``). After ``patience`` evaluations in a row without improvement
    the run stops (``state.stop_reason == "early_stop"``); ``patience=None`` never stops. With
    ``restore_best`` the best weights are loaded into the model when the run ends (not when it
    was interrupted). A NaN/inf value raises ``FloatingPointError``.

    Args:
        on_eval: optional ``on_eval(state, value, improved)`` called after each evaluation.

    Example:
        >>> import torch
        >>> from flowkit.train.loop import train
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> values = iter([3.0, 2.0, 2.5, 2.6])
        >>> v = Validation(lambda m: next(values), every=1, patience=2, restore_best=True)
        >>> s = train(torch.nn.ParameterList([w]), lambda m, st: w.sum(), steps=10,
        ...           optimizer=torch.optim.SGD([w], lr=0.1), hooks=[v])
        >>> s.step, s.stop_reason, v.best, v.best_step, round(float(w.detach()), 4)
        (4, 'early_stop', 2.0, 2, 0.8)
    """

    def __init__(self, metric: Callable[[torch.nn.Module], float], *, every: int, at_start: bool = False,
                 at_end: bool = True, patience: int | None = None, min_delta: float = 0.0, mode: str = "min",
                 restore_best: bool = False, name: str = "validation metric", hint: str = "",
                 on_eval: Callable[[Any, float, bool], None] | None = None) -> None:
        if not callable(metric):
            raise TypeError(f"Validation: metric must be a callable model -> float, got {type(metric).__name__}")
        self.metric, self.every = metric, positive_int(every, "every", "Validation")
        self.at_start, self.at_end = bool(at_start), bool(at_end)
        self.patience = None if patience is None else nonneg_int(patience, "patience", "Validation")
        self.min_delta = finite_real(min_delta, "min_delta", "Validation", low=0.0)
        self.mode = choice(mode, "mode", ("min", "max"), "Validation")
        self.restore_best, self.name, self.hint, self.on_eval = bool(restore_best), name, hint, on_eval
        self.best = math.inf if mode == "min" else -math.inf
        self.best_step, self.bad = 0, 0
        self.best_state: dict[str, Tensor] | None = None

    def state_dict(self) -> dict[str, Any]:
        """The tracking state (best value and step, evaluations without improvement, best weights)."""
        return {"best": self.best, "best_step": self.best_step, "bad": self.bad, "best_state": self.best_state}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Continue tracking from a :meth:`state_dict` (resume)."""
        self.best, self.best_step, self.bad, self.best_state = d["best"], d["best_step"], d["bad"], d["best_state"]

    def _patience_spent(self) -> bool:
        return bool(self.patience) and self.bad >= self.patience  # type: ignore[operator]

    def evaluate(self, state: TrainState) -> float:
        """Evaluate now, record, update the best and the patience count; returns the value."""
        value = float(self.metric(state.model))
        if not math.isfinite(value):
            from .loop import nonfinite_error

            raise nonfinite_error(self.name, state.step, value, self.hint)
        state.history.val_step.append(state.step)
        state.history.val_nll.append(value)
        improved = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        if improved:
            self.best, self.best_step, self.bad = value, state.step, 0
            if self.restore_best:
                self.best_state = cpu_state_dict(state.model)
        else:
            self.bad += 1
        if self.on_eval is not None:
            self.on_eval(state, value, improved)
        return value

    def on_start(self, state: TrainState) -> None:
        if self._patience_spent():
            state.request_stop("early_stop")
        elif self.at_start and state.step == 0:
            self.evaluate(state)

    def after_step(self, state: TrainState) -> None:
        if state.step % self.every == 0 or (self.at_end and state.step == state.total_steps):
            self.evaluate(state)
            if self._patience_spent():
                state.request_stop("early_stop")

    def on_end(self, state: TrainState) -> None:
        if not self.restore_best or state.stop_reason == "interrupted":
            return
        if self.best_state is None:  # nothing evaluated: the current weights are the best known
            self.best_state, self.best_step = cpu_state_dict(state.model), state.step
        state.model.load_state_dict(self.best_state)


class Checkpoint(Hook):
    """Call ``save(state)`` after every ``every``-th step, after the last step and when the run stops.

    ``save`` writes whatever makes the run resumable (see ``python -m flowkit.train``); it is
    called at a step boundary, so the model, optimizer and RNG states it sees agree.

    Example:
        >>> saved = []
        >>> hook = Checkpoint(lambda state: saved.append(state.step), every=100)
    """

    def __init__(self, save: Callable[[Any], None], *, every: int) -> None:
        if not callable(save):
            raise TypeError(f"Checkpoint: save must be a callable state -> None, got {type(save).__name__}")
        self.save, self.every = save, positive_int(every, "every", "Checkpoint")

    def after_step(self, state: TrainState) -> None:
        if state.step % self.every == 0 or state.step == state.total_steps or state.stop:
            self.save(state)


class Progress(Hook):
    """A tqdm bar over the run's steps showing the loss (and the last validation value), or nothing.

    Example:
        >>> hook = Progress(False, desc="fit (NLL)")   # disabled: no bar, no output
    """

    def __init__(self, enabled: bool, desc: str, every: int = 10) -> None:
        self.enabled, self.desc, self.every = bool(enabled), desc, every
        self.bar: Any = None

    def on_start(self, state: TrainState) -> None:
        self.bar = make_bar(self.enabled, state.total_steps, self.desc, initial=state.step)

    def write(self, msg: str) -> None:
        """Print a line above the bar (or plainly when there is none)."""
        (self.bar if self.bar is not None else make_bar(False, 0, "")).write(msg)

    def after_step(self, state: TrainState) -> None:
        self.bar.update(1)
        if self.enabled and (state.step % self.every == 0 or state.step == state.total_steps):
            h = state.history
            post = {"loss": f"{state.loss:.3f}"}
            if h.val_nll:
                post["val"] = f"{h.val_nll[-1]:.3f}"
            if h.beta and h.beta[-1] != 1.0:
                post["beta"] = f"{h.beta[-1]:.2f}"
            if h.kl:
                post["KL"] = f"{h.kl[-1]:.3f}"
            self.bar.set_postfix(post, refresh=False)

    def close(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()


class StopOnInterrupt(Hook):
    """The first Ctrl-C (SIGINT) during the run ends it after the current step; a second one aborts.

    The run then ends with ``state.stop_reason == "interrupted"`` at a step boundary, so a
    :class:`Checkpoint` placed after this hook saves a consistent, resumable state. Only active
    in the main thread (elsewhere Python cannot install signal handlers); the previous handler
    is restored when the run ends.

    Example:
        >>> hook = StopOnInterrupt()
        >>> hook.requested
        False
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:  # the second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True

    def on_start(self, state: TrainState) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def after_step(self, state: TrainState) -> None:
        if self.requested:
            state.request_stop("interrupted")

    def close(self, state: TrainState) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
