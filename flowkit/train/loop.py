r"""Training loops for flows: maximum likelihood (:func:`fit`) and reverse KL (:func:`fit_reverse_kl`).

Two objectives
--------------
**Maximum likelihood** (density estimation, "forward KL"). Given data
:math:`x_1,\dots,x_N \sim p_\text{data}`, minimise the mean negative log-likelihood

.. math:: \mathcal L(\theta) = -\frac1N \sum_{i=1}^N \log p_\theta(x_i)
          = \mathrm{KL}(p_\text{data}\,\|\,p_\theta) + H(p_\text{data}),

estimated on shuffled mini-batches. This needs the flow's *inverse* (normalizing)
direction, ``flow.log_prob(x)``.

**Reverse KL** (variational inference). Given only an unnormalised target
:math:`\tilde p(x) = Z\,p(x)` (``log_density`` returns :math:`\log\tilde p`), minimise

.. math:: \mathrm{KL}(q_\theta\,\|\,p) = \mathbb E_{x\sim q_\theta}[\log q_\theta(x) - \log\tilde p(x)] + \log Z,

estimated with reparameterised samples ``x = f(z)``, ``z ~ base`` (``flow.sample_and_log_prob``);
this needs only the *forward* (generative) direction. :math:`\log Z` does not depend on
:math:`\theta`, so the recorded loss is the KL up to that constant (minus the ELBO).

Reproducibility
---------------
Mini-batches and Monte-Carlo samples come from a local ``torch.Generator`` seeded with
``seed``; any other randomness inside the model (e.g. dropout) runs under a forked,
seeded copy of torch's global RNG, whose state is restored afterwards. So **the same
seed and the same initial parameters give the same numbers** (on the same machine and
torch version), and calling :func:`fit` never changes the caller's global RNG state.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from ..validation import module_dtype, validate_batch, validate_context
from .history import History

__all__ = ["History", "fit", "fit_reverse_kl"]

_EVAL_CHUNK = 8192


# ----------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------
def _check_pos_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def _check_nonneg_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 0, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value}")
    return value


def _check_real(value: object, name: str, *, positive: bool = False, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not (v > 0 or (allow_zero and v == 0)):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def _check_clip(clip_grad: object) -> float | None:
    if clip_grad is None:
        return None
    v = _check_real(clip_grad, "clip_grad", positive=True, allow_zero=False)
    return v


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    return seed


def _check_flow(flow: object, needs: str) -> nn.Module:
    if not isinstance(flow, nn.Module):
        raise TypeError(f"flow must be a torch.nn.Module (e.g. a flowkit.Flow), got {type(flow).__name__}")
    if not callable(getattr(flow, needs, None)):
        raise TypeError(f"flow must have a {needs}(...) method (e.g. a flowkit.Flow), got {type(flow).__name__}")
    if not any(p.requires_grad for p in flow.parameters()):
        raise ValueError("flow has no trainable parameters (nothing to fit)")
    return flow


def _flow_device(flow: nn.Module) -> torch.device:
    for p in flow.parameters():
        return p.device
    return torch.device("cpu")


def _make_optimizer(flow: nn.Module, optimizer: object, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    params = [p for p in flow.parameters() if p.requires_grad]
    if optimizer is None:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt
    raise TypeError(
        "optimizer must be None (Adam), a torch.optim.Optimizer, or a callable params -> Optimizer, "
        f"got {type(optimizer).__name__}"
    )


# ----------------------------------------------------------------------------------------
# progress bars and RNG
# ----------------------------------------------------------------------------------------
def _in_jupyter_kernel() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except Exception:  # pragma: no cover - IPython missing
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def _progress_enabled(progress: bool | None) -> bool:
    """``progress=None`` → on in a Jupyter kernel or an interactive terminal, off under pytest/CI.

    The environment variable ``FLOWKIT_PROGRESS`` (``0``/``1``) overrides the automatic choice.
    """
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {type(progress).__name__}")
        return progress
    env = os.environ.get("FLOWKIT_PROGRESS", "").strip().lower()
    if env in {"0", "false", "no", "off"}:
        return False
    if env in {"1", "true", "yes", "on"}:
        return True
    if "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("CI"):
        return False
    if _in_jupyter_kernel():
        return True
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except Exception:  # pragma: no cover - unusual streams
        return False


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _make_bar(enabled: bool, total: int, desc: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)


@contextlib.contextmanager
def _seeded_global_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG inside the block only, restoring the caller's state afterwards.

    The data order and base samples use local generators; this only makes any *other*
    randomness in the model (dropout, …) reproducible.
    """
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _training_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.train()
    try:
        yield
    finally:
        module.train(was_training)


