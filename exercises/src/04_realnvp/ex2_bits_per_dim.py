# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 04_realnvp/ex2
#     title: bits per dimension, with the dequantization term
#     points: 2
#     notebook: 04_realnvp.ipynb
#     anchor:
#       cell: 4a9b1e81
#       text: "total_fresh = sum(terms_fresh.values())"
#     hidden_checks: h04_realnvp.py
# ---

# %% [markdown] role="prompt"
# Do the bookkeeping of this section yourself. Images with $K$ grey levels are dequantized,
# $y = (x + u)/K \in [0,1)^D$, and the flow models $y$. The $1/K$ scaling is a change of variables
# too: it contributes $D\log K$ nats, so
# $$\text{bpd} = \frac{-\log p(y) + D\log K}{D\log 2}.$$
# Implement `bits_per_dim(nll_nats, num_dims, n_bins)` where `nll_nats` is $-\log p(y)$ — a float,
# or a tensor with one value per image (return the same kind). *Known answer:* a model uniform on
# $[0,1)^D$ ($\log p \equiv 0$) has exactly $\log_2 K$ bits/dim.

# %% role="answer"
import math


def bits_per_dim(nll_nats, num_dims, n_bins):
    """Bits/dim of K-level images from −log p(y) (nats) of the dequantized y = (x + u)/K."""
    ### BEGIN SOLUTION
    return (nll_nats + num_dims * math.log(n_bins)) / (num_dims * math.log(2))
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("04_realnvp/ex2-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# Three steps: add the $D\log K$ nats of the $1/K$ scaling to the NLL, divide by $D$ (per dimension),
# divide by $\log 2$ (nats → bits). Plain arithmetic works for floats and tensors alike.

# %% role="mistakes"
MISTAKES = [
    {"name": "no dequantization term", "replace": [("(nll_nats + num_dims * math.log(n_bins))", "nll_nats")],
     "says": "You left out the dequantization term"},
    {"name": "nats instead of bits", "replace": [(" / (num_dims * math.log(2))", " / num_dims")],
     "says": "That is nats per dimension"},
    {"name": "the dequantization term subtracted", "replace": [("nll_nats + num_dims", "nll_nats - num_dims")],
     "says": "bpd = (−log p(y) + D·log K) / (D·log 2)"},
]
