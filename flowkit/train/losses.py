r"""Losses for the training loop: maximum likelihood on data, reverse KL to an unnormalised density.

A loss is any callable ``loss(model, state)`` that returns the scalar to minimise for one step
(:func:`flowkit.train.loop.train` calls it once per step). It may return a tensor, or a
:class:`StepLoss` to differentiate one thing and record another (reverse KL records the β = 1
value while it optimises the annealed one).

**Maximum likelihood** (:class:`MaximumLikelihood`, density estimation, "forward KL"). Given
data :math:`x_1,\dots,x_N \sim p_\text{data}` (and contexts :math:`c_i` for a conditional flow),
minimise the mini-batch mean negative log-likelihood

.. math:: \mathcal L(\theta) = -\frac{1}{|B|}\sum_{i\in B} \log p_\theta(x_i\mid c_i)
          = \mathrm{KL}(p_\text{data}\,\|\,p_\theta) + H(p_\text{data}) \quad\text{(in expectation)}.

For integer images and an :class:`~flowkit.image.ImageFlow` the per-image term is the
dequantized bound :meth:`~flowkit.image.ImageFlow.nll`, :math:`-\log p(y) + \log q(u\mid x) + D\log K`
(Theis et al., 2016; Ho et al., 2019), with the noise drawn from the loss's generator.

**Reverse KL** (:class:`ReverseKL`, variational inference, Rezende & Mohamed, 2015). Given
only :math:`\log\tilde p` with :math:`\tilde p = Z p`, minimise over reparameterised samples
:math:`x = f_\theta(z)`, :math:`z\sim p_z`,

.. math:: \mathcal F_t(\theta) = \mathbb E_{q_\theta}\big[\log q_\theta(x) - \beta_t \log\tilde p(x)\big],

with :math:`\beta_t` rising linearly from :math:`\beta_0` to 1 over the first ``anneal_steps``
steps. At β = 1, :math:`\mathcal F = \mathrm{KL}(q_\theta\|p) - \log Z` (= −ELBO).

Example:
    >>> import torch, flowkit as fk
    >>> from flowkit.train.losses import MaximumLikelihood
    >>> flow = fk.Flow(fk.Affine(2), fk.StandardNormal(2))
    >>> loss = MaximumLikelihood(torch.randn(100, 2), batch_size=10, generator=torch.Generator().manual_seed(0))
    >>> out = loss(flow, None)
    >>> out.objective.shape, out.value == float(out.objective.detach())
    (torch.Size([]), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

__all__ = ["StepLoss", "Batches", "MaximumLikelihood", "ReverseKL"]


@dataclass
class StepLoss:
    """One step's loss: ``objective`` is differentiated, ``value`` recorded (and checked to be finite).

    ``record`` holds extra per-step values appended to the history (e.g. ``{"beta": 0.5}``).

    Example:
        >>> import torch
        >>> StepLoss(torch.tensor(2.0), 2.0).record
        {}
    """

    objective: Tensor
    value: float
    record: dict[str, float] = field(default_factory=dict)


class Batches:
    """Mini-batch indices: a fresh permutation of ``0..n-1`` (from ``generator``) for each pass.

    Batches of ``min(batch_size, n)`` indices are taken in order from the current permutation;
    a new one is drawn when it is used up. ``drop_last=False``: the last batch of a pass may be
    smaller; ``drop_last=True``: a remainder smaller than a full batch is skipped.

    Example:
        >>> import torch
        >>> b = Batches(5, 2, torch.Generator().manual_seed(0))
        >>> [len(b.next()) for _ in range(4)]
        [2, 2, 1, 2]
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator, *, drop_last: bool = False,
                 device: torch.device | str | None = None) -> None:
        self.n, self.size, self.generator, self.drop_last = n, min(batch_size, n), generator, drop_last
        self.device = device
        self.perm: Tensor | None = None
        self.pos = 0

    @property
    def per_epoch(self) -> int:
        """Batches per pass over the data."""
        return self.n // self.size if self.drop_last else math.ceil(self.n / self.size)

    def next(self) -> Tensor:
        """The indices of the next mini-batch."""
        if self.perm is None or self.pos >= self.n or (self.drop_last and self.pos + self.size > self.n):
            perm = torch.randperm(self.n, generator=self.generator)
            self.perm, self.pos = (perm if self.device is None else perm.to(self.device)), 0
        idx = self.perm[self.pos:self.pos + self.size]
        self.pos += self.size
        return idx


def _is_image_model(model: nn.Module, data: Tensor) -> bool:
    from ..image import ImageFlow

    return isinstance(model, ImageFlow) and not data.is_floating_point()


