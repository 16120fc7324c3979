r"""The two ways to fit a flow: :func:`fit` (maximum likelihood) and :func:`fit_reverse_kl` (reverse KL).

Both are thin wirings of the one loop (:func:`flowkit.train.loop.train`): they check their
arguments, build a loss (:class:`~flowkit.train.losses.MaximumLikelihood` or
:class:`~flowkit.train.losses.ReverseKL`) and hooks (validation, progress bar), and return the
:class:`~flowkit.train.history.History`. The objectives, with their formulas, are described in
:mod:`flowkit.train.losses`.

Reproducibility: mini-batches and Monte-Carlo samples come from a local ``torch.Generator``
seeded with ``seed``; any other randomness inside the model (e.g. dropout) runs under a forked,
seeded copy of torch's global RNG (:func:`flowkit.rng.seeded`). So the same seed and the same
initial parameters give the same numbers, and the caller's global RNG state is left untouched.

Example:
    >>> import flowkit as fk
    >>> flow = fk.Flow(fk.AffineCoupling(2), fk.StandardNormal(2))
    >>> history = fk.fit(flow, fk.data.two_moons(512, seed=0), steps=20, progress=False)
    >>> len(history), history.objective
    (20, 'nll')
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ..validation import (finite_real, flow_module, module_dtype, nonneg_int, positive_int, seed_or_none,
                          validate_batch, validate_context, validate_int_images)
from .history import History
from .hooks import Progress, Validation
from .loop import make_optimizer, model_device, train
from .losses import MaximumLikelihood, ReverseKL
from .progress import progress_enabled

__all__ = ["fit", "fit_reverse_kl"]

Optimizer = torch.optim.Optimizer | Callable[..., torch.optim.Optimizer] | None


def _check_data(flow: nn.Module, data: object, name: str, context: object, context_name: str) -> None:
    """Validate ``data`` (integer images for an ImageFlow, else floating rows) and its ``context`` rows."""
    from ..image import ImageFlow

    shape, dtype = getattr(flow, "event_shape", None), module_dtype(flow)
    images = isinstance(flow, ImageFlow) and isinstance(data, Tensor) and not data.is_floating_point()
    if images:
        validate_int_images(data, shape, flow.n_bins, name=name, where="fit")  # type: ignore[arg-type]
    else:
        validate_batch(data, shape, name=name, where="fit", dtype=dtype)
    if context is not None:
        validate_context(context, data.shape[0], where=f"fit ({context_name})", dtype=dtype)  # type: ignore[union-attr]


def _total_steps(n: int, steps: object, epochs: object, batch_size: object) -> tuple[int, int]:
    """``(total steps, batch size)`` from ``steps`` or ``epochs`` (neither: 1000 steps)."""
    if steps is not None and epochs is not None:
        raise ValueError(f"fit: give exactly one of steps or epochs, got steps={steps!r} and epochs={epochs!r}")
    bs = positive_int(batch_size, "batch_size", "fit")
    if epochs is not None:
        return positive_int(epochs, "epochs", "fit") * math.ceil(n / min(bs, n)), bs
    return positive_int(1000 if steps is None else steps, "steps", "fit"), bs


def _clip(clip_grad: object, where: str) -> float | None:
    return None if clip_grad is None else finite_real(clip_grad, "clip_grad", where, low=0.0, low_open=True)


def _mean_nll_metric(data: Tensor, context: Tensor | None) -> Callable[[nn.Module], float]:
    from ..metrics.likelihood import nll

    return lambda model: float(nll(model, data, context, seed=0))  # type: ignore[arg-type]


def fit(flow: nn.Module, data: Tensor, context: Tensor | None = None, *, steps: int | None = None,
        epochs: int | None = None, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
        clip_grad: float | None = 5.0, val_data: Tensor | None = None, val_context: Tensor | None = None,
        val_every: int | None = None, seed: int = 0, progress: bool | None = None,
        optimizer: Optimizer = None) -> History:
    r"""Fit ``flow`` to ``data`` by maximum likelihood (mini-batch mean of :math:`-\log p_\theta(x\mid c)`).

    Minimises :math:`-\frac{1}{|B|}\sum_{x\in B}\log p_\theta(x)`, with
    :math:`\log p_\theta(x) = \log p_z(f^{-1}(x)) + \log|\det\partial f^{-1}/\partial x|`, whose
    expectation is :math:`\mathrm{KL}(p_\text{data}\|p_\theta)` plus the data entropy (Dinh et
    al., 2017; Papamakarios et al., 2021, §2.3.1). For an :class:`~flowkit.image.ImageFlow` and
    integer images the term is the dequantized bound :meth:`~flowkit.image.ImageFlow.nll`.

    Args:
        flow: a :class:`~flowkit.Flow` (any ``nn.Module`` with ``log_prob``), updated in place;
            or an :class:`~flowkit.image.ImageFlow` with integer ``data``.
        data: floating tensor ``(N, *flow.event_shape)``, or integer images with values in
            ``0..n_bins-1`` for an ImageFlow (batches are moved to the flow's device).
        context: for a conditional flow :math:`p(x\mid c)`, one context row per data row.
        steps: optimisation steps. Give at most one of ``steps`` / ``epochs``; neither: 1000 steps.
        epochs: passes over ``data`` (``ceil(N / batch_size)`` steps each).
        batch_size: mini-batch size (capped at ``N``); a fresh permutation each epoch, the last
            batch of an epoch may be smaller.
        lr, weight_decay: Adam's learning rate and L2 penalty.
        clip_grad: maximum total gradient norm (``None``: no clipping). The norm before clipping
            is recorded.
        val_data, val_context: held-out data (and contexts); its mean NLL (images: the bound with
            noise seeded 0, the same at every evaluation) is computed without gradients in eval
            mode before training (step 0), every ``val_every`` steps (default: about 20
            evaluations) and at the end.
        seed: seeds the data order, the dequantization noise and (forked) model randomness such
            as dropout: same seed + same initial parameters → same numbers.
        progress: tqdm bar (``None``: automatic, see :mod:`flowkit.train.progress`).
        optimizer: ``None`` for Adam(lr, weight_decay), an optimizer (then ``lr``/``weight_decay``
            are ignored), or a callable ``params -> Optimizer``.

    Returns a :class:`~flowkit.train.history.History` (per-step ``loss``, ``grad_norm``, ``lr``,
    ``time_s``; ``val_step`` / ``val_nll``). Raises ``TypeError``/``ValueError`` for invalid
    arguments (naming the argument and the value) and ``FloatingPointError`` when the loss, the
    gradient norm or the validation NLL becomes NaN/inf (with the step and the value; the flow
    keeps the parameters from before that step).

    Example:
        >>> import torch, flowkit as fk
        >>> flow = fk.Flow(fk.AffineCoupling(2, hidden=(16,)), fk.StandardNormal(2))
        >>> x = fk.data.two_moons(1000, seed=0)
        >>> h = fk.fit(flow, x[:800], steps=100, val_data=x[800:], val_every=50, progress=False)
        >>> h.val_step, h.val_nll[-1] < h.val_nll[0]
        ([0, 50, 100], True)
    """
    flow = flow_module(flow, "fit", trainable=True)
    _check_data(flow, data, "data", context, "context")
    if val_data is not None:
        _check_data(flow, val_data, "val_data", val_context, "val_context")
    elif val_context is not None:
        raise ValueError("fit: val_context needs val_data")
    total, batch_size = _total_steps(int(data.shape[0]), steps, epochs, batch_size)
    lr = finite_real(lr, "lr", "fit", low=0.0, low_open=True)
    weight_decay = finite_real(weight_decay, "weight_decay", "fit", low=0.0)
    clip = _clip(clip_grad, "fit")
    val_every = max(1, total // 20) if val_every is None else positive_int(val_every, "val_every", "fit")
    seed = seed_or_none(seed, "fit", allow_none=False)
    hooks = []
    if val_data is not None:
        hooks.append(Validation(_mean_nll_metric(val_data, val_context), every=val_every, at_start=True,
                                name="validation NLL",
                                hint="Some validation points get zero density (log p = -inf) or NaN."))
    hooks.append(Progress(progress_enabled(progress), "fit (NLL)"))
    opt = make_optimizer(flow, optimizer, lr, weight_decay, "fit")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    loss = MaximumLikelihood(data, context, batch_size=batch_size, generator=gen)
    state = train(flow, loss, steps=total, optimizer=opt, hooks=hooks, clip_grad=clip, seed=seed,
                  history=History(objective="nll", seed=seed))
    return state.history


def fit_reverse_kl(flow: nn.Module, log_density: Callable[[Tensor], Tensor], *, steps: int = 2000,
                   batch_size: int = 256, lr: float = 1e-3, clip_grad: float | None = 5.0, anneal_steps: int = 0,
                   beta0: float = 0.01, seed: int = 0, progress: bool | None = None, optimizer: Optimizer = None,
                   log_normalizer: float | None = None) -> History:
    r"""Fit ``flow`` to an unnormalised density by minimising the reverse KL (variational inference).

    Each step minimises the Monte-Carlo estimate over ``batch_size`` reparameterised samples
    :math:`x = f_\theta(z)` of
    :math:`\mathcal F_t(\theta) = \mathbb E_{q_\theta}[\log q_\theta(x) - \beta_t\log\tilde p(x)]`,
    with :math:`\beta_t` rising linearly from ``beta0`` to 1 over ``anneal_steps`` steps (Rezende &
    Mohamed, 2015); at β = 1 it is :math:`\mathrm{KL}(q_\theta\|p) - \log Z` (= −ELBO).

    Args:
        flow: a :class:`~flowkit.Flow` (anything with ``sample_and_log_prob(n, generator=)``).
        log_density: callable ``(batch, *event_shape) → (batch,)`` returning :math:`\log\tilde p(x)`,
            differentiable in ``x`` (e.g. ``lambda x: -U1(x)``).
        steps, batch_size, lr, clip_grad, optimizer, progress: as in :func:`fit`.
        anneal_steps: length of the linear β-annealing phase (0: none). beta0: initial β in (0, 1].
        seed: seeds the base samples (and, forked, other model randomness).
        log_normalizer: :math:`\log Z` if known; the true KL = loss + log Z is then recorded in
            ``History.kl``.

    Returns a :class:`~flowkit.train.history.History` whose ``loss`` is the β = 1 estimate of
    :math:`\mathbb E_q[\log q - \log\tilde p]` at every step (``beta`` holds β_t). Raises
    ``TypeError``/``ValueError`` for invalid arguments or a ``log_density`` of the wrong shape, and
    ``FloatingPointError`` when ``log q``, ``log p̃``, the loss or the gradient norm becomes NaN/inf
    (with the step, the value and which term; the flow keeps its pre-step parameters).

    Example:
        >>> import torch, flowkit as fk
        >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
        >>> target = lambda x: -0.5 * (((x - 2.0) / 0.5) ** 2).sum(1)    # N(2, 0.5²), unnormalised
        >>> h = fk.fit_reverse_kl(flow, target, steps=300, lr=0.05, progress=False)
        >>> torch.allclose(flow.sample(4000).mean(0), torch.tensor([2.0, 2.0]), atol=0.1)
        True
    """
    flow = flow_module(flow, "fit_reverse_kl", needs="sample_and_log_prob", trainable=True)
    if not callable(log_density):
        raise TypeError(f"fit_reverse_kl: log_density must be a callable x -> log p~(x), "
                        f"got {type(log_density).__name__}")
    steps = positive_int(steps, "steps", "fit_reverse_kl")
    batch_size = positive_int(batch_size, "batch_size", "fit_reverse_kl")
    lr = finite_real(lr, "lr", "fit_reverse_kl", low=0.0, low_open=True)
    clip = _clip(clip_grad, "fit_reverse_kl")
    anneal_steps = nonneg_int(anneal_steps, "anneal_steps", "fit_reverse_kl")
    beta0 = finite_real(beta0, "beta0", "fit_reverse_kl", low=0.0, high=1.0, low_open=True)
    seed = seed_or_none(seed, "fit_reverse_kl", allow_none=False)
    if log_normalizer is not None:
        log_normalizer = finite_real(log_normalizer, "log_normalizer", "fit_reverse_kl")
    hooks = [Progress(progress_enabled(progress), "fit (reverse KL)")]
    opt = make_optimizer(flow, optimizer, lr, 0.0, "fit_reverse_kl")
    gen = torch.Generator(device=model_device(flow)).manual_seed(seed)
    loss = ReverseKL(log_density, batch_size=batch_size, generator=gen, anneal_steps=anneal_steps, beta0=beta0,
                     log_normalizer=log_normalizer)
    state = train(flow, loss, steps=steps, optimizer=opt, hooks=hooks, clip_grad=clip, seed=seed,
                  history=History(objective="reverse_kl", seed=seed, log_normalizer=log_normalizer))
    return state.history