def _nonfinite(what: str, step: int, value: float, hint: str) -> FloatingPointError:
    return FloatingPointError(
        f"{what} became non-finite ({value}) at step {step}; stopping instead of training on NaN/inf. "
        f"The flow holds the parameters from before this step. {hint}"
    )


# ----------------------------------------------------------------------------------------
# maximum likelihood
# ----------------------------------------------------------------------------------------
@torch.no_grad()
def _mean_nll(flow: nn.Module, data: Tensor, device: torch.device, context: Tensor | None = None) -> float:
    was_training = flow.training
    flow.eval()
    try:
        total = 0.0
        for i in range(0, data.shape[0], _EVAL_CHUNK):
            xb = data[i:i + _EVAL_CHUNK].to(device)
            cb = None if context is None else context[i:i + _EVAL_CHUNK].to(device)
            total += float(-flow.log_prob(xb, cb).double().sum())
        return total / data.shape[0]
    finally:
        flow.train(was_training)


def fit(
    flow: nn.Module,
    data: Tensor,
    context: Tensor | None = None,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    clip_grad: float | None = 5.0,
    val_data: Tensor | None = None,
    val_context: Tensor | None = None,
    val_every: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    optimizer: torch.optim.Optimizer | Callable[..., torch.optim.Optimizer] | None = None,
) -> History:
    r"""Fit ``flow`` to ``data`` by maximum likelihood.

    Minimises the mini-batch estimate of the mean negative log-likelihood

    .. math:: \mathcal L(\theta) = -\frac{1}{|B|}\sum_{x\in B} \log p_\theta(x),
              \qquad \log p_\theta(x) = \log p_z(f^{-1}(x)) + \log\left|\det\frac{\partial f^{-1}}{\partial x}\right|,

    whose expectation is :math:`\mathrm{KL}(p_\text{data}\|p_\theta)` plus the (constant)
    entropy of the data. Lower is better; the NLL of ``N(0, I)`` on the data is a useful
    baseline.

    Args:
        flow: a :class:`~flowkit.Flow` (any ``nn.Module`` with ``log_prob``), updated in place.
        data: floating tensor ``(N, *flow.event_shape)`` (stays on its device; batches
            are moved to the flow's device).
        context: for a conditional flow :math:`p(x\mid c)`, the context of each data row,
            ``(N, ...)``; the loss is then :math:`-\log p(x\mid c)`.
        steps: number of optimisation steps. Give exactly one of ``steps`` / ``epochs``;
            with neither, ``steps=1000``.
        epochs: number of passes over ``data`` (``ceil(N / batch_size)`` steps each).
        batch_size: mini-batch size (capped at ``N``); batches are drawn without
            replacement from a fresh permutation each epoch (the last batch of an
            epoch may be smaller).
        lr: Adam learning rate. weight_decay: Adam's L2 penalty.
        clip_grad: maximum total gradient norm (``torch.nn.utils.clip_grad_norm_``);
            ``None`` disables clipping. The norm before clipping is recorded.
        val_context: the context rows of ``val_data`` (conditional flows).
        val_data: optional held-out data; its mean NLL is computed under
            ``torch.no_grad()`` in eval mode before training (step 0), every
            ``val_every`` steps (default: about 20 evaluations per run) and at the end.
        seed: seeds the local generator for the data order (and, in a forked RNG, any
            model randomness such as dropout). Same seed + same initial parameters →
            same history and parameters; the caller's global RNG is left untouched.
        progress: show a tqdm bar with the current loss. ``None``: automatic — on in a
            Jupyter kernel or interactive terminal, off under pytest/CI or with the
            environment variable ``FLOWKIT_PROGRESS=0``.
        optimizer: ``None`` for Adam(lr, weight_decay), an optimizer instance (then
            ``lr``/``weight_decay`` are ignored), or a callable ``params -> Optimizer``.

    Returns:
        a :class:`History` with per-step ``loss``, ``grad_norm``, ``lr``, ``time_s`` and the
        validation curve ``val_step`` / ``val_nll``.

    Raises:
        TypeError / ValueError: for invalid arguments (the message names the argument).
        FloatingPointError: when the training loss, the gradient norm or the validation
            NLL becomes NaN/inf (the message gives the step and the value); the flow keeps
            the parameters from before the offending step and its train/eval mode.
    """
    flow = _check_flow(flow, "log_prob")
    event_shape = getattr(flow, "event_shape", None)
    dtype = module_dtype(flow)
    validate_batch(data, event_shape, name="data", where="fit", dtype=dtype)
    if val_data is not None:
        validate_batch(val_data, event_shape, name="val_data", where="fit", dtype=dtype)
    if context is not None:
        validate_context(context, data.shape[0], where="fit", dtype=dtype)
    if val_context is not None:
        if val_data is None:
            raise ValueError("fit: val_context needs val_data")
        validate_context(val_context, val_data.shape[0], where="fit (val_context)", dtype=dtype)
    if steps is not None and epochs is not None:
        raise ValueError(f"give exactly one of steps or epochs, got steps={steps!r} and epochs={epochs!r}")
    batch_size = _check_pos_int(batch_size, "batch_size")
    n = int(data.shape[0])
    bs = min(batch_size, n)
    per_epoch = math.ceil(n / bs)
    if epochs is not None:
        total_steps = _check_pos_int(epochs, "epochs") * per_epoch
    else:
        total_steps = _check_pos_int(1000 if steps is None else steps, "steps")
    lr = _check_real(lr, "lr", positive=True, allow_zero=False)
    weight_decay = _check_real(weight_decay, "weight_decay", positive=True)
    clip = _check_clip(clip_grad)
    if val_every is None:
        val_every = max(1, total_steps // 20)
    else:
        val_every = _check_pos_int(val_every, "val_every")
    seed = _check_seed(seed)
    show = _progress_enabled(progress)
    opt = _make_optimizer(flow, optimizer, lr, weight_decay)
    params = [p for g in opt.param_groups for p in g["params"]]
    device = _flow_device(flow)

    hist = History(objective="nll", seed=seed)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    data_device = data.device

    def batches() -> Iterator[Tensor]:
        while True:
            perm = torch.randperm(n, generator=gen).to(data_device)
            for i in range(0, n, bs):
                yield perm[i:i + bs]

    def validate(step: int) -> None:
        assert val_data is not None
        v = _mean_nll(flow, val_data, device, val_context)
        if not math.isfinite(v):
            raise _nonfinite("validation NLL", step, v,
                             "Some validation points get zero density (log p = -inf) or NaN.")
        hist.val_step.append(step)
        hist.val_nll.append(v)

    bar = _make_bar(show, total_steps, "fit (NLL)")
    t0 = time.perf_counter()
    try:
        with _training_mode(flow), _seeded_global_rng(seed, device):
            if val_data is not None:
                validate(0)
            it = batches()
            for step in range(1, total_steps + 1):
                idx = next(it)
                xb = data[idx].to(device)
                cb = None if context is None else context[idx].to(device)
                opt.zero_grad(set_to_none=True)
                loss = -flow.log_prob(xb, cb).mean()
                lv = float(loss.detach())
                if not math.isfinite(lv):
                    raise _nonfinite("training loss (mean NLL)", step, lv,
                                     "Try a smaller lr, stronger clip_grad, or check the data scale.")
                loss.backward()
                gn = _grad_norm_and_clip(params, clip)
                if not math.isfinite(gn):
                    opt.zero_grad(set_to_none=True)
                    raise _nonfinite("gradient norm", step, gn, "Try a smaller lr or check the data scale.")
                opt.step()
                hist.step.append(step)
                hist.loss.append(lv)
                hist.grad_norm.append(gn)
                hist.lr.append(float(opt.param_groups[0]["lr"]))
                hist.time_s.append(time.perf_counter() - t0)
                if val_data is not None and (step % val_every == 0 or step == total_steps):
                    validate(step)
                bar.update(1)
                if step % 10 == 0 or step == total_steps:
                    post = {"loss": f"{lv:.3f}"}
                    if hist.val_nll:
                        post["val"] = f"{hist.val_nll[-1]:.3f}"
                    bar.set_postfix(post, refresh=False)
    finally:
        bar.close()
    return hist


def _grad_norm_and_clip(params: list[Tensor], clip: float | None) -> float:
    grads = [p for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.nn.utils.clip_grad_norm_(grads, max_norm=clip if clip is not None else math.inf)
    return float(norm)


# ----------------------------------------------------------------------------------------
# reverse KL
# ----------------------------------------------------------------------------------------
def fit_reverse_kl(
    flow: nn.Module,
    log_density: Callable[[Tensor], Tensor],
    *,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-3,
    clip_grad: float | None = 5.0,
    anneal_steps: int = 0,
    beta0: float = 0.01,
    seed: int = 0,
    progress: bool | None = None,
    optimizer: torch.optim.Optimizer | Callable[..., torch.optim.Optimizer] | None = None,
    log_normalizer: float | None = None,
) -> History:
    r"""Fit ``flow`` to an unnormalised density by minimising the reverse KL (variational inference).

    With :math:`\log\tilde p` = ``log_density`` (:math:`\tilde p = Z p`), each step minimises
    the Monte-Carlo estimate over ``batch_size`` reparameterised samples
    :math:`x = f_\theta(z)`, :math:`z \sim p_z`,

    .. math:: \mathcal F_t(\theta) = \mathbb E_{q_\theta}\big[\log q_\theta(x) - \beta_t \log\tilde p(x)\big],

    with :math:`\beta_t` rising linearly from ``beta0`` to 1 over the first ``anneal_steps``
    steps (then 1), as in Rezende & Mohamed (2015); ``anneal_steps=0`` means β = 1
    throughout. At β = 1,
    :math:`\mathcal F = \mathrm{KL}(q_\theta\|p) - \log Z` (= −ELBO).

    Args:
        flow: a :class:`~flowkit.Flow` (anything with ``sample_and_log_prob(n, generator=)``).
        log_density: callable ``(batch, *event_shape) → (batch,)`` returning
            :math:`\log\tilde p(x)`, differentiable in ``x`` (e.g. ``lambda x: -U1(x)``).
        steps, batch_size, lr, clip_grad, optimizer, progress: as in :func:`fit`.
        anneal_steps: length of the linear β-annealing phase (0: none).
        beta0: initial β, in (0, 1].
        seed: seeds the local generator of the base samples (and, in a forked RNG, any
            other model randomness); same seed + same init → same numbers.
        log_normalizer: :math:`\log Z` if known; then the true KL = loss + log Z is
            recorded in ``History.kl`` as well.

    Returns:
        a :class:`History` whose ``loss`` is the β = 1 estimate of
        :math:`\mathbb E_q[\log q - \log\tilde p]` (the reverse KL up to :math:`\log Z`)
        at every step, even while annealing (the optimised objective then uses β_t,
        recorded in ``History.beta``).

    Raises:
        TypeError / ValueError: for invalid arguments, or a ``log_density`` returning the
            wrong shape.
        FloatingPointError: when ``log q``, ``log p̃``, the loss or the gradient norm becomes
            NaN/inf (with the step and the value); the flow keeps the parameters from
            before that step.
    """
    flow = _check_flow(flow, "sample_and_log_prob")
    if not callable(log_density):
        raise TypeError(f"log_density must be a callable x -> log p~(x), got {type(log_density).__name__}")
    steps = _check_pos_int(steps, "steps")
    batch_size = _check_pos_int(batch_size, "batch_size")
    lr = _check_real(lr, "lr", positive=True, allow_zero=False)
    clip = _check_clip(clip_grad)
    anneal_steps = _check_nonneg_int(anneal_steps, "anneal_steps")
    beta0 = _check_real(beta0, "beta0")
    if not 0.0 < beta0 <= 1.0:
        raise ValueError(f"beta0 must be in (0, 1], got {beta0!r}")
    seed = _check_seed(seed)
    if log_normalizer is not None:
        log_normalizer = _check_real(log_normalizer, "log_normalizer")
    show = _progress_enabled(progress)
    opt = _make_optimizer(flow, optimizer, lr, 0.0)
    params = [p for g in opt.param_groups for p in g["params"]]
    device = _flow_device(flow)

    hist = History(objective="reverse_kl", seed=seed, log_normalizer=log_normalizer)
    gen = torch.Generator(device=device).manual_seed(seed)
    bar = _make_bar(show, steps, "fit (reverse KL)")
    t0 = time.perf_counter()
    try:
        with _training_mode(flow), _seeded_global_rng(seed, device):
            for step in range(1, steps + 1):
                beta = 1.0 if step > anneal_steps else beta0 + (1.0 - beta0) * (step - 1) / anneal_steps
                opt.zero_grad(set_to_none=True)
                x, log_q = flow.sample_and_log_prob(batch_size, generator=gen)
                log_p = log_density(x)
                if not isinstance(log_p, Tensor):
                    raise TypeError(f"log_density must return a torch.Tensor, got {type(log_p).__name__}")
                if tuple(log_p.shape) != (batch_size,):
                    raise ValueError(
                        f"log_density must map a batch of shape {tuple(x.shape)} to shape ({batch_size},), "
                        f"got {tuple(log_p.shape)}"
                    )
                kl_part = (log_q - log_p).mean()
                lv = float(kl_part.detach())
                if not math.isfinite(lv):
                    bad_p = int((~torch.isfinite(log_p.detach())).sum())
                    bad_q = int((~torch.isfinite(log_q.detach())).sum())
                    detail = (f"log_density(x) is NaN/inf for {bad_p} of {batch_size} samples"
                              if bad_p else f"log q(x) is NaN/inf for {bad_q} of {batch_size} samples")
                    raise _nonfinite(
                        "reverse-KL loss", step, lv,
                        f"Cause: {detail}. Check that log_density is finite wherever the flow puts "
                        "samples, or lower lr.",
                    )
                objective = kl_part if beta == 1.0 else (log_q - beta * log_p).mean()
                objective.backward()
                gn = _grad_norm_and_clip(params, clip)
                if not math.isfinite(gn):
                    opt.zero_grad(set_to_none=True)
                    raise _nonfinite("gradient norm", step, gn,
                                     "Check that log_density has finite gradients, or lower lr.")
                opt.step()
                hist.step.append(step)
                hist.loss.append(lv)
                hist.beta.append(beta)
                hist.grad_norm.append(gn)
                hist.lr.append(float(opt.param_groups[0]["lr"]))
                hist.time_s.append(time.perf_counter() - t0)
                if log_normalizer is not None:
                    hist.kl.append(lv + log_normalizer)
                bar.update(1)
                if step % 10 == 0 or step == steps:
                    post = {"loss": f"{lv:.3f}"}
                    if beta != 1.0:
                        post["beta"] = f"{beta:.2f}"
                    if log_normalizer is not None:
                        post["KL"] = f"{lv + log_normalizer:.3f}"
                    bar.set_postfix(post, refresh=False)
    finally:
        bar.close()
    return hist
