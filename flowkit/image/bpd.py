r"""Bits per dimension of discrete images, counting every term.

Derivation
----------
Let :math:`x \in \{0, \dots, K-1\}^D` be an image with ``K = n_bins`` levels (K = 17 for
the 8×8 digits, 256 for 8-bit images). A flow has a *density* :math:`p` over continuous
:math:`y \in [0,1)^D` (flowkit's image models are built on this unit-interval scale; any
logit preprocessing is a layer of the model, so its log-det is already inside
:math:`\log p(y)`). The discrete model it induces assigns to :math:`x` the mass of its cell
:math:`[x/K, (x+1)/K)`, a cube of volume :math:`K^{-D}`:

.. math:: P(x) = \int_{[0,1)^D} p\!\left(\tfrac{x+u}{K}\right) K^{-D}\,du .

*Uniform dequantization* (Theis et al., 2016): for :math:`u \sim U[0,1)^D`, Jensen's
inequality gives

.. math:: \log P(x) \ge \mathbb E_u\!\left[\log p\!\left(\tfrac{x+u}{K}\right)\right] - D\log K ,

so the negative log-likelihood of the discrete data, in nats, is bounded by
:math:`-\log p(y) + D\log K` with :math:`y = (x+u)/K`: the :math:`-D\log K` is the log-det
of the scaling :math:`y = (x+u)/K` (a density in :math:`[0,K)` units is :math:`K^{-D}` times
one in :math:`[0,1)` units). *Variational dequantization* (Ho et al., 2019, Flow++) replaces
:math:`U[0,1)^D` by a learned :math:`q(u\mid x)` on :math:`[0,1)^D` and gives the ELBO

.. math:: \log P(x) \ge \mathbb E_{q}\!\left[\log p\!\left(\tfrac{x+u}{K}\right) - \log q(u\mid x)\right] - D\log K ,

which is the uniform bound when :math:`q \equiv 1`. Bits per dimension divide the NLL by
:math:`D\log 2`:

.. math:: \text{bpd} = \frac{-\log p(y) + \log q(u\mid x) + D\log K}{D\log 2}
          = \frac{-\log p(y) + \log q(u\mid x)}{D\log 2} + \log_2 K .

Known answer: a model whose density is uniform on :math:`[0,1)^D` (:math:`\log p \equiv 0`)
with uniform dequantization (:math:`\log q \equiv 0`) has exactly :math:`\log_2 K` bits/dim —
it spreads the mass evenly over the :math:`K^D` images (:math:`\log_2 17 = 4.087` for digits,
8 for 8-bit images).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..validation import positive_int

__all__ = ["nats_to_bits_per_dim", "dequantized_nll", "bits_per_dim"]


def dequantized_nll(log_p: Tensor, num_dims: int, n_bins: int, log_q: Tensor | float = 0.0) -> Tensor:
    r"""Upper bound on the discrete NLL in nats: :math:`-\log p(y) + \log q(u\mid x) + D\log K`.

    Args:
        log_p: :math:`\log p(y)` of the dequantized images :math:`y = (x+u)/K \in [0,1)^D`.
        num_dims: :math:`D` (e.g. ``C·H·W``).
        n_bins: :math:`K`, the number of levels of the discrete data.
        log_q: :math:`\log q(u\mid x)` of the dequantization noise (0 for uniform).

    Example:
        >>> import math, torch
        >>> abs(float(dequantized_nll(torch.tensor(0.0), 64, 17)) - 64 * math.log(17)) < 1e-4   # −log p = 0: D log K
        True
    """
    positive_int(num_dims, "num_dims")
    positive_int(n_bins, "n_bins")
    return -log_p + log_q + num_dims * math.log(n_bins)


def nats_to_bits_per_dim(nll_nats: Tensor | float, num_dims: int, *, n_bins: int | None = None) -> Tensor:
    r"""Convert a negative log-likelihood in nats to bits per dimension.

    * ``n_bins=None``: ``nll_nats`` is already the NLL of the discrete data (e.g. from
      :func:`dequantized_nll` or :meth:`ImageFlow.nll`); returns :math:`\text{nll}/(D\log 2)`.
    * ``n_bins=K``: ``nll_nats`` is :math:`-\log p(y)` of *uniformly* dequantized data
      :math:`y = (x+u)/K` in :math:`[0,1)^D` units; the :math:`D\log K` of the 1/K scaling is
      added first: :math:`(\text{nll} + D\log K)/(D\log 2)`.

    See the module docstring for the derivation. Works elementwise on tensors. To evaluate a
    model, use :meth:`flowkit.image.ImageFlow.bits_per_dim`, which calls this.

    Example:
        >>> import math
        >>> round(float(nats_to_bits_per_dim(64 * math.log(17), 64)), 4)   # the uniform model: log2(17)
        4.0875
    """
    positive_int(num_dims, "num_dims")
    nll = torch.as_tensor(nll_nats, dtype=torch.float64) if not isinstance(nll_nats, Tensor) else nll_nats
    if n_bins is not None:
        nll = nll + num_dims * math.log(positive_int(n_bins, "n_bins"))
    return nll / (num_dims * math.log(2.0))


bits_per_dim = nats_to_bits_per_dim
"""The 0.1 name of :func:`nats_to_bits_per_dim` (it converts; it does not evaluate a model)."""
