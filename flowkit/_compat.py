"""Module names of flowkit 0.1, kept importable after the 0.2 reorganisation.

flowkit 0.1 had a flat layout (``flowkit.metrics``, ``flowkit.widgets``, ``flowkit.coupling``, …).
Each old module name is registered in ``sys.modules`` as an alias of the module that now holds
its contents, so ``import flowkit.metrics`` and ``from flowkit.coupling import split_mask`` keep
working; ``python -m`` needs a real file, so ``python -m flowkit.train`` is the package itself.
"""

from __future__ import annotations

import importlib
import sys

# old name -> new module
ALIASES = {
    "flowkit.base": "flowkit.transforms.base",
    "flowkit.coupling": "flowkit.transforms.coupling",
    "flowkit.spline": "flowkit.transforms.spline",
    "flowkit.autoregressive": "flowkit.transforms.autoregressive",
    "flowkit.planar": "flowkit.transforms.planar",
    "flowkit.radial": "flowkit.transforms.radial",
    "flowkit.permutation": "flowkit.transforms.permutation",
    "flowkit.elementwise": "flowkit.transforms.elementwise",
    "flowkit._validation": "flowkit.validation",
    "flowkit.training": "flowkit.train",
    "flowkit.classifier": "flowkit.metrics.classifier",
    "flowkit.digits": "flowkit.data.digits",
    "flowkit.viz": "flowkit.course.viz",
    "flowkit.widgets": "flowkit.course.widgets",
}


def install_aliases() -> None:
    """Register every old module name as an alias of its new module."""
    for old, new in ALIASES.items():
        sys.modules.setdefault(old, importlib.import_module(new))
