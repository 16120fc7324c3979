# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 04_realnvp/ex1
#     title: the logit layer and its log-det
#     points: 3
#     notebook: 04_realnvp.ipynb
#     anchor:
#       cell: 3ee8cf48
#       text: "err = (ld_logit - ld_hand).abs().max().item()"
#     hidden_checks: h04_realnvp.py
# ---

# %% [markdown] role="prompt"
# Write the normalizing direction of the logit layer yourself. With $\lambda = \alpha + (1-2\alpha)\,x$,
# data $x \in [0,1]$ map elementwise to $y = \operatorname{logit}(\lambda) = \log\lambda - \log(1-\lambda)$.
# `logit_inverse(x, alpha)` returns `(y, log|det ∂y/∂x|)` for a batch `x` of any shape `(batch, …)`,
# the log-det summed over every dimension but the batch (shape `(batch,)`). The map is elementwise,
# so the Jacobian is diagonal: differentiate $\operatorname{logit}(\alpha + (1-2\alpha)x)$ by hand
# (do not use `fki.Logit` in your answer; the check compares with it).

# %% role="answer"
import math

import torch


def logit_inverse(x, alpha=0.05):
    """y = logit(α + (1 − 2α)x) elementwise, and log|det ∂y/∂x| per batch row."""
    ### BEGIN SOLUTION
    lam = alpha + (1 - 2 * alpha) * x
    y = torch.log(lam) - torch.log1p(-lam)
    ld = math.log(1 - 2 * alpha) - torch.log(lam) - torch.log1p(-lam)
    return y, ld.reshape(x.shape[0], -1).sum(dim=1)
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("04_realnvp/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# $\frac{dy}{dx} = (1-2\alpha)\left(\frac1\lambda + \frac1{1-\lambda}\right) = \frac{1-2\alpha}{\lambda(1-\lambda)}$,
# so $\log\frac{dy}{dx} = \log(1-2\alpha) - \log\lambda - \log(1-\lambda)$ for **every** pixel.
# `ld.reshape(x.shape[0], -1).sum(dim=1)` sums them per image.

# %% role="mistakes"
MISTAKES = [
    {"name": "log(1 − 2α) counted once per image", "replace": [(
        "ld = math.log(1 - 2 * alpha) - torch.log(lam) - torch.log1p(-lam)\n    return y, ld.reshape(x.shape[0], -1).sum(dim=1)",
        "ld = -torch.log(lam) - torch.log1p(-lam)\n    return y, ld.reshape(x.shape[0], -1).sum(dim=1) + math.log(1 - 2 * alpha)")],
     "says": "did you keep the log(1 − 2α) of every one?"},
    {"name": "the log-det of the generative direction (sign)", "replace": [(
        "ld = math.log(1 - 2 * alpha) - torch.log(lam) - torch.log1p(-lam)",
        "ld = -(math.log(1 - 2 * alpha) - torch.log(lam) - torch.log1p(-lam))")],
     "says": "wrong sign"},
    {"name": "logit without the α squeeze", "replace": [("lam = alpha + (1 - 2 * alpha) * x", "lam = x")],
     "says": "y should be logit(α + (1 − 2α)x)"},
]
