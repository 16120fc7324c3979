"""Invertible transforms: the :class:`Transform` contract and every layer built on it.

Convention: ``forward`` is the generative direction z → x and ``inverse`` the normalizing
direction x → z; each takes an optional ``context`` (conditioning) and returns
``(output, log|det J|)`` of that direction, with the log-det of shape ``(batch,)``.
"""

from .autoregressive import MADE, MAF, MaskedAffineAutoregressive
from .base import Compose, Inverse, Transform
from .coupling import AdditiveCoupling, AffineCoupling, Coupling, alternating_mask, split_mask
from .elementwise import Affine, NormalCDF
from .permutation import Permute, Reverse
from .planar import Planar
from .radial import Radial
from .spline import RQSplineCoupling, rational_quadratic_spline

__all__ = [
    "Transform", "Compose", "Inverse", "Affine", "NormalCDF", "Planar", "Radial",
    "Coupling", "AdditiveCoupling", "AffineCoupling", "RQSplineCoupling", "split_mask", "alternating_mask",
    "rational_quadratic_spline", "Permute", "Reverse", "MADE", "MAF", "MaskedAffineAutoregressive",
]