class MaximumLikelihood:
    """Mean negative log-likelihood of a mini-batch of ``data`` (with ``context`` rows, if given).

    A plain flow scores ``-model.log_prob(x, context)``; an :class:`~flowkit.image.ImageFlow` with
    integer images scores ``model.nll(x, generator, context)`` (the dequantized bound, noise from
    ``generator``, which also orders the mini-batches). ``bits_per_dim=True`` records the value in
    bits per dimension (nats / (D ln 2)); the objective stays in nats. ``augment(batch, generator)``,
    if given, transforms each mini-batch first (e.g. :func:`flowkit.data.augment.random_shift`).

    Example:
        >>> import torch, flowkit as fk
        >>> model = fk.image.RealNVP(n_couplings=1, hidden=8, seed=0)
        >>> x = torch.randint(0, 17, (32, 1, 8, 8))
        >>> loss = MaximumLikelihood(x, batch_size=8, generator=torch.Generator().manual_seed(0), bits_per_dim=True)
        >>> 0 < loss(model, None).value < 10
        True
    """

    name = "training loss (mean NLL)"

    def __init__(self, data: Tensor, context: Tensor | None = None, *, batch_size: int,
                 generator: torch.Generator, drop_last: bool = False, bits_per_dim: bool = False,
                 augment: Callable[[Tensor, torch.Generator], Tensor] | None = None) -> None:
        self.data, self.context, self.generator, self.augment = data, context, generator, augment
        self.batches = Batches(int(data.shape[0]), batch_size, generator, drop_last=drop_last, device=data.device)
        self.bits_per_dim = bool(bits_per_dim)

    def __call__(self, model: nn.Module, state: Any) -> StepLoss:
        idx = self.batches.next()
        device = next(model.parameters()).device
        xb = self.data[idx] if self.augment is None else self.augment(self.data[idx], self.generator)
        xb = xb.to(device)
        cb = None if self.context is None else self.context[idx].to(device)
        if _is_image_model(model, xb):
            loss = model.nll(xb, generator=self.generator, context=cb).mean()  # type: ignore[operator]
        else:
            loss = -model.log_prob(xb, cb).mean()  # type: ignore[operator]
        value = float(loss.detach())
        if self.bits_per_dim:
            value /= math.prod(xb.shape[1:]) * math.log(2.0)
        return StepLoss(loss, value)

    def nonfinite_hint(self) -> str:
        return "Try a smaller lr, stronger clip_grad, or check the data scale."


class ReverseKL:
    r"""The annealed reverse-KL objective of ``batch_size`` samples of ``model`` (module docstring).

    Records the β = 1 estimate :math:`\mathbb E_q[\log q - \log\tilde p]` as the value, β as
    ``beta``, and ``value + log_normalizer`` as ``kl`` when :math:`\log Z` is given.

    Example:
        >>> import torch, flowkit as fk
        >>> loss = ReverseKL(lambda x: -0.5 * (x ** 2).sum(1), batch_size=16,
        ...                  generator=torch.Generator().manual_seed(0), anneal_steps=10, beta0=0.1)
        >>> loss.beta(1), loss.beta(11)
        (0.1, 1.0)
    """

    name = "reverse-KL loss"
    grad_hint = "Check that log_density has finite gradients, or lower lr."

    def __init__(self, log_density: Callable[[Tensor], Tensor], *, batch_size: int, generator: torch.Generator,
                 anneal_steps: int = 0, beta0: float = 1.0, log_normalizer: float | None = None) -> None:
        self.log_density, self.batch_size, self.generator = log_density, batch_size, generator
        self.anneal_steps, self.beta0, self.log_normalizer = anneal_steps, beta0, log_normalizer
        self._last: tuple[Tensor, Tensor] | None = None

    def beta(self, step: int) -> float:
        """β at ``step`` (1-based): linear from ``beta0`` to 1 over ``anneal_steps`` steps, then 1."""
        if step > self.anneal_steps:
            return 1.0
        return self.beta0 + (1.0 - self.beta0) * (step - 1) / self.anneal_steps

    def __call__(self, model: nn.Module, state: Any) -> StepLoss:
        beta = self.beta(state.step)
        x, log_q = model.sample_and_log_prob(self.batch_size, generator=self.generator)  # type: ignore[operator]
        log_p = self.log_density(x)
        if not isinstance(log_p, Tensor):
            raise TypeError(f"log_density must return a torch.Tensor, got {type(log_p).__name__}")
        if tuple(log_p.shape) != (self.batch_size,):
            raise ValueError(f"log_density must map a batch of shape {tuple(x.shape)} to shape ({self.batch_size},), "
                             f"got {tuple(log_p.shape)}")
        self._last = (log_p.detach(), log_q.detach())
        kl_part = (log_q - log_p).mean()
        value = float(kl_part.detach())
        objective = kl_part if beta == 1.0 else (log_q - beta * log_p).mean()
        record = {"beta": beta}
        if self.log_normalizer is not None:
            record["kl"] = value + self.log_normalizer
        return StepLoss(objective, value, record)

    def nonfinite_hint(self) -> str:
        """Which of log p̃(x) and log q(x) went NaN/inf, and for how many of the samples."""
        assert self._last is not None
        log_p, log_q = self._last
        bad_p, bad_q = int((~torch.isfinite(log_p)).sum()), int((~torch.isfinite(log_q)).sum())
        n = self.batch_size
        detail = (f"log_density(x) is NaN/inf for {bad_p} of {n} samples" if bad_p
                  else f"log q(x) is NaN/inf for {bad_q} of {n} samples")
        return (f"Cause: {detail}. Check that log_density is finite wherever the flow puts samples, "
                "or lower lr.")
