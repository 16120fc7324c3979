"""The course's categorical colours: the Okabe–Ito palette.

Okabe & Ito (2008), *Color Universal Design*: eight colours that stay distinguishable for the
common forms of colour-vision deficiency. Continuous quantities use ``viridis`` instead.
"""

from __future__ import annotations

__all__ = ["OKABE_ITO", "QUADRANT_COLORS"]

# blue, orange, bluish green, reddish purple, sky blue, vermillion, yellow, black
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

# Base samples by quadrant of z: (−,−), (+,−), (−,+), (+,+); distinct from the blue/orange grid lines.
QUADRANT_COLORS = ("#009E73", "#CC79A7", "#000000", "#56B4E9")
