# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 06_evaluation/ex2
#     title: AUROC by the Mann–Whitney formula, ties ½
#     points: 2
#     notebook: 06_flow_evaluation.ipynb
#     anchor:
#       cell: 9e791d67
#       text: 'a0, a1 = heldout[0]["auroc"], heldout[1]["auroc"]'
#     hidden_checks: h06_evaluation.py
# ---

# %% [markdown] role="prompt"
# Write the AUROC used above. It is the probability that a random anomalous input scores higher than
# a random normal one, **ties counting ½**:
# $$\text{AUROC} = \frac{1}{n_\text{in} n_\text{out}}\sum_{i,j}\Big(\mathbb 1[s^\text{out}_j > s^\text{in}_i]
# + \tfrac12\,\mathbb 1[s^\text{out}_j = s^\text{in}_i]\Big)$$
# (the Mann–Whitney $U$ statistic over $n_\text{in} n_\text{out}$). Implement `auroc(scores_in, scores_out)`
# for 1-D tensors and return a Python `float`; do not call `fk.metrics.auroc`.

# %% role="answer"
import torch


def auroc(scores_in, scores_out):
    """P(s_out > s_in) + ½·P(s_out = s_in), as a float."""
    ### BEGIN SOLUTION
    a = torch.as_tensor(scores_in, dtype=torch.float64).reshape(1, -1)
    b = torch.as_tensor(scores_out, dtype=torch.float64).reshape(-1, 1)
    return float(((b > a).double() + 0.5 * (b == a).double()).mean())
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("06_evaluation/ex2-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# Compare every pair at once: `scores_out.reshape(-1, 1) > scores_in.reshape(1, -1)` is an
# `(n_out, n_in)` table of booleans; add ½ of the `==` table and take the mean of the sum.

# %% role="mistakes"
MISTAKES = [
    {"name": "ties count 0", "replace": [(" + 0.5 * (b == a).double()", "")], "says": "Ties (equal scores) count ½"},
    {"name": "in and out swapped", "replace": [("(b > a)", "(a > b)")], "says": "that is 1 − AUROC"},
]
