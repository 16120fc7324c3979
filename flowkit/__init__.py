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

Where things live
-----------------
=========================  ==================================================================
``flowkit.transforms``     the :class:`Transform` contract and every layer (couplings, planar, …)
``flowkit.image``          image layers, multi-scale RealNVP and Glow, dequantization
``flowkit.train``          :func:`fit`, :func:`fit_reverse_kl`, checkpoints, ``python -m flowkit.train``
``flowkit.metrics``        likelihoods, two-sample tests, image metrics, out-of-distribution tests
``flowkit.data``           2-D toy data, the energies U1–U4, the 8×8 digits
``flowkit.course``         notebook setup, plots (``fk.viz``) and live explorers (``fk.widgets``)
=========================  ==================================================================
"""

from . import course, data, grid, image, metrics, train
from ._compat import install_aliases
from .checks import CheckError, CheckReport, check
from .distributions import BaseDistribution, ConditionalDiagNormal, DiagNormal, StandardNormal
from .flow import Flow
from .nets import MLP
from .train import History, fit, fit_reverse_kl
from .transforms import (
                         MADE,
                         MAF,
                         AdditiveCoupling,
                         Affine,
                         AffineCoupling,
                         Compose,
                         Coupling,
                         Inverse,
                         MaskedAffineAutoregressive,
                         Permute,
                         Planar,
                         Radial,
                         Reverse,
                         RQSplineCoupling,
                         Transform,
                         alternating_mask,
                         split_mask,
)

viz = course.viz
widgets = course.widgets

install_aliases()

__version__ = "0.2.0"

__all__ = [
    "Transform", "Compose", "Inverse",
    "BaseDistribution", "StandardNormal", "DiagNormal", "ConditionalDiagNormal",
    "Flow",
    "Affine", "Planar", "Radial",
    "Coupling", "AdditiveCoupling", "AffineCoupling", "split_mask", "alternating_mask",
    "Permute", "Reverse", "MLP",
    "check", "CheckReport", "CheckError",
    "fit", "fit_reverse_kl", "History",
    "MADE", "MAF", "MaskedAffineAutoregressive", "RQSplineCoupling",
    "course", "data", "grid", "image", "metrics", "train", "viz", "widgets",
]
