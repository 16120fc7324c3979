# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 02_planar/ex2
#     title: the density of a flow by the change of variables
#     points: 2
#     notebook: 02_planar_and_radial_flows.ipynb
#     anchor:
#       cell: 317f9dea
#       text: "squeeze = fk.Planar(2).double()"
#     hidden_checks: h02_planar.py
# ---

# %% [markdown] role="prompt"
# The explorer's integrals come from the change of variables. Write it yourself: for $x = f(z)$,
# $z \sim \mathcal N(0, I)$,
# $$\log p_x(x) = \log \mathcal N\big(f^{-1}(x); 0, I\big) + \log\left|\det \frac{\partial f^{-1}}{\partial x}\right|.$$
# Implement `flow_log_prob(transform, x)` for **any** `fk.Transform` (use its `inverse`), without
# `fk.Flow`. The check compares it with `fk.Flow.log_prob` and then integrates your density on a
# 200 × 200 grid: it must come to 1 — the density is *verified*, not just plotted.

# %% role="answer"
import math

import torch


def flow_log_prob(transform, x):
    """Exact log p_x(x) for x = transform(z), z ~ N(0, I), by the change of variables."""
    ### BEGIN SOLUTION
    z, ld = transform.inverse(x)
    log_pz = -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
    return log_pz + ld
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("02_planar/ex2-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# One call of `transform.inverse` on `x` gives both pieces: $z$, and the inverse's own log-det, which is
# already $\log|\det \partial f^{-1}/\partial x|$ (one per row). $\log \mathcal N(z; 0, I) = -\tfrac12\lVert z\rVert^2 - \tfrac D2 \log 2\pi$.

# %% role="mistakes"
MISTAKES = [
    {"name": "the log-det left out", "replace": [("return log_pz + ld", "return log_pz")], "says": "You left out the log-det"},
    {"name": "the log-det subtracted", "replace": [("return log_pz + ld", "return log_pz - ld")],
     "says": "The inverse's log-det enters with a + sign"},
    {"name": "the normalising constant left out", "replace": [(" - 0.5 * z.shape[1] * math.log(2 * math.pi)", "")],
     "says": "normalising constant"},
]
