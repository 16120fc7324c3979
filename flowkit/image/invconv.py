r"""Invertible 1×1 convolution (Kingma & Dhariwal, 2018, Glow, Sec. 3.2).

A learned ``C × C`` matrix :math:`W` mixes the channels at every pixel; with :math:`HW`
spatial positions:

* inverse (x → z, normalizing; Glow's direction): :math:`z_{:,h,w} = W\,x_{:,h,w}`,
  :math:`\log|\det J| = HW\,\log|\det W|`;
* forward (z → x, generative): :math:`x_{:,h,w} = W^{-1} z_{:,h,w}`,
  :math:`\log|\det J| = -HW\,\log|\det W|`.

Two parametrisations:

* ``lu=False``: :math:`W` itself is the parameter, initialised as a random orthogonal
  matrix; :math:`\log|\det W|` by ``torch.linalg.slogdet`` and :math:`W^{-1}` by
  ``torch.linalg.inv``, both computed in float64 and cast back, so a float32 model
  inverts accurately (cost :math:`O(C^3)`, negligible for small ``C``).
* ``lu=True``: :math:`W = P\,L\,(U + \operatorname{diag}(\mathrm{sign}\cdot e^{\log|s|}))` with a fixed
  permutation :math:`P` and fixed signs (buffers, not parameters), :math:`L` unit lower
  triangular and :math:`U` strictly upper triangular (parameters) and learned
  :math:`\log|s|`; then :math:`\log|\det W| = \sum_i \log|s_i|` exactly, and
  :math:`W^{-1} = U'^{-1} L^{-1} P^\top` by two triangular solves (in float64).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ..transforms.base import Transform
from ..validation import positive_int

__all__ = ["InvConv1x1"]


def _random_orthogonal(c: int) -> Tensor:
    q, r = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64, device="cpu"))
    # Fix the signs so q is Haar-distributed (and never depends on LAPACK's sign convention).
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def _permutation_matrix(permutation: Sequence[int], c: int) -> Tensor:
    perm = list(permutation)
    if sorted(perm) != list(range(c)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in perm):
        raise ValueError(f"InvConv1x1: permutation must hold each of 0..{c - 1} once, got {permutation!r}")
    w = torch.zeros(c, c, dtype=torch.float64)
    w[torch.arange(c), torch.tensor(perm)] = 1.0  # (W x)_i = x_perm[i]
    return w


class InvConv1x1(Transform):
    """Invertible 1×1 convolution, plain (``lu=False``) or LU-parametrised (``lu=True``).

    Args:
        num_channels: ``C``.
        lu: use the LU parametrisation (Glow's faster variant).
        permutation: start as this channel permutation instead, :math:`z_i = x_{p_i}`
            (``list(range(C))``: the identity); ``None``: a random rotation (Glow's choice).

    By default initialised from a random orthogonal matrix drawn from torch's global RNG
    (like ``nn.Linear``'s init; call ``torch.manual_seed`` first for reproducibility).

    Example:
        >>> import torch, flowkit as fk
        >>> fk.check(InvConv1x1(4, lu=True), torch.randn(3, 4, 2, 2)).passed
        True
    """

    def __init__(self, num_channels: int, lu: bool = False, *, permutation: Sequence[int] | None = None) -> None:
        super().__init__()
        c = self.num_channels = positive_int(num_channels, "num_channels", "InvConv1x1")
        self.lu = bool(lu)
        # on the CPU, also when the module is built under torch.device("meta")
        w0 = _random_orthogonal(c) if permutation is None else _permutation_matrix(permutation, c)
        if not self.lu:
            self.weight = nn.Parameter(w0.to(torch.get_default_dtype()).contiguous())
        else:
            P, L, U = torch.linalg.lu(w0)
            s = torch.diagonal(U)
            dt = torch.get_default_dtype()
            self.register_buffer("P", P.to(dt))
            self.register_buffer("sign", torch.sign(s).to(dt))
            self.lower = nn.Parameter(torch.tril(L, -1).to(dt).contiguous())
            self.upper = nn.Parameter(torch.triu(U, 1).to(dt).contiguous())
            self.log_s = nn.Parameter(torch.log(s.abs()).to(dt).contiguous())

    # -- the matrices --------------------------------------------------------------------
    def _lu_factors(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        eye = torch.eye(self.num_channels, dtype=dtype, device=self.log_s.device)
        L = torch.tril(self.lower.to(dtype), -1) + eye
        U = torch.triu(self.upper.to(dtype), 1) + torch.diag(self.sign.to(dtype) * torch.exp(self.log_s.to(dtype)))
        return self.P.to(dtype), L, U

    def weight_matrix(self) -> Tensor:
        """:math:`W` (in the module's dtype)."""
        if not self.lu:
            return self.weight
        P, L, U = self._lu_factors(self.log_s.dtype)
        return P @ L @ U

    def inverse_weight(self) -> Tensor:
        """:math:`W^{-1}`, computed in float64 and cast to the module's dtype."""
        if not self.lu:
            return torch.linalg.inv(self.weight.to(torch.float64)).to(self.weight.dtype)
        P, L, U = self._lu_factors(torch.float64)
        eye = torch.eye(self.num_channels, dtype=torch.float64, device=P.device)
        Linv = torch.linalg.solve_triangular(L, eye, upper=False, unitriangular=True)
        Uinv = torch.linalg.solve_triangular(U, eye, upper=True)
        return (Uinv @ Linv @ P.transpose(0, 1)).to(self.log_s.dtype)

    def log_abs_det_weight(self) -> Tensor:
        """:math:`\\log|\\det W|` (a scalar, in the module's dtype)."""
        if not self.lu:
            return torch.linalg.slogdet(self.weight.to(torch.float64))[1].to(self.weight.dtype)
        return self.log_s.sum()

    # -- the maps ------------------------------------------------------------------------
    @staticmethod
    def _mix(m: Tensor, x: Tensor) -> Tensor:
        return torch.einsum("ij,bj...->bi...", m, x)

    def _check(self, x: Tensor) -> int:
        if x.dim() < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"InvConv1x1: expected inputs of shape (batch, {self.num_channels}, ...), "
                             f"got {tuple(x.shape)}")
        n = 1
        for s in x.shape[2:]:
            n *= s
        return n

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        hw = self._check(z)
        x = self._mix(self.inverse_weight(), z)
        return x, (-hw * self.log_abs_det_weight()).expand(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        hw = self._check(x)
        z = self._mix(self.weight_matrix(), x)
        return z, (hw * self.log_abs_det_weight()).expand(x.shape[0])

    def extra_repr(self) -> str:
        return f"num_channels={self.num_channels}, lu={self.lu}"
