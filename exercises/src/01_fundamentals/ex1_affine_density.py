# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 01_fundamentals/ex1
#     title: log p_x of x = a·z + b
#     points: 2
#     notebook: 01_flow_fundamentals.ipynb
#     anchor:
#       cell: 2f1bcbb8
#       text: "# Check: the histogram agrees with the formula within counting noise"
#     hidden_checks: h01_fundamentals.py
# ---

# %% [markdown] role="prompt"
# Use the boxed formula on the simplest map there is. Let $z \sim \mathcal N(0, 1)$ and
# $x = a z + b$ with $a \neq 0$, so $f^{-1}(x) = (x - b)/a$ and $|d f^{-1}/dx| = 1/|a|$:
# $$\log p_x(x) = \log p_z\!\left(\tfrac{x-b}{a}\right) - \log|a|.$$
# Write `log_prob_affine_1d(x, a, b)`: the log-density at every entry of the tensor `x`, for
# **either sign** of `a`. Then run the check below it.

# %% role="answer"
import math

import torch


def log_prob_affine_1d(x, a, b):
    """log p_x(x) for x = a·z + b, z ~ N(0, 1), applied elementwise to the tensor x."""
    ### BEGIN SOLUTION
    z = (x - b) / a
    return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("01_fundamentals/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# $\log \mathcal N(z; 0, 1) = -\tfrac12 z^2 - \tfrac12\log 2\pi$. The Jacobian term is
# $-\log|a|$ — with the absolute value, because a density is never negative and $a$ may be.

# %% [markdown] role="notes"
# The result is the log-density of $\mathcal N(b, a^2)$: compare with
# `torch.distributions.Normal(b, abs(a)).log_prob(x)`.

# %% role="mistakes"
MISTAKES = [
    {"name": "the Jacobian term left out", "replace": [(" - math.log(abs(a))", "")],
     "says": "You left out the Jacobian term"},
    {"name": "log a instead of log|a| (NaN when a < 0)",
     "replace": [("math.log(abs(a))", "torch.log(torch.tensor(float(a)))")],
     "says": "the Jacobian term is −log|a|, with the absolute value"},
    {"name": "the Jacobian term with a + sign", "replace": [(" - math.log(abs(a))", " + math.log(abs(a))")],
     "says": "The Jacobian term enters with a minus sign"},
]
