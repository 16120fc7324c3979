r"""The one training loop of flowkit: a loss per step, an optimizer, and hooks around it.

Every way flowkit trains a model goes through :func:`train`: :func:`flowkit.fit` (maximum
likelihood), :func:`flowkit.fit_reverse_kl` (variational inference), ``python -m flowkit.train``
(image flows and the digits classifier). What differs between them is *wiring*:

* the **loss** (:mod:`flowkit.train.losses`): a callable ``loss(model, state)`` evaluated once per
  step, returning the scalar to minimise (a tensor) or a :class:`~flowkit.train.losses.StepLoss`
  (the objective to differentiate, the value to record, extra per-step records);
* the **hooks** (:mod:`flowkit.train.hooks`): learning-rate schedule, validation with early
  stopping and best-weights restore, periodic saving of a resumable state, a progress bar,
  stopping cleanly on Ctrl-C — or anything a user writes as a :class:`~flowkit.train.hooks.Hook`.

One step
--------
``before_step`` hooks (e.g. set the learning rate) → ``loss(model, state)`` → if its value is
NaN/inf: ``FloatingPointError`` → ``backward`` → total gradient norm, clipped to ``clip_grad``
(``torch.nn.utils.clip_grad_norm_``) → if the norm is NaN/inf: ``FloatingPointError`` →
``optimizer.step()`` → record ``step``, ``loss``, ``grad_norm`` (before clipping), ``lr``,
``time_s`` in the :class:`~flowkit.train.history.History` → ``after_step`` hooks. Both errors
name the step and the value and are raised *before* the update, so the model keeps the
parameters it had before the offending step.

Reproducibility
---------------
The loop runs in train mode (the caller's mode is restored afterwards) and under
:func:`flowkit.rng.seeded` (``seed``): randomness inside the model (dropout) is reproducible and
the caller's global RNG state is untouched. Data order and Monte-Carlo noise come from the
loss's own ``torch.Generator``.

Example:
    >>> import torch, flowkit as fk
    >>> from flowkit.train.loop import train
    >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
    >>> x = torch.randn(64, 2) * 2 + 1
    >>> opt = torch.optim.Adam(flow.parameters(), lr=1e-2)
    >>> state = train(flow, lambda model, state: -model.log_prob(x).mean(), steps=50, optimizer=opt)
    >>> state.step, state.history.loss[-1] < state.history.loss[0]
    (50, True)
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ..rng import seeded
from ..validation import finite_real, nonneg_int, positive_int
from .history import History
from .hooks import Hook
from .losses import StepLoss

__all__ = ["TrainState", "train", "make_optimizer", "model_device", "nonfinite_error"]


@dataclass
class TrainState:
    """What the loop and its hooks share while training.

    Attributes:
        model, optimizer: what is trained, and how.
        total_steps: the step the run ends at (steps are numbered ``1 … total_steps``).
        step: the current step (the last completed one after ``after_step``; 0 before training).
        history: the per-step record (:class:`~flowkit.train.history.History`).
        seed: the seed of the model-randomness fork (``None``: not forked).
        device: the model's device.
        loss, grad_norm: the last step's recorded loss and gradient norm (``None`` before).
        stop: set by a hook to end the run after the current step; ``stop_reason`` says why
            (``"early_stop"``, ``"interrupted"``, …).
        started: ``time.perf_counter()`` when the loop started.

    Example:
        >>> import torch
        >>> m = torch.nn.Linear(1, 1)
        >>> s = TrainState(m, torch.optim.SGD(m.parameters(), lr=0.1), total_steps=10)
        >>> s.step, s.stop
        (0, False)
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    total_steps: int
    step: int = 0
    history: History = field(default_factory=History)
    seed: int | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    loss: float | None = None
    grad_norm: float | None = None
    stop: bool = False
    stop_reason: str | None = None
    started: float = field(default_factory=time.perf_counter)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to end after the current step (the first reason given is kept)."""
        if not self.stop:
            self.stop, self.stop_reason = True, reason

    @property
    def lr(self) -> float:
        """The learning rate of the optimizer's first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])


