"""Normalizing flows for images: layers, multi-scale models, dequantization and bits/dim.

Same convention as the rest of flowkit: ``forward`` is generative (z → x), ``inverse``
normalizing (x → z), each returning ``(output, log|det J| of that direction)``.

Layers (all :class:`flowkit.Transform` s)
    :class:`Squeeze` (shape-changing), :class:`Logit`, :class:`ActNorm`,
    :class:`InvConv1x1`, :class:`Split`, and the container :class:`MultiScale`;
    image couplings are :class:`flowkit.AffineCoupling` with :func:`checkerboard_mask` /
    :func:`channel_mask` and a :class:`ResNet` conditioner.
Models
    :class:`ImageFlow` (a :class:`flowkit.Flow` with ``nll``/``bits_per_dim`` of integer
    images) and its two architectures :class:`RealNVP`, :class:`Glow`; the class-conditional
    :class:`ConditionalRealNVP` (:class:`ContextChannels` hands a flat context to image couplings).
Discrete data
    :class:`UniformDequantization`, :class:`VariationalDequantization` (a conditional
    :class:`flowkit.Flow`), :func:`nats_to_bits_per_dim`, :func:`dequantized_nll`; data in
    :mod:`flowkit.data.digits`.
"""

from .actnorm import ActNorm
from .bpd import bits_per_dim, dequantized_nll, nats_to_bits_per_dim
from .builders import Glow, RealNVP
from .conditional import ConditionalRealNVP, ContextChannels
from .dequantization import Dequantization, UniformDequantization, VariationalDequantization
from .imageflow import ImageFlow
from .invconv import InvConv1x1
from .logit import Logit
from .masks import channel_mask, checkerboard_mask
from .multiscale import MultiScale, Split
from .resnet import ResidualBlock, ResNet
from .squeeze import Squeeze

__all__ = [
    "Squeeze", "Logit", "ActNorm", "InvConv1x1", "Split", "MultiScale",
    "checkerboard_mask", "channel_mask", "ResNet", "ResidualBlock",
    "ImageFlow", "RealNVP", "Glow", "ConditionalRealNVP", "ContextChannels",
    "Dequantization", "UniformDequantization", "VariationalDequantization",
    "nats_to_bits_per_dim", "dequantized_nll", "bits_per_dim",
]
