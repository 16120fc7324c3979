r"""Autoregressive flows: MADE, the masked autoregressive flow (MAF) and its inverse (IAF).

An autoregressive transform maps each feature with parameters that depend only on the
*previous* features in a fixed order :math:`\pi`: the Jacobian is triangular in that order,
so its log-determinant is the sum of the log-slopes on the diagonal.

MADE (Germain et al., 2015, "MADE: Masked Autoencoder for Distribution Estimation")
    One MLP computes all conditionals :math:`\theta_i(x_{<i})` in a single pass: each unit
    gets a *degree* and its weight matrix is multiplied by a binary mask that only keeps
    connections from lower (hidden layers: lower-or-equal) degrees, so output ``i`` is
    connected only to inputs that come before ``i`` in the order.

MAF (Papamakarios et al., 2017, "Masked Autoregressive Flow for Density Estimation")
    In flowkit's convention (``forward`` generative z → x, ``inverse`` normalizing x → z):

    * **inverse** (density evaluation, one MADE pass):
      :math:`z_i = (x_i - \mu_i(x_{<i}))\,e^{-s_i(x_{<i})}`,
      :math:`\log|\det \partial z/\partial x| = -\sum_i s_i(x_{<i})`;
    * **forward** (sampling, ``D`` sequential MADE passes):
      :math:`x_i = z_i\,e^{s_i(x_{<i})} + \mu_i(x_{<i})` for :math:`i = \pi_1, \dots, \pi_D`,
      :math:`\log|\det \partial x/\partial z| = \sum_i s_i(x_{<i})`.

    So a MAF is fast to *train by maximum likelihood* and slow to sample.

IAF (Kingma et al., 2016, "Improved Variational Inference with Inverse Autoregressive Flow")
    ``flowkit.Inverse(MaskedAffineAutoregressive(D))`` is an inverse autoregressive flow: its
    forward (sampling) is the MAF's one-pass inverse,
    :math:`x_i = (z_i - \mu_i(z_{<i}))\,e^{-s_i(z_{<i})}` — the shift and scale depend on the
    *base* sample, as in Kingma et al. (their :math:`\mu, \sigma` are
    :math:`-\mu e^{-s}, e^{-s}` here) — and sampling with its density
    (:meth:`flowkit.Flow.sample_and_log_prob`) is a single pass, what reverse-KL /
    variational inference needs. Evaluating the density of a *given* x is then the
    ``D``-pass direction.

The log-scale is soft-clamped, :math:`s = c\tanh(\tilde s/c)` (``scale_bound`` ``c``), as
in :class:`flowkit.AffineCoupling`, and MADE's last layer starts at zero so a fresh layer
is exactly the identity.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..validation import finite_real, nonneg_int, positive_int
from .base import Transform
from .elementwise import AffineMap

__all__ = ["MaskedLinear", "MADE", "MaskedAffineAutoregressive", "MAF"]


def _as_order(order: Sequence[int] | Tensor | None, features: int, where: str) -> Tensor:
    if order is None:
        return torch.arange(features, device="cpu")
    o = torch.as_tensor(order, dtype=torch.long, device="cpu")
    if o.shape != (features,) or not torch.equal(o.sort().values, torch.arange(features, device="cpu")):
        raise ValueError(f"{where}: order must be a rearrangement of 0..{features - 1}, got {o.tolist()}")
    return o


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed binary ``mask`` (``out × in``) in every call.

    Example:
        >>> import torch
        >>> layer = MaskedLinear(2, 2, torch.tensor([[1, 0], [1, 1]]))
        >>> bool((layer.weight * layer.mask)[0, 1] == 0)
        True
    """

    def __init__(self, in_features: int, out_features: int, mask: Tensor, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        if tuple(mask.shape) != (out_features, in_features):
            raise ValueError(f"MaskedLinear: mask must have shape {(out_features, in_features)}, got {tuple(mask.shape)}")
        self.register_buffer("mask", mask.bool())

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    r"""Masked autoencoder for distribution estimation (Germain et al., 2015).

    Maps ``x`` of shape ``(batch, D)`` to ``(batch, n_params, D)`` such that output
    ``[:, p, i]`` depends only on the features that precede ``i`` in ``order``.

    Degrees: input ``i`` has degree :math:`m(i) = 1 + \text{rank of } i \text{ in the order}`
    (``1..D``); hidden unit ``k`` of every layer has degree :math:`1 + (k \bmod (D-1))`
    (deterministic, all of ``1..D-1`` used). Masks:
    hidden layers :math:`M_{kj} = [m(k) \ge m(j)]`, output :math:`M_{ij} = [m(i) > m(j)]`.
    So output ``i`` sees input ``j`` only through paths with :math:`m(j) < m(i)`: the
    Jacobian :math:`\partial\,\text{out}_i / \partial x_j` is zero unless ``j`` comes first.
    The first feature in the order gets constant parameters (its output is the bias).

    Args:
        features: ``D``.
        n_params: parameters per feature (2 for an affine layer: raw log-scale, then shift).
        hidden: hidden layer widths, each at least ``D - 1`` so that every degree is present
            (a narrower layer would silently cut some features off from their predecessors).
        order: the autoregressive order, a permutation of ``0..D-1`` (default ``0, 1, …``).
        activation: the nonlinearity between layers.
        zero_init: zero the last layer so all outputs start at 0.
        context_features: size of a context row (a conditional MADE): the context has degree 0,
            so every hidden unit may see it and every output depends on it.

    Example:
        >>> import torch, flowkit as fk
        >>> made = fk.MADE(3, hidden=(8,))
        >>> bool(made.connectivity().triu().any())  # output i never sees inputs j >= i
        False
    """

    def __init__(self, features: int, n_params: int = 2, hidden: Sequence[int] = (64, 64),
                 order: Sequence[int] | Tensor | None = None, activation: type[nn.Module] = nn.ReLU,
                 zero_init: bool = True, context_features: int = 0) -> None:
        super().__init__()
        D = positive_int(features, "features", "MADE")
        self.features = D
        self.n_params = positive_int(n_params, "n_params", "MADE")
        hidden = tuple(positive_int(h, "hidden width", "MADE") for h in hidden)
        if not hidden:
            raise ValueError("MADE: needs at least one hidden layer")
        for h in hidden:
            if h < D - 1:
                raise ValueError(f"MADE: hidden widths must be >= features - 1 = {D - 1} so that every "
                                 f"degree is present, got {hidden}")
        self.context_features = nonneg_int(context_features, "context_features", "MADE")
        order_t = _as_order(order, D, "MADE")
        self.register_buffer("order", order_t)
        in_deg = torch.empty(D, dtype=torch.long, device="cpu")
        in_deg[order_t] = torch.arange(1, D + 1, device="cpu")
        self.register_buffer("degrees", in_deg)
        layers: list[nn.Module] = []
        ctx_deg = torch.zeros(self.context_features, dtype=torch.long, device="cpu")  # degree 0: seen by every unit
        prev_deg, prev_size = torch.cat([in_deg, ctx_deg]), D + self.context_features
        for h in hidden:
            deg = torch.arange(h, device="cpu") % max(D - 1, 1) + 1
            layers += [MaskedLinear(prev_size, h, deg[:, None] >= prev_deg[None, :]), activation()]
            prev_deg, prev_size = deg, h
        out_deg = in_deg.repeat(self.n_params)  # output p*D + i has the degree of feature i
        self.out = MaskedLinear(prev_size, self.n_params * D, out_deg[:, None] > prev_deg[None, :])
        self.body = nn.Sequential(*layers)
        if zero_init:
            with torch.no_grad():
                self.out.weight.zero_()
                self.out.bias.zero_()

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        if self.context_features:
            if context is None:
                raise ValueError(f"MADE is conditional (context_features={self.context_features}); pass a context")
            x = torch.cat([x, context.reshape(context.shape[0], -1)], dim=1)
        h = self.out(self.body(x))
        return h.view(x.shape[0], self.n_params, self.features)

    def connectivity(self) -> Tensor:
        """``(D, D)`` boolean matrix: ``[i, j]`` is True when output ``i`` may depend on input ``j``."""
        m = None
        for layer in [*(l for l in self.body if isinstance(l, MaskedLinear)), self.out]:
            mk = layer.mask.to(torch.float64)
            m = mk if m is None else mk @ m
        assert m is not None
        m = m[:, : self.features].reshape(self.n_params, self.features, self.features).sum(0)
        return m > 0


class MaskedAffineAutoregressive(Transform):
    r"""One MAF layer (Papamakarios et al., 2017): an affine autoregressive transform.

    .. math::
        \text{inverse (x → z, one pass):}\quad z_i = (x_i - \mu_i(x_{<i}))\,e^{-s_i(x_{<i})},
        \qquad \log\left|\det\frac{\partial z}{\partial x}\right| = -\sum_i s_i(x_{<i});

        \text{forward (z → x, } D \text{ passes):}\quad x_i = z_i\,e^{s_i(x_{<i})} + \mu_i(x_{<i}),
        \qquad \log\left|\det\frac{\partial x}{\partial z}\right| = \sum_i s_i(x_{<i}),

    with :math:`(\mu, \tilde s) = \text{MADE}(x)` and the soft-clamped log-scale
    :math:`s = c\tanh(\tilde s/c)`, ``c = scale_bound``. ":math:`<i`" is with respect to
    ``order``. The forward pass runs MADE ``D`` times: after pass ``k`` the first ``k``
    features (in the order) are final, because feature ``i`` only needs the ones before it.

    ``flowkit.Inverse(MaskedAffineAutoregressive(D))`` is an inverse autoregressive flow
    (IAF, Kingma et al., 2016): one-pass sampling, ``D``-pass density evaluation.

    Args:
        features: ``D``.
        hidden: MADE hidden widths.
        scale_bound: ``c`` of the soft clamp (log-scales in ``(-c, c)`` per layer).
        order: autoregressive order (default ``0..D-1``); alternate orders between stacked
            layers (e.g. ``reverse=True`` or a :class:`flowkit.Reverse` in between).
        reverse: shorthand for ``order = D-1, …, 0``.
        activation: MADE nonlinearity.
        zero_init: start as the identity map.
        context_features: size of a context row (a conditional MAF, :math:`p(x\mid c)`).

    Example:
        >>> import torch, flowkit as fk
        >>> fk.check(fk.MAF(3, hidden=(16,), zero_init=False), torch.randn(8, 3)).passed
        True
    """

    def __init__(self, features: int, hidden: Sequence[int] = (64, 64), scale_bound: float = 3.0, *,
                 order: Sequence[int] | Tensor | None = None, reverse: bool = False,
                 activation: type[nn.Module] = nn.ReLU, zero_init: bool = True, context_features: int = 0) -> None:
        D = positive_int(features, "features", "MaskedAffineAutoregressive")
        self_map = AffineMap(finite_real(scale_bound, "scale_bound", "MaskedAffineAutoregressive",
                                         low=0.0, low_open=True))
        if reverse and order is not None:
            raise ValueError("MaskedAffineAutoregressive: give either order or reverse=True, not both")
        super().__init__(D, context_shape=context_features or None)
        if reverse:
            order = torch.arange(D - 1, -1, -1, device="cpu")
        self.made = MADE(D, 2, hidden, order, activation, zero_init, context_features)
        self.elementwise = self_map

    @property
    def order(self) -> Tensor:
        return self.made.order

    @property
    def scale_bound(self) -> float:
        return self.elementwise.scale_bound  # type: ignore[return-value]

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        z, ld = self.elementwise.inverse(x, self.made(x, context))
        return z, ld.sum(dim=1)

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = torch.zeros_like(z)
        ld = torch.zeros_like(z)
        for _ in range(self.made.features):
            x, ld = self.elementwise.forward(z, self.made(x, context))
        # the last pass saw every x_{<i} final, so its log-slopes are those of the returned x
        return x, ld.sum(dim=1)

    def extra_repr(self) -> str:
        return f"features={self.made.features}, scale_bound={self.scale_bound}"


MAF = MaskedAffineAutoregressive
"""Short alias of :class:`MaskedAffineAutoregressive`."""