def model_device(model: nn.Module) -> torch.device:
    """The device of the first parameter (the CPU for a module without parameters).

    Example:
        >>> model_device(torch.nn.Linear(2, 2))
        device(type='cpu')
    """
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def make_optimizer(model: nn.Module, optimizer: object, lr: float, weight_decay: float = 0.0,
                   where: str = "fit") -> torch.optim.Optimizer:
    """``optimizer`` if it is one, ``optimizer(params)`` if it is a factory, else ``Adam(lr, weight_decay)``.

    Example:
        >>> m = torch.nn.Linear(2, 2)
        >>> type(make_optimizer(m, None, 1e-3)).__name__
        'Adam'
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"{where}: optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt
    raise TypeError(f"{where}: optimizer must be None (Adam), a torch.optim.Optimizer, or a callable "
                    f"params -> Optimizer, got {type(optimizer).__name__}")


def nonfinite_error(what: str, step: int, value: float, hint: str = "") -> FloatingPointError:
    """The error for a NaN/inf ``what`` at ``step``: names the step and the value, says the model is unchanged.

    Example:
        >>> str(nonfinite_error("training loss", 3, float("nan")))[:47]
        'training loss became non-finite (nan) at step 3'
    """
    return FloatingPointError(
        f"{what} became non-finite ({value}) at step {step}; stopping instead of training on NaN/inf. "
        f"The model holds the parameters from before this step. {hint}".rstrip())


@contextlib.contextmanager
def _training_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.train()
    try:
        yield
    finally:
        module.train(was_training)


def _as_step_loss(out: object, step: int) -> StepLoss:
    if isinstance(out, StepLoss):
        return out
    if not isinstance(out, Tensor):
        raise TypeError(f"the loss must return a scalar torch.Tensor or a StepLoss, got {type(out).__name__} "
                        f"at step {step}")
    if out.dim() != 0:
        raise ValueError(f"the loss must return a scalar (0-d) tensor, got shape {tuple(out.shape)} at step {step}; "
                         "reduce it, e.g. with .mean()")
    return StepLoss(out, float(out.detach()))


def _grad_norm_and_clip(params: Sequence[Tensor], clip: float | None) -> float:
    grads = [p for p in params if p.grad is not None]
    if not grads:
        return 0.0
    # max_norm=inf scales every gradient by exactly 1.0: the norm is recorded, nothing is clipped
    return float(torch.nn.utils.clip_grad_norm_(grads, max_norm=clip if clip is not None else math.inf))


def _one_step(state: TrainState, loss: Callable[..., Any], params: Sequence[Tensor], clip: float | None) -> None:
    opt, step = state.optimizer, state.step
    opt.zero_grad(set_to_none=True)
    out = _as_step_loss(loss(state.model, state), step)
    if not math.isfinite(out.value):
        hint = loss.nonfinite_hint() if hasattr(loss, "nonfinite_hint") else \
            "Try a smaller lr, stronger clip_grad, or check the data scale."
        raise nonfinite_error(getattr(loss, "name", "training loss"), step, out.value, hint)
    out.objective.backward()
    gn = _grad_norm_and_clip(params, clip)
    if not math.isfinite(gn):
        opt.zero_grad(set_to_none=True)
        raise nonfinite_error("gradient norm", step, gn, getattr(
            loss, "grad_hint", "Try a smaller lr or check the data scale."))
    opt.step()
    state.loss, state.grad_norm = out.value, gn
    h = state.history
    h.step.append(step)
    h.loss.append(out.value)
    h.grad_norm.append(gn)
    h.lr.append(state.lr)
    h.time_s.append(time.perf_counter() - state.started)
    for key, value in out.record.items():
        h.record(key, value)


def train(model: nn.Module, loss: Callable[..., Any], *, steps: int, optimizer: torch.optim.Optimizer,
          hooks: Sequence[Hook] = (), clip_grad: float | None = None, seed: int | None = 0,
          history: History | None = None, start_step: int = 0, rng_state: Tensor | None = None) -> TrainState:
    """Run optimisation steps ``start_step + 1 … steps`` of ``loss`` on ``model`` (see the module docstring).

    Args:
        model: the module to train (in place).
        loss: ``loss(model, state) -> Tensor | StepLoss``, called once per step. Optional
            attributes used in messages: ``name`` (``"training loss"``), ``nonfinite_hint()``.
        steps: the last step of the run (``steps - start_step`` steps are taken).
        optimizer: a ``torch.optim.Optimizer`` over the model's parameters.
        hooks: :class:`~flowkit.train.hooks.Hook` s, called in order at every event.
        clip_grad: maximum total gradient norm (``None``: no clipping; the norm is still recorded).
        seed: seed of the model-randomness fork (:func:`flowkit.rng.seeded`); ``None``: no fork.
        history: a :class:`~flowkit.train.history.History` to append to (default a new one).
        start_step, rng_state: resume after step ``start_step`` with the forked global RNG set to
            ``rng_state`` (what ``torch.get_rng_state()`` returned inside a previous run).

    Returns:
        the final :class:`TrainState` (``state.history`` holds the record).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([3.0]))
        >>> m = torch.nn.ParameterList([w])
        >>> s = train(m, lambda model, st: (w ** 2).sum(), steps=100, optimizer=torch.optim.SGD([w], lr=0.1))
        >>> round(float(w.detach()), 6), len(s.history)
        (0.0, 100)
    """
    steps = positive_int(steps, "steps", "train", minimum=0)
    start_step = nonneg_int(start_step, "start_step", "train")
    clip = None if clip_grad is None else finite_real(clip_grad, "clip_grad", "train", low=0.0, low_open=True)
    if not callable(loss):
        raise TypeError(f"train: loss must be callable (model, state) -> Tensor, got {type(loss).__name__}")
    state = TrainState(model, optimizer, steps, start_step, history if history is not None else History(),
                       seed, model_device(model))
    params = [p for g in optimizer.param_groups for p in g["params"]]
    try:
        with _training_mode(model), seeded(seed, state.device):
            if rng_state is not None:
                torch.set_rng_state(rng_state)
            _run(state, loss, params, clip, hooks)
    finally:
        for hook in hooks:
            hook.close(state)
    return state


def _run(state: TrainState, loss: Callable[..., Any], params: Sequence[Tensor], clip: float | None,
         hooks: Sequence[Hook]) -> None:
    for hook in hooks:
        hook.on_start(state)
    while not state.stop and state.step < state.total_steps:
        state.step += 1
        for hook in hooks:
            hook.before_step(state)
        _one_step(state, loss, params, clip)
        for hook in hooks:
            hook.after_step(state)
    for hook in hooks:
        hook.on_end(state)


def __getattr__(name: str) -> Any:
    # the 0.2.0 layout had fit/fit_reverse_kl and the progress switch here
    if name in ("fit", "fit_reverse_kl"):
        from . import fit as _fit

        return getattr(_fit, name)
    if name == "_progress_enabled":
        from .progress import progress_enabled

        return progress_enabled
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
