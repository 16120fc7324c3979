# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 05_glow/ex1
#     title: ActNorm with its data-dependent initialisation
#     points: 3
#     notebook: 05_glow.ipynb
#     anchor:
#       cell: 456cdc73
#       text: "err_restored = max((restored.bias - an.bias).abs().max().item()"
#     hidden_checks: h05_glow.py
# ---

# %% [markdown] role="prompt"
# Build ActNorm yourself, initialisation included, for images `(batch, C, H, W)`:
#
# * `forward(z)`: $x_{c,h,w} = z_{c,h,w}\,e^{s_c} + b_c$ and `inverse(x)`: $z = (x - b_c)\,e^{-s_c}$, each
#   returning its log-det $\pm H W\sum_c s_c$ (shape `(batch,)`; read `H, W` from the input);
# * `initialize(x)`: set `bias` and `log_scale` from a batch `x` **in place** so that `inverse(x)` has
#   mean 0 and standard deviation 1 in every channel — statistics over the batch and all $H\times W$
#   pixels of that channel (`unbiased=False`).
#
# Do not use `fki.ActNorm`. The check initialises your layer on batches with known per-channel
# statistics and compares everything with the formulas above.

# %% role="answer"
import torch

import flowkit as fk


class MyActNorm(fk.Transform):
    """x = z·exp(log_scale_c) + bias_c per channel c of (batch, C, H, W) images (Kingma & Dhariwal, 2018)."""

    def __init__(self, num_channels):
        super().__init__()
        self.log_scale = torch.nn.Parameter(torch.zeros(num_channels))
        self.bias = torch.nn.Parameter(torch.zeros(num_channels))

    def initialize(self, x):
        """Data-dependent initialisation: inverse(x) gets mean 0 and std 1 in every channel."""
        ### BEGIN SOLUTION
        flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1)      # (C, batch·H·W)
        with torch.no_grad():
            self.bias.copy_(flat.mean(dim=1))
            self.log_scale.copy_(torch.log(flat.std(dim=1, unbiased=False)))
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        s, b = self.log_scale.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
        hw = z.shape[2] * z.shape[3]
        return z * torch.exp(s) + b, (hw * self.log_scale.sum()).expand(z.shape[0])
        ### END SOLUTION

    def inverse(self, x):
        ### BEGIN SOLUTION
        s, b = self.log_scale.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
        hw = x.shape[2] * x.shape[3]
        return (x - b) * torch.exp(-s), (-hw * self.log_scale.sum()).expand(x.shape[0])
        ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("05_glow/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# `x.transpose(0, 1).reshape(C, -1)` puts every value of channel $c$ in row $c$; its mean is $b_c$ and
# its (biased) standard deviation $\sigma_c$ gives $s_c = \log\sigma_c$, because the inverse divides by
# $e^{s_c}$. Write into the parameters under `torch.no_grad()` with `.copy_(...)`. View the parameters
# as `(1, C, 1, 1)` to broadcast over images; each $e^{s_c}$ acts on $H\cdot W$ pixels.

# %% role="mistakes"
MISTAKES = [
    {"name": "the log-det without H·W", "replace": [("hw = z.shape[2] * z.shape[3]", "hw = 1")], "says": "H·W = "},
    {"name": "log of the variance instead of the standard deviation",
     "replace": [("torch.log(flat.std(dim=1, unbiased=False))", "torch.log(flat.var(dim=1, unbiased=False))")],
     "says": "not the variance"},
    {"name": "statistics per pixel, not per channel",
     "replace": [("flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1)      # (C, batch·H·W)",
                  "flat = x.detach()[:, :, 0, 0].T                              # (C, batch): one pixel only")],
     "says": "over the batch and all H·W pixels"},
    {"name": "the sign of log_scale", "replace": [("self.log_scale.copy_(torch.log(", "self.log_scale.copy_(-torch.log(")],
     "says": "log_scale_c = +log σ_c"},
]
