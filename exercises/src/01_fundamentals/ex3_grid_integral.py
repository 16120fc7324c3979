# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 01_fundamentals/ex3
#     title: ∫ exp(log p) on a grid by the midpoint rule
#     points: 2
#     notebook: 01_flow_fundamentals.ipynb
#     anchor:
#       cell: 89ad72ad
#       text: "# Check: ∫p = 1, the log-det term is needed for it"
#     hidden_checks: h01_fundamentals.py
# ---

# %% [markdown] role="prompt"
# Check normalisation yourself. `integrate_2d(log_prob, lo, hi, n)` should return
# $\int\!\!\int_{[lo,hi]^2} e^{\log p(u)}\,du$ by the midpoint rule on an $n\times n$ grid: cell
# width $h = (hi-lo)/n$, cell centres $lo + h(i + \tfrac12)$, each cell contributing
# $e^{\log p(\text{centre})}\,h^2$. `log_prob` takes a `(N, 2)` float64 tensor of points and returns
# `(N,)` log-densities. Return a Python `float`.

# %% role="answer"
import torch


def integrate_2d(log_prob, lo, hi, n=200):
    """Midpoint-rule integral of exp(log_prob) over the square [lo, hi]²."""
    ### BEGIN SOLUTION
    h = (hi - lo) / n
    c = lo + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    X, Y = torch.meshgrid(c, c, indexing="ij")
    points = torch.stack([X.reshape(-1), Y.reshape(-1)], dim=1)
    return float(torch.exp(log_prob(points)).sum() * h * h)
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("01_fundamentals/ex3-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# `torch.arange(n, dtype=torch.float64) + 0.5` are the cell indices shifted to the centres;
# `torch.meshgrid(c, c, indexing="ij")` gives all $n^2$ pairs; stack them into an `(n², 2)` tensor,
# call `log_prob` once, and multiply the sum of `exp` by the cell area $h^2$.

# %% role="mistakes"
MISTAKES = [
    {"name": "the cell area h² left out", "replace": [("* h * h", "")], "says": "you left out the cell area h²"},
    {"name": "cell corners instead of centres", "replace": [("+ 0.5)", ")")], "says": "use the centres lo + h(i + ½)"},
    {"name": "a tensor returned instead of a float",
     "replace": [("return float(torch.exp(log_prob(points)).sum() * h * h)",
                  "return torch.exp(log_prob(points)).sum() * h * h")],
     "says": "use float(...)"},
]
