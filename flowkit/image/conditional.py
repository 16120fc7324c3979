r"""Class-conditional image flows: a RealNVP whose couplings and base read the class, :math:`p(x\mid y)`.

Conditioning is an argument (the ``context`` of every flowkit call), built from public parts:

* **couplings** — an image :class:`~flowkit.AffineCoupling` concatenates its context to the masked
  input along the channels, so its conditioner sees :math:`[z\odot m,\ c]`. :class:`ContextChannels`
  turns a flat context :math:`c\in\mathbb R^K` (a one-hot class) into :math:`K` constant channels
  of the layer's spatial size (the size changes with every :class:`~flowkit.image.Squeeze`), so

  .. math:: x = z\odot m + (1-m)\odot\big(z\,e^{s(z\odot m,\ c)} + t(z\odot m,\ c)\big),
            \qquad \log\left|\det\frac{\partial x}{\partial z}\right| = \sum_{(1-m)} s(z\odot m,\ c).

  The context only changes *which* triangular map is applied; the log-det stays the sum of the
  log-scales (Dinh et al., 2017, *Density estimation using Real NVP*, ICLR; conditional
  couplings as in Kingma & Dhariwal, 2018, *Glow*, NeurIPS, Sec. 5 "class-conditional").
* **base** — a :class:`~flowkit.ConditionalDiagNormal` :math:`\mathcal N(\mu_y, \operatorname{diag}\sigma_y^2)`
  over the flat latent: a learned Gaussian per class.

:class:`ConditionalRealNVP` is then an ordinary :class:`~flowkit.image.ImageFlow`:
``nll(x, context=c)``, ``bits_per_dim(x, context=c)``, ``sample_images(n, c, temperature=T)``.
:meth:`ConditionalRealNVP.class_log_likelihoods` scores one batch under every class with the
*same* dequantization noise, which is what Bayes' rule needs for a generative classifier,
:math:`p(y\mid x) = p(x\mid y)\,p(y)/\sum_{y'} p(x\mid y')\,p(y')`, and the unconditional model
:math:`p(x) = \sum_y p(y)\,p(x\mid y)` (a ``logsumexp`` over the classes).

Example:
    >>> import torch, flowkit as fk
    >>> model = fk.image.ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)
    >>> x = torch.randint(0, 17, (4, 1, 8, 8))
    >>> c = model.one_hot(torch.tensor([0, 3, 3, 9]))
    >>> model.nll(x, context=c).shape, model.class_log_likelihoods(x).shape
    (torch.Size([4]), torch.Size([4, 10]))
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ..distributions import ConditionalDiagNormal
from ..rng import seeded
from ..transforms.base import Transform
from ..validation import ArgumentTypeError, as_chw, positive_int
from .bpd import dequantized_nll
from .builders import _check_divisible, _Couplings, _dequantizer, _probability, realnvp_stack
from .imageflow import ImageFlow

__all__ = ["ContextChannels", "ConditionalRealNVP"]


class ContextChannels(Transform):
    r"""Give an image transform its flat context as constant channels: :math:`c\mapsto c\,\mathbf 1_{H\times W}`.

    ``forward(z, c)`` calls ``transform.forward(z, c')`` with ``c'[b, k, h, w] = c[b, k]``,
    ``c'`` of shape ``(batch, K, H, W)`` for the wrapped transform's ``(C, H, W)``; the same for
    ``inverse``. The map and its log-det are those of the wrapped transform at that context.

    Args:
        transform: an image transform taking a channel context (e.g. an image
            :class:`~flowkit.AffineCoupling` whose conditioner reads ``C + K`` channels).
        context_features: ``K``.

    Example:
        >>> import torch, flowkit as fk
        >>> from flowkit.image import ResNet, checkerboard_mask
        >>> inner = fk.AffineCoupling((1, 4, 4), mask=checkerboard_mask(1, 4, 4),
        ...                           conditioner=ResNet(1 + 3, 2, hidden=8), zero_init=False)
        >>> layer = ContextChannels(inner, 3)
        >>> fk.check(layer, torch.randn(4, 1, 4, 4), torch.eye(3)[[0, 1, 2, 0]]).passed
        True
    """

    def __init__(self, transform: Transform, context_features: int) -> None:
        if not isinstance(transform, Transform):
            raise ArgumentTypeError(f"ContextChannels: transform must be a flowkit.Transform, got {type(transform).__name__}")
        if transform.event_shape is None or len(transform.event_shape) != 3:
            raise ValueError(f"ContextChannels: transform must act on images (C, H, W), got event_shape "
                             f"{transform.event_shape}")
        k = positive_int(context_features, "context_features", "ContextChannels")
        super().__init__(transform.event_shape, transform.latent_shape, context_shape=(k,))
        self.transform = transform
        self.context_features = k

    def channels(self, context: Tensor | None, spatial: Sequence[int]) -> Tensor:
        """The context as ``(batch, K, *spatial)`` constant channels."""
        if context is None:
            raise ValueError(f"ContextChannels: this layer is conditional; pass a context of shape "
                             f"(batch, {self.context_features})")
        return context.reshape(context.shape[0], self.context_features, *([1] * len(spatial))).expand(
            -1, -1, *spatial)

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.transform(z, self.channels(context, z.shape[2:]))

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.transform.inverse(x, self.channels(context, x.shape[2:]))


class _ClassCouplings(_Couplings):
    """The couplings of :class:`~flowkit.image.RealNVP`, each reading the one-hot class as channels."""

    def make(self, shape: tuple[int, int, int], mask: Tensor) -> ContextChannels:  # type: ignore[override]
        return ContextChannels(super().make(shape, mask), self.context_features)


class ConditionalRealNVP(ImageFlow):
    r"""RealNVP's multi-scale architecture with class-conditional couplings and a class-conditional base.

    :math:`\log p(x\mid y) = \log\mathcal N\big(f^{-1}(x; y);\ \mu_y, \operatorname{diag}\sigma_y^2\big)
    + \log|\det \partial f^{-1}(x; y)/\partial x|`, where every coupling of :math:`f` reads the
    one-hot class as ``n_classes`` constant channels (:class:`ContextChannels`). The layers per
    level are those of :class:`~flowkit.image.RealNVP` (checkerboard couplings, squeeze, channel
    couplings, :class:`~flowkit.image.Split`, ActNorm after each coupling); the Splits'
    priors are unconditional, the base over the full flat latent is conditional.
    Zero-initialised, the model is the same for every class.

    Args:
        shape: image shape ``(C, H, W)``; ``H`` and ``W`` divisible by ``2**(n_levels-1)``.
        n_classes: ``K``; contexts are one-hot rows (:meth:`one_hot`).
        n_levels, n_couplings, hidden, n_blocks, n_bins, alpha, actnorm: as in
            :class:`~flowkit.image.RealNVP`.
        dequantization: ``"uniform"`` (default) or ``"variational"`` (the noise does not
            depend on the class, so class posteriors are unaffected by it).
        seed: seed the parameter initialisation (without touching the global RNG).
        direction, dropout, dequantizer_hidden: the couplings' parametrisation, their conditioners'
            dropout and the variational dequantizer's width, as in :class:`~flowkit.image.RealNVP`.

    ``config`` holds the arguments (what a checkpoint records to rebuild the model).

    Example:
        >>> import torch
        >>> model = ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)
        >>> model.sample_images(2, model.one_hot(torch.tensor([7])), temperature=0.8).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, shape: Sequence[int] = (1, 8, 8), n_classes: int = 10, n_levels: int = 2,
                 n_couplings: int = 3, hidden: int = 32, n_blocks: int = 1, *, n_bins: int = 17,
                 alpha: float = 0.05, actnorm: bool = True, dequantization: str = "uniform",
                 seed: int | None = None, direction: str = "generative", dropout: float = 0.0,
                 dequantizer_hidden: int | None = None) -> None:
        where = "ConditionalRealNVP"
        C, H, W = as_chw(shape, where)
        n_classes = positive_int(n_classes, "n_classes", where, minimum=2)
        positive_int(n_levels, "n_levels", where)
        positive_int(n_couplings, "n_couplings", where)
        if dequantization not in ("uniform", "variational"):
            raise ValueError(f"{where}: dequantization must be 'uniform' or 'variational', got {dequantization!r}")
        _check_divisible(H, W, 2 ** (n_levels - 1), n_levels, where)
        couplings = _ClassCouplings(hidden, n_blocks, 3.0, direction, context_features=n_classes,
                                    dropout=_probability(dropout, where))
        with seeded(seed):
            transform = realnvp_stack((C, H, W), n_levels, n_couplings, couplings, actnorm, alpha)
            base = ConditionalDiagNormal(C * H * W, context_features=n_classes)
            super().__init__(transform, n_bins, _dequantizer(dequantization, (C, H, W), dequantizer_hidden or hidden),
                             base=base)
        self.n_classes = n_classes
        self.config = dict(shape=[C, H, W], n_classes=n_classes, n_levels=n_levels, n_couplings=n_couplings,
                           hidden=hidden, n_blocks=n_blocks, n_bins=n_bins, alpha=alpha, actnorm=actnorm,
                           dequantization=dequantization, direction=direction, dropout=dropout,
                           dequantizer_hidden=dequantizer_hidden)

    def one_hot(self, labels: Tensor) -> Tensor:
        """Class labels ``(batch,)`` (ints in ``0..n_classes-1``) as one-hot contexts ``(batch, n_classes)``."""
        if not isinstance(labels, Tensor) or labels.dtype in (torch.bool,) or labels.is_floating_point():
            raise ArgumentTypeError(f"ConditionalRealNVP.one_hot: labels must be an integer tensor, got "
                                    f"{type(labels).__name__}{'' if not isinstance(labels, Tensor) else ' ' + str(labels.dtype)}")
        if labels.dim() != 1 or labels.numel() == 0 or int(labels.min()) < 0 or int(labels.max()) >= self.n_classes:
            raise ValueError(f"ConditionalRealNVP.one_hot: labels must be a non-empty 1-D tensor of classes "
                             f"0..{self.n_classes - 1}, got shape {tuple(labels.shape)}"
                             + (f" with values in [{int(labels.min())}, {int(labels.max())}]" if labels.numel() else ""))
        dtype = self._dtype() or torch.get_default_dtype()
        return nn.functional.one_hot(labels, self.n_classes).to(dtype)

    @torch.no_grad()
    def class_log_likelihoods(self, x_int: Tensor, *, generator: torch.Generator | None = None,
                              batch_size: int = 256) -> Tensor:
        r"""``(batch, n_classes)``: the bound :math:`\log P(x\mid y) \ge \log p(y_u\mid y) - \log q(u\mid x) - D\log K` for every class.

        One dequantization sample :math:`u` per image (``generator``: its noise; default a fresh
        generator seeded 0), shared by all classes, so differences between columns are exact
        differences of :math:`\log p(y_u\mid y)` — Bayes' rule over the columns is exact for the
        dequantized image. Computed without gradients, in eval mode, ``batch_size`` images
        (times ``n_classes`` rows) at a time.
        """
        batch_size = positive_int(batch_size, "batch_size", "class_log_likelihoods")
        self._check_images(x_int)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        K, was_training, out = self.n_classes, self.training, []
        self.eval()
        try:
            for i in range(0, x_int.shape[0], batch_size):
                y, log_q = self.dequantize(x_int[i:i + batch_size], generator)
                B = y.shape[0]  # all K classes in one pass: image b under class k is row k·B + b
                classes = torch.arange(K, device=y.device).repeat_interleave(B)
                log_p = self.log_prob(y.repeat(K, *([1] * (y.dim() - 1))), self.one_hot(classes))
                out.append(-dequantized_nll(log_p.view(K, B), self.num_dims, self.n_bins, log_q).T)
        finally:
            self.train(was_training)
        return torch.cat(out)

    def extra_repr(self) -> str:
        return f"n_classes={self.n_classes}, D={self.num_dims}, n_bins={self.n_bins}"

