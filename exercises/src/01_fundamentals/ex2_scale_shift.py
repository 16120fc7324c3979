# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 01_fundamentals/ex2
#     title: ScaleShift, x = exp(s)·z + t, with its log-dets
#     points: 3
#     notebook: 01_flow_fundamentals.ipynb
#     anchor:
#       cell: 0690085d
#       text: "# Check: the default report passes; the strict one fails exactly on the float32 lines."
#     hidden_checks: h01_fundamentals.py
# ---

# %% [markdown] role="prompt"
# Now write a transform of your own, the way every flowkit layer is written. `ScaleShift` maps
# $z \mapsto x = e^{s} \odot z + t$ elementwise, with learnable vectors $s$ (`log_scale`) and
# $t$ (`shift`). Following the course convention, `forward(z)` returns `(x, log|det ∂x/∂z|)` and
# `inverse(x)` returns `(z, log|det ∂z/∂x|)`, each log-det of shape `(batch,)`. The Jacobian is
# diagonal: what is its log-determinant? When the check passes, `fk.check(ScaleShift(3),
# torch.randn(64, 3))` passes too.

# %% role="answer"
import math

import torch

import flowkit as fk


class ScaleShift(fk.Transform):
    """x = exp(log_scale) * z + shift, elementwise on vectors of `features` numbers."""

    def __init__(self, features):
        super().__init__(features)
        self.log_scale = torch.nn.Parameter(0.5 * torch.randn(features))
        self.shift = torch.nn.Parameter(torch.randn(features))

    def forward(self, z):
        ### BEGIN SOLUTION
        x = z * torch.exp(self.log_scale) + self.shift
        return x, self.log_scale.sum().expand(z.shape[0])
        ### END SOLUTION

    def inverse(self, x):
        ### BEGIN SOLUTION
        z = (x - self.shift) * torch.exp(-self.log_scale)
        return z, (-self.log_scale.sum()).expand(x.shape[0])
        ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("01_fundamentals/ex2-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# $\partial x_i / \partial z_j = e^{s_i}$ if $i = j$, else 0, so $\log|\det| = \sum_i s_i$ — the
# same number for every row of the batch: `self.log_scale.sum().expand(z.shape[0])`. The inverse
# undoes both steps in reverse order, $z = (x - t)\,e^{-s}$, and its log-det is minus the forward one.

# %% role="mistakes"
MISTAKES = [
    {"name": "the log-det off by log 2",
     "replace": [("return x, self.log_scale.sum().expand(z.shape[0])",
                  "return x, (self.log_scale.sum() + math.log(2)).expand(z.shape[0])")],
     "says": "off by a constant +0.6931 = log 2"},
    {"name": "the inverse's log-det with the forward's sign",
     "replace": [("return z, (-self.log_scale.sum()).expand(x.shape[0])",
                  "return z, self.log_scale.sum().expand(x.shape[0])")],
     "says": "the inverse's log-det is minus the forward one"},
    {"name": "one log-det per feature instead of per sample",
     "replace": [("return x, self.log_scale.sum().expand(z.shape[0])",
                  "return x, self.log_scale.expand(z.shape[0], -1)")],
     "says": "one value per row of the batch"},
]
