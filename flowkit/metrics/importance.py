r"""Importance sampling with a flow as the proposal: reweighted averages, free energies, effective sample size.

A flow :math:`q` trained towards an unnormalised target :math:`\tilde p = Z p` (a Boltzmann
distribution :math:`\tilde p(x) = e^{-U(x)}`, a posterior) gives exact samples *and* their exact
density, so every sample gets an importance weight

.. math:: \log w_i = \log\tilde p(x_i) - \log q(x_i), \qquad x_i \sim q,

and expectations under :math:`p` follow by self-normalised importance sampling (Noé, Olsson,
Köhler & Wu, 2019, *Boltzmann generators*, Science 365; Owen, 2013, *Monte Carlo theory,
methods and examples*, ch. 9):

* :func:`importance_mean` — :math:`\langle f\rangle_p \approx \sum_i w_i f(x_i) / \sum_i w_i`;
* :func:`free_energy_difference` — for two regions :math:`A, B` (e.g. two wells),
  :math:`\Delta F = F_B - F_A = -\log(Z_B/Z_A) \approx -\log\frac{\sum_{i\in B} w_i}{\sum_{i\in A} w_i}`
  (in units of :math:`k_BT`);
* :func:`effective_sample_size` — Kish's :math:`\mathrm{ESS} = (\sum_i w_i)^2 / \sum_i w_i^2`, between 1 and
  :math:`N`: the number of independent samples from :math:`p` the weighted sample is worth.

Everything is computed from log-weights with ``logsumexp`` in float64, so weights of any
magnitude (:math:`\log\tilde p` of a molecule is easily :math:`-10^3`) neither overflow nor underflow.
A caveat no formula can fix: importance sampling only reweights regions the proposal
visits; a mode that :math:`q` dropped gets no samples and its contribution is silently missing.
A high ESS does not reveal that.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..validation import as_real_tensor

__all__ = ["effective_sample_size", "importance_mean", "free_energy_difference"]


def _log_weights(log_w: object, where: str) -> Tensor:
    lw = as_real_tensor(log_w, "log_w").detach().double()
    if lw.dim() != 1:
        raise ValueError(f"{where}: log_w must be one-dimensional (one log-weight per sample), got shape {tuple(lw.shape)}")
    return lw


def _region(mask: object, n: int, name: str, where: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"{where}: {name} must be a boolean torch.Tensor (one entry per sample), "
                        f"got {type(mask).__name__}{'' if not isinstance(mask, Tensor) else ' of dtype ' + str(mask.dtype)}")
    if tuple(mask.shape) != (n,):
        raise ValueError(f"{where}: {name} must have shape ({n},) like log_w, got {tuple(mask.shape)}")
    if not bool(mask.any()):
        raise ValueError(f"{where}: no sample falls in region {name}; its free energy cannot be estimated "
                         "(the proposal never visits it — a dropped mode?)")
    return mask


def effective_sample_size(log_w: object) -> float:
    r"""Kish's effective sample size :math:`(\sum_i w_i)^2/\sum_i w_i^2` of log-weights ``log_w`` ``(N,)``.

    Equals ``N`` for equal weights and 1 when one weight dominates; invariant to adding a
    constant to every log-weight.

    Example:
        >>> import torch
        >>> round(effective_sample_size(torch.zeros(100)), 6)
        100.0
        >>> round(effective_sample_size(torch.tensor([0.0, 0.0, -1000.0])), 6)
        2.0
    """
    lw = _log_weights(log_w, "effective_sample_size")
    return float(torch.exp(2 * torch.logsumexp(lw, 0) - torch.logsumexp(2 * lw, 0)))


def importance_mean(log_w: object, values: object) -> float:
    r"""Self-normalised estimate :math:`\sum_i w_i f_i / \sum_i w_i` of :math:`\langle f\rangle_p`.

    Args:
        log_w: log-weights :math:`\log\tilde p(x_i) - \log q(x_i)`, shape ``(N,)``.
        values: :math:`f(x_i)`, shape ``(N,)``.

    Example:
        >>> import math, torch
        >>> round(importance_mean(torch.tensor([0.0, math.log(3.0)]), torch.tensor([1.0, 5.0])), 6)   # (1 + 3·5) / 4
        4.0
    """
    lw = _log_weights(log_w, "importance_mean")
    f = as_real_tensor(values, "values").detach().double()
    if tuple(f.shape) != tuple(lw.shape):
        raise ValueError(f"importance_mean: values must have shape {tuple(lw.shape)} like log_w, got {tuple(f.shape)}")
    p = torch.softmax(lw, 0)
    return float((p * f).sum())


def free_energy_difference(log_w: object, in_a: Tensor, in_b: Tensor) -> float:
    r""":math:`\Delta F = F_B - F_A = -\log\big(\sum_{i\in B} w_i / \sum_{i\in A} w_i\big)` in units of :math:`k_BT`.

    Args:
        log_w: log-weights ``(N,)`` of samples from the proposal.
        in_a, in_b: boolean masks ``(N,)``: which samples lie in region A and in region B.

    Raises:
        ValueError: if a region holds no sample (then the estimate does not exist).

    Example:
        >>> import math, torch
        >>> x = torch.tensor([-1.0, -2.0, 1.0])          # equal weights: 2 samples in A, 1 in B
        >>> round(free_energy_difference(torch.zeros(3), x < 0, x > 0), 6) == round(math.log(2), 6)
        True
    """
    where = "free_energy_difference"
    lw = _log_weights(log_w, where)
    a = _region(in_a, lw.shape[0], "in_a", where)
    b = _region(in_b, lw.shape[0], "in_b", where)
    return float(torch.logsumexp(lw[a], 0) - torch.logsumexp(lw[b], 0))

