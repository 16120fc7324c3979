# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 05_glow/ex2
#     title: log|det| of a 1×1 convolution from its LU factors
#     points: 3
#     notebook: 05_glow.ipynb
#     anchor:
#       cell: 44a8850c
#       text: "plain log|det W| should match slogdet"
#     hidden_checks: h05_glow.py
# ---

# %% [markdown] role="prompt"
# An invertible 1×1 convolution with weight $W \in \mathbb R^{C\times C}$ applies $W$ to the channel
# vector of every pixel, so $\log|\det J| = H\cdot W\cdot\log|\det W|$. With $W = PLU$ ($P$ a
# permutation, $L$ unit lower-triangular, $U$ upper-triangular), $\log|\det W| = \sum_i \log|U_{ii}|$
# in $O(C)$ (notebook 03). Write `conv1x1_log_abs_det(weight, height, width)` with `torch.linalg.lu` and
# the diagonal of $U$ — **without** a determinant routine. Return a 0-d tensor.

# %% role="answer"
import torch


def conv1x1_log_abs_det(weight, height, width):
    """log|det J| of a 1×1 convolution with the (C, C) `weight` on height × width images."""
    ### BEGIN SOLUTION
    P, L, U = torch.linalg.lu(weight)
    return height * width * torch.log(torch.abs(torch.diagonal(U))).sum()
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("05_glow/ex2-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# `torch.linalg.lu(weight)` returns the three factors $P, L, U$; $\det P = \pm1$ and $\det L = 1$, so only $U$'s diagonal
# matters — with `torch.abs`, since a diagonal entry (and $\det W$) may be negative. Then multiply by
# the number of pixels.

# %% role="mistakes"
MISTAKES = [
    {"name": "the pixels left out", "replace": [("return height * width * torch.log(", "return torch.log(")],
     "says": "Multiply by H·W"},
    {"name": "the diagonal of W instead of U", "replace": [("torch.diagonal(U)", "torch.diagonal(weight)")],
     "says": "use the P, L, U of torch.linalg.lu"},
]
