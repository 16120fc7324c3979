# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 03_coupling/ex2
#     title: an affine coupling layer with a mask, both directions
#     points: 4
#     notebook: 03_coupling_layers.ipynb
#     anchor:
#       cell: 0de28c19
#       text: 'for name, tr in {"Permute(6)": perm6, "Reverse(6)": rev6}.items():'
#     hidden_checks: h03_coupling.py
# ---

# %% [markdown] role="prompt"
# Build a coupling layer of your own, with a binary mask $b$ ($b_i = 1$: feature $i$ is kept) and
# a **positive** scale $s > 0$ instead of a log-scale:
# $$x = b \odot z + (1 - b) \odot \big(s \odot z + t\big), \qquad (s, t) = \texttt{scale\_and\_shift}(b \odot z).$$
# The conditioner sees only the kept features, so the Jacobian is triangular (after reordering) with
# diagonal $1$ on the kept features and $s_i$ on the others: $\log|\det J| = \sum_{i:\,b_i = 0}\log s_i$.
# `scale_and_shift` is given (it returns $s > 0$ and $t$ for every feature). Write `forward` and
# `inverse`, each returning `(output, log|det J|)` of its own direction. The check compares both with
# the Jacobian of your map and finally runs `fk.check` on your layer.

# %% role="answer"
import torch

import flowkit as fk


class MaskedAffineCoupling(fk.Transform):
    """x = b⊙z + (1 − b)⊙(s⊙z + t), (s, t) from b⊙z, s > 0 (Dinh et al. 2017, with a positive scale)."""

    def __init__(self, features, mask, hidden=32, seed=0):
        super().__init__(features)
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.get_default_dtype()).clone())
        with fk.rng.seeded(seed):
            self.net = fk.MLP(features, 2 * features, hidden=(hidden, hidden), zero_init=False)

    def scale_and_shift(self, z_kept):
        """Given: s = softplus(raw) + 0.01 > 0 and t, one of each per feature, from the kept features."""
        raw, t = self.net(z_kept).chunk(2, dim=1)
        return torch.nn.functional.softplus(raw) + 0.01, t

    def forward(self, z):
        ### BEGIN SOLUTION
        b = self.mask
        s, t = self.scale_and_shift(b * z)
        x = b * z + (1 - b) * (s * z + t)
        return x, ((1 - b) * torch.log(s)).sum(dim=1)
        ### END SOLUTION

    def inverse(self, x):
        ### BEGIN SOLUTION
        b = self.mask
        s, t = self.scale_and_shift(b * x)
        z = b * x + (1 - b) * (x - t) / s
        return z, -((1 - b) * torch.log(s)).sum(dim=1)
        ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("03_coupling/ex2-tests")   # ✓, or what is off and by how much

# %% role="after"
with fk.course.when_done("MaskedAffineCoupling"):
    my_coupling = MaskedAffineCoupling(6, fk.alternating_mask(6), seed=1)
    print(fk.check(my_coupling, torch.randn(256, 6)))

# %% [markdown] role="hint"
# Use `b = self.mask` (a float tensor of 0s and 1s) to mix the two cases: `b * z` keeps,
# `(1 - b) * (...)` transforms. In `inverse` the kept features are the same in $x$ and $z$
# ($b \odot x = b \odot z$), so `scale_and_shift(b * x)` gives the *same* $s, t$, and
# $z = b\odot x + (1-b)\odot (x - t)/s$. The log-det sums $\log s_i$ over the transformed features only.

# %% role="mistakes"
MISTAKES = [
    {"name": "the mask forgotten in the log-det", "replace": [("return x, ((1 - b) * torch.log(s)).sum(dim=1)",
                                                             "return x, torch.log(s).sum(dim=1)")],
     "says": "forgotten mask"},
    {"name": "a sign error in the inverse", "replace": [("z = b * x + (1 - b) * (x - t) / s", "z = b * x + (1 - b) * (x + t) / s")],
     "says": "z_b = (x_b − t)/s"},
    {"name": "the conditioner sees every feature", "replace": [("s, t = self.scale_and_shift(b * z)", "s, t = self.scale_and_shift(z)")],
     "says": "s and t must come from the kept features only"},
    {"name": "Σ s instead of Σ log s", "replace": [("return x, ((1 - b) * torch.log(s)).sum(dim=1)",
                                                  "return x, ((1 - b) * s).sum(dim=1)")],
     "says": "not Σ s_i"},
]
