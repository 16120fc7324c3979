# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 02_planar/ex3
#     title: push base samples through the flow, and look
#     points: 1
#     notebook: 02_planar_and_radial_flows.ipynb
#     anchor:
#       cell: 317f9dea
#       text: "squeeze = fk.Planar(2).double()"
#     hidden_checks: h02_planar.py
# ---

# %% [markdown] role="prompt"
# Sampling is the other half of a flow. `push_forward(transform, n, seed)` draws `n` base samples
# with `torch.randn(n, D, generator=torch.Generator().manual_seed(seed))` (`D` is
# `transform.latent_shape[0]`) and returns `(z, x)` with `x = transform.forward(z)[0]`, computed
# under `torch.no_grad()`. After the check, the next cell uses your three pieces — `PlanarFlow`,
# `flow_log_prob` and `push_forward` — to plot the samples before and after, and verifies your density
# against a histogram of your samples.

# %% role="answer"
import torch


def push_forward(transform, n, seed=0):
    """(z, x): n base samples z ~ N(0, I) and their images x = f(z)."""
    ### BEGIN SOLUTION
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, transform.latent_shape[0], generator=g)
    with torch.no_grad():
        x, _ = transform.forward(z)
    return z, x
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("02_planar/ex3-tests")   # ✓, or what is off and by how much

# %% role="after"
import matplotlib.pyplot as plt
import numpy as np

import flowkit as fk

with fk.course.when_done("PlanarFlow", "flow_log_prob", "push_forward"):
    my_flow = PlanarFlow(2)
    with torch.no_grad():                       # a strong bend: w along x₁, û along x₂
        my_flow.w.copy_(torch.tensor([3.0, 0.0]))
        my_flow.u.copy_(torch.tensor([0.0, 2.0]))
        my_flow.b.zero_()
    my_z, my_x = push_forward(my_flow, 40_000, seed=0)
    fig_turn, axes_turn = plt.subplots(1, 3, figsize=(8.2, 2.8), constrained_layout=True)
    fk.viz.plot_samples(my_z[:3000], ax=axes_turn[0], bounds=4.0, title="before: z ~ N(0, I)")
    fk.viz.plot_samples(my_x[:3000], ax=axes_turn[1], bounds=4.0, title="after: x = f(z)")
    with torch.no_grad():
        fk.viz.plot_density(lambda p: flow_log_prob(my_flow, p), ax=axes_turn[2], bounds=4.0, title="your p_x(x)")
    plt.show()
    counts, e1, e2 = np.histogram2d(my_x[:, 0].numpy(), my_x[:, 1].numpy(), bins=16, range=[[-4, 4], [-4, 4]])
    fine, *_ = fk.grid.grid_points(4.0, 160)            # 10 × 10 points inside every histogram bin
    with torch.no_grad():
        p_fine = flow_log_prob(my_flow, fine).exp().reshape(160, 160).T.numpy()   # rows: x₁ bins, like counts
    expected = len(my_x) * p_fine.reshape(16, 10, 16, 10).mean(axis=(1, 3)) * 0.5**2
    noise = np.abs(counts - expected)[expected > 20] / np.sqrt(expected[expected > 20])
    print(f"histogram of {len(my_x):,} samples vs your density: largest deviation {noise.max():.1f} noise units")
    assert noise.max() < 6, "your samples and your density disagree: is x = f(z) the same map as in flow_log_prob?"
    print("✓ the change of variables predicts where the samples land")

# %% [markdown] role="hint"
# `transform.latent_shape` is the shape of one base sample, e.g. `(2,)`. Draw `z` first, with the
# generator; then push it through `transform.forward` inside `with torch.no_grad():` and keep only the
# output (the log-det is not needed here).

# %% role="mistakes"
MISTAKES = [
    {"name": "no generator (different base samples)", "replace": [("generator=g)", ")")],
     "says": "draw z with torch.randn(n, D, generator=torch.Generator().manual_seed(seed))"},
    {"name": "x returned with its graph", "replace": [("    with torch.no_grad():\n        x, _ = transform.forward(z)", "    x, _ = transform.forward(z.requires_grad_())")],
     "says": "compute it under torch.no_grad()"},
    {"name": "(x, z) instead of (z, x)", "replace": [("return z, x", "return x, z")], "says": "return (z, x) in this order"},
]
