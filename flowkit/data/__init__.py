"""Data for the course: seeded 2-D toy datasets, the energies U1–U4, and the 8×8 digits.

* :mod:`flowkit.data.toy` — :func:`two_moons`, :func:`swiss_roll`, … (density estimation);
* :mod:`flowkit.data.energies` — :func:`U1` … :func:`U4`, :func:`log_density` (variational inference);
* :mod:`flowkit.data.digits` — scikit-learn's 8×8 digits with fixed splits (image flows);
* :mod:`flowkit.data.simulators` — simulators with a known posterior (:class:`LinearGaussian`,
  :class:`TwoMoonsSimulator`) for amortised Bayesian inference.

Everything ships with a package; nothing is downloaded at run time.

Example:
    >>> import flowkit as fk
    >>> fk.data.two_moons(3, seed=0).shape
    torch.Size([3, 2])
"""

from .digits import DIGITS_BINS, DIGITS_SPLIT, digits_splits, load_digits
from .energies import ENERGIES, ENERGY_BOX, U1, U2, U3, U4, log_density, log_normalizer
from .simulators import LinearGaussian, TwoMoonsSimulator
from .toy import (
                  DATASETS,
                  checkerboard,
                  circles,
                  eight_gaussians,
                  pinwheel,
                  rings,
                  sample,
                  swiss_roll,
                  train_val_test,
                  two_moons,
                  two_spirals,
)

__all__ = [
    "two_moons", "circles", "rings", "eight_gaussians", "pinwheel", "checkerboard", "swiss_roll", "two_spirals",
    "DATASETS", "sample", "train_val_test",
    "U1", "U2", "U3", "U4", "ENERGIES", "ENERGY_BOX", "log_density", "log_normalizer",
    "load_digits", "digits_splits", "DIGITS_BINS", "DIGITS_SPLIT",
    "LinearGaussian", "TwoMoonsSimulator",
]
