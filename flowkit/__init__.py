"""flowkit — the reference implementations of the normalizing-flows course.

One convention, used by every class in the package
----------------------------------------------------
* ``forward`` is the **generative** direction z → x (base sample to data).
* ``inverse`` is the **normalizing** direction x → z (data to base sample).
* Each returns ``(output, logabsdet)``: ``logabsdet`` has shape ``(batch,)`` and is
  ``log |det J|`` of the Jacobian of *that* direction, so for any transform
  ``forward(z)[1] + inverse(forward(z)[0])[1] == 0``.

A :class:`Flow` combines a transform with a base distribution and gives the exact
log-density by the change of variables formula
``log p_x(x) = log p_z(f⁻¹(x)) + log|det ∂f⁻¹/∂x|``.

:func:`check` verifies all of this numerically for any transform (round trips,
log-dets against autograd Jacobians in float64, densities integrating to 1).
"""

from . import course, data, grid, metrics, viz
from .autoregressive import MADE, MAF, MaskedAffineAutoregressive
from .base import Compose, Inverse, Transform
from .checks import CheckError, CheckReport, check
from .coupling import AdditiveCoupling, AffineCoupling, Coupling, alternating_mask, split_mask
from .distributions import BaseDistribution, DiagNormal, StandardNormal
from .elementwise import Affine
from .flow import Flow
from .nets import MLP
from .permutation import Permute, Reverse
from .planar import Planar
from .radial import Radial
from .spline import RQSplineCoupling
from .training import History, fit, fit_reverse_kl

__version__ = "0.1.0"

__all__ = [
    "Transform", "Compose", "Inverse",
    "BaseDistribution", "StandardNormal", "DiagNormal",
    "Flow",
    "Affine", "Planar", "Radial",
    "Coupling", "AdditiveCoupling", "AffineCoupling", "split_mask", "alternating_mask",
    "Permute", "Reverse", "MLP",
    "check", "CheckReport", "CheckError",
    "fit", "fit_reverse_kl", "History",
    "MADE", "MAF", "MaskedAffineAutoregressive", "RQSplineCoupling",
    "course", "data", "grid", "metrics", "viz",
]
