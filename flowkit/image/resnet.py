"""A small convolutional ResNet, the conditioner of image coupling layers and dequantizers."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..validation import finite_real

__all__ = ["ResNet", "ResidualBlock"]


class ResidualBlock(nn.Module):
    """``h + conv3x3(dropout(relu(conv3x3(relu(h)))))`` (pre-activation, He et al., 2016), channels preserved.

    ``dropout``: the probability of zeroing a hidden unit (``nn.Dropout``, training mode only; 0: none).

    Example:
        >>> import torch
        >>> ResidualBlock(4)(torch.randn(1, 4, 3, 3)).shape
        torch.Size([1, 4, 3, 3])
    """

    def __init__(self, channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.conv2(self.drop(torch.relu(self.conv1(torch.relu(h)))))


class ResNet(nn.Module):
    """Conv net ``(B, in_channels, H, W) → (B, out_channels, H, W)`` keeping the spatial size.

    ``conv3x3(in → hidden)``, ``n_blocks`` :class:`ResidualBlock` s, ReLU, ``conv3x3(hidden → out)``.
    The output convolution is the last registered ``Conv2d`` and starts at zero
    (``zero_init=True``), so a coupling layer using this network starts as the identity.

    Args:
        in_channels: input channels (for a coupling: the event's channels ``C``).
        out_channels: output channels (for an affine coupling: ``2 * C``).
        hidden: width of the hidden feature maps.
        n_blocks: number of residual blocks (0 gives conv → ReLU → conv).
        zero_init: zero the output convolution's weight and bias.
        dropout: dropout probability inside each residual block (training mode only). A coupling
            whose conditioner uses dropout is an exact bijection in ``eval()`` mode; in training
            mode each call draws new masks, so only use it for the maximum-likelihood pass.

    Example:
        >>> import torch
        >>> ResNet(2, 4, hidden=8)(torch.randn(3, 2, 5, 5)).shape
        torch.Size([3, 4, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 32, n_blocks: int = 1,
                 zero_init: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("hidden", hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"ResNet: {name} must be a positive int, got {v!r}")
        if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 0:
            raise ValueError(f"ResNet: n_blocks must be an int >= 0, got {n_blocks!r}")
        dropout = finite_real(dropout, "dropout", "ResNet", low=0.0, high=1.0, high_open=True)
        self.inp = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(hidden, dropout) for _ in range(n_blocks)))
        self.out = nn.Conv2d(hidden, out_channels, 3, padding=1)  # registered last: zero_init_last_layer finds it
        if zero_init:
            with torch.no_grad():
                self.out.weight.zero_()
                self.out.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return self.out(torch.relu(self.blocks(self.inp(x))))
