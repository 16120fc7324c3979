"""Volume-preserving reorderings of the features (log|det J| = 0)."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Transform

__all__ = ["Permute", "Reverse"]


class Permute(Transform):
    r"""Reorder the last dimension: :math:`x_i = z_{\pi(i)}`; inverse :math:`z = x_{\pi^{-1}}`.

    A permutation matrix has determinant ±1, so both log-dets are 0. Pass
    ``permutation`` explicitly or a ``seed`` for a random one. Used between coupling
    layers so every feature gets transformed (Dinh et al., 2017).

    Example:
        >>> import torch
        >>> Permute(3, [2, 0, 1]).forward(torch.tensor([[10.0, 20.0, 30.0]]))
        (tensor([[30., 10., 20.]]), tensor([0.]))
    """

    def __init__(self, features: int, permutation: Tensor | list[int] | None = None, *, seed: int | None = 0) -> None:
        super().__init__(features)
        if permutation is None:
            g = torch.Generator().manual_seed(0 if seed is None else seed)
            perm = torch.randperm(features, generator=g, device="cpu")
        else:
            perm = torch.as_tensor(permutation, dtype=torch.long, device="cpu")
            if perm.shape != (features,) or not torch.equal(perm.sort().values, torch.arange(features, device="cpu")):
                raise ValueError(f"Permute: permutation must be a rearrangement of 0..{features - 1}, got {perm.tolist()}")
        self.register_buffer("permutation", perm)
        self.register_buffer("inverse_permutation", torch.argsort(perm))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return z[:, self.permutation], z.new_zeros(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x[:, self.inverse_permutation], x.new_zeros(x.shape[0])


class Reverse(Permute):
    """Reverse the order of the features (a fixed :class:`Permute`).

    Example:
        >>> import torch
        >>> Reverse(3).forward(torch.tensor([[1.0, 2.0, 3.0]]))[0]
        tensor([[3., 2., 1.]])
    """

    def __init__(self, features: int) -> None:
        super().__init__(features, torch.arange(features - 1, -1, -1, device="cpu"))
