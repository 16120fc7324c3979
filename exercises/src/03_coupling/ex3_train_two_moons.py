# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 03_coupling/ex3
#     title: a flow trained on two moons, judged on held-out data
#     points: 3
#     notebook: 03_coupling_layers.ipynb
#     anchor:
#       cell: df8a00b0
#       text: "The swiss roll's density is blurrier than the moons'"
#     hidden_checks: h03_coupling.py
# ---

# %% [markdown] role="prompt"
# Train a flow of your own and judge it the honest way, on data it has never seen.
#
# * `make_flow(n_layers, hidden)`: an `fk.Flow` over `fk.StandardNormal(2)` whose transform composes
#   `n_layers` couplings `fk.AffineCoupling(2, hidden=(hidden, hidden))` with an `fk.Reverse(2)`
#   between consecutive ones (so both coordinates get transformed), like `make_coupling_flow` above:
#   the layer next to the data is a coupling, which transforms $x_2$ given $x_1$.
# * `heldout_log_likelihood(flow, x)`: the mean exact log-likelihood, in nats, of the points `x`, as a
#   Python `float`.
#
# The next cell trains `make_flow()` on 2000 two-moons points by maximum likelihood. **The bar:** a
# held-out log-likelihood above **−2.9 nats** per point (a single Gaussian fitted to the same data
# scores about −3.3). The check draws fresh held-out points, and also verifies that your flow's
# density integrates to 1.

# %% role="answer"
import torch

import flowkit as fk


def make_flow(n_layers=4, hidden=64):
    """A RealNVP-style flow for 2-D data: n_layers couplings, a Reverse between consecutive ones."""
    ### BEGIN SOLUTION
    layers = [fk.AffineCoupling(2, hidden=(hidden, hidden))]
    for _ in range(n_layers - 1):
        layers += [fk.Reverse(2), fk.AffineCoupling(2, hidden=(hidden, hidden))]
    return fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
    ### END SOLUTION


def heldout_log_likelihood(flow, x):
    """Mean log p(x) (nats) of the held-out points x, as a float."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return float(flow.log_prob(x).mean())
    ### END SOLUTION


# %% role="given"
with fk.course.when_done("make_flow", "heldout_log_likelihood"):
    turn_train, turn_val, turn_test = fk.data.train_val_test("two_moons", 2000, 500, 1000, seed=0)
    with fk.rng.seeded(0):
        trained_flow = make_flow()
    turn_history = fk.fit(trained_flow, turn_train, steps=fk.course.budget(2000, 600), lr=2e-3, val_data=turn_val,
                          progress=False, seed=0)
    print(f"held-out log-likelihood: {heldout_log_likelihood(trained_flow, turn_test):.3f} nats per point "
          "(the bar: −2.9)")

# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("03_coupling/ex3-tests")   # ✓, or what is off and by how much

# %% role="after"
import matplotlib.pyplot as plt

with fk.course.when_done("make_flow", "trained_flow"):
    fig_turn, axes_turn = plt.subplots(1, 3, figsize=(8.2, 2.8), constrained_layout=True)
    fk.viz.plot_samples(turn_test, ax=axes_turn[0], bounds=3.0, title="held-out two moons")
    fk.viz.plot_samples(trained_flow.sample(1000), ax=axes_turn[1], bounds=3.0, title="your flow's samples",
                        color="#D55E00")
    fk.viz.plot_density(trained_flow, ax=axes_turn[2], bounds=3.0, title="your learned density")
    plt.show()

# %% [markdown] role="hint"
# Collect the layers in a list — a coupling, then `n_layers - 1` times a `Reverse` and a coupling (the
# list ends with a coupling, next to the data) — wrap the list in
# `fk.Compose`, and give that and the base distribution to `fk.Flow`. For the likelihood:
# `flow.log_prob(x)` gives one log-density per point; take the mean (not the sum), under
# `torch.no_grad()`, and turn it into a Python number with `float(...)`.

# %% role="mistakes"
MISTAKES = [
    {"name": "the sum instead of the mean", "replace": [("return float(flow.log_prob(x).mean())", "return float(flow.log_prob(x).sum())")],
     "says": "that is the sum over the points"},
    {"name": "the negative log-likelihood", "replace": [("return float(flow.log_prob(x).mean())", "return float(-flow.log_prob(x).mean())")],
     "says": "that is minus the log-likelihood"},
]
