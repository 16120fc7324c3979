"""Small conditioner networks for coupling layers."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["MLP", "zero_init_last_layer"]


class MLP(nn.Sequential):
    """A fully connected network ``in_features → hidden… → out_features`` with an activation between layers.

    With ``zero_init=True`` (the default) the last layer's weight and bias start at zero,
    so a coupling layer that uses it starts as the identity map.

    With the default ReLU and a 2-D input ``(batch, features)`` the forward pass runs as one
    ``addmm`` per layer and an in-place ReLU, without calling the submodules: the same maths
    and parameters as the ``nn.Sequential`` it is (the state dict is unchanged), with fewer
    operators and allocations (``benchmarks/README.md`` has the measurement). Other activations,
    an edited layer list and inputs with more dimensions go through the submodules (and their hooks).

    Example:
        >>> import torch
        >>> MLP(3, 4, hidden=(8,))(torch.randn(2, 3))   # zero-initialised output
        tensor([[0., 0., 0., 0.],
                [0., 0., 0., 0.]], grad_fn=<AddmmBackward0>)
    """

    def __init__(self, in_features: int, out_features: int, hidden: Sequence[int] = (64, 64),
                 activation: type[nn.Module] = nn.ReLU, zero_init: bool = True) -> None:
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"MLP: {name} must be a positive int, got {v!r}")
        sizes = [in_features, *hidden, out_features]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)
        # the layout the fast path computes; a network edited afterwards goes through the submodules
        self._fused_layout = tuple(layers) if activation is nn.ReLU else None
        if zero_init:
            zero_init_last_layer(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layout = getattr(self, "_fused_layout", None)  # None in an MLP pickled before it existed
        if x.dim() != 2 or layout is None or tuple(self._modules.values()) != layout:
            return super().forward(x)
        *hidden, last = layout[::2]
        for layer in hidden:
            # addmm's backward needs its inputs, not its output, so the ReLU may overwrite it
            x = torch.relu_(torch.addmm(layer.bias, x, layer.weight.t()))
        return torch.addmm(last.bias, x, last.weight.t())


def zero_init_last_layer(net: nn.Module) -> nn.Module:
    """Set the weight and bias of the last ``Linear``/``Conv`` layer of ``net`` to zero.

    Raises ``ValueError`` if ``net`` has no such layer.

    Example:
        >>> from torch import nn
        >>> net = zero_init_last_layer(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
        >>> float(net[2].weight.abs().sum())
        0.0
    """
    last = None
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            last = m
    if last is None:
        raise ValueError("zero_init_last_layer: the network has no Linear or Conv layer to zero")
    with torch.no_grad():
        last.weight.zero_()
        if last.bias is not None:
            last.bias.zero_()
    return net
