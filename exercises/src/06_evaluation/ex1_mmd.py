# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 06_evaluation/ex1
#     title: unbiased MMD² and a two-sample decision
#     points: 3
#     notebook: 06_flow_evaluation.ipynb
#     anchor:
#       cell: 4b8cf0aa
#       text: "for key, r in results_2d.items():"
#     hidden_checks: h06_evaluation.py
# ---

# %% [markdown] role="prompt"
# The table's MMD column, by hand. The unbiased squared maximum mean discrepancy with the Gaussian
# kernel $k(a, b) = \exp(-\lVert a-b\rVert^2 / 2\sigma^2)$ is
# $$\widehat{\mathrm{MMD}}^2 = \frac{1}{n(n-1)}\sum_{i\ne j} k(x_i, x_j)
# + \frac{1}{m(m-1)}\sum_{i\ne j} k(y_i, y_j) - \frac{2}{nm}\sum_{i,j} k(x_i, y_j).$$
# 1. `mmd2(x, y, sigma)` for `(n, D)` and `(m, D)` tensors: return it as a `float` (leave out the
#    $i = j$ terms; do not call `fk.metrics.mmd`).
# 2. `same_distribution(x, y, alpha=0.05)`: run `fk.metrics.mmd_test(x, y, seed=0)` (a permutation test)
#    and return `True` when its p-value is above `alpha` — no evidence that the distributions differ.

# %% role="answer"
import torch

import flowkit as fk


def mmd2(x, y, sigma):
    """Unbiased MMD² between the samples x (n, D) and y (m, D), Gaussian kernel of width sigma."""
    ### BEGIN SOLUTION
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = (torch.exp(-torch.cdist(a, b) ** 2 / (2 * sigma**2)) for a, b in ((x, x), (y, y), (x, y)))
    return float((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                 + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
    ### END SOLUTION


def same_distribution(x, y, alpha=0.05):
    """True when the MMD permutation test (seed 0) does not reject P_x = P_y at level alpha."""
    ### BEGIN SOLUTION
    return bool(fk.metrics.mmd_test(x, y, seed=0).p_value > alpha)
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("06_evaluation/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# `torch.cdist(a, b) ** 2` holds all squared distances. For the x–x sum take `kxx.sum()` minus its
# diagonal (the $n$ terms $k(x_i, x_i) = 1$) and divide by $n(n-1)$; the cross term is a plain mean.

# %% role="mistakes"
MISTAKES = [
    {"name": "the i = j terms kept (the biased estimate)",
     "replace": [("(kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))", "kxx.mean()"),
                 ("(kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))", "kyy.mean()")],
     "says": "you kept the i = j terms"},
    {"name": "the kernel without the 2 in 2σ²", "replace": [("/ (2 * sigma**2)", "/ sigma**2")],
     "says": "the 2 in 2σ²"},
    {"name": "the decision inverted", "replace": [(".p_value > alpha)", ".p_value <= alpha)")],
     "says": "Return True when the p-value is above alpha"},
]
