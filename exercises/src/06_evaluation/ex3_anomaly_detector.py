# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 06_evaluation/ex3
#     title: an anomaly detector from a flow, scored by AUROC
#     points: 3
#     notebook: 06_flow_evaluation.ipynb
#     anchor:
#       cell: 68c4fadf
#       text: 'for c in ("Gaussian noise σ=2", "inverted 16 − x", "uniform noise", "shifted 2 px"):'
#     hidden_checks: h06_evaluation.py
# ---

# %% [markdown] role="prompt"
# Build a detector of your own, end to end, on 2-D data where you can see what it does:
#
# * `make_detector(x_train)`: build a flow and train it by maximum likelihood on the *normal* points
#   `x_train` (two moons); return the trained `fk.Flow`. Keep it to a few seconds of CPU: use
#   `fk.course.budget(full, fast)` for the number of steps.
# * `anomaly_scores(flow, x)`: one score per point, **higher = more anomalous**: the negative
#   log-likelihood $-\log p(x)$, as a tensor.
#
# The next cell trains your detector; the check then scores fresh two-moons points against anomalies
# drawn uniformly from the square $[-3, 3]^2$ and computes the AUROC from your scores. **The bar:**
# AUROC ≥ 0.85 (a single Gaussian fitted to the moons reaches about 0.75).

# %% role="answer"
import torch

import flowkit as fk


def make_detector(x_train):
    """A flow trained on the normal points x_train; its −log p is the anomaly score."""
    ### BEGIN SOLUTION
    layers = [fk.AffineCoupling(2, hidden=(32, 32))]
    for _ in range(3):   # a Reverse between couplings; the coupling next to the data transforms x2 given x1
        layers += [fk.Reverse(2), fk.AffineCoupling(2, hidden=(32, 32))]
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
    fk.fit(flow, x_train, steps=fk.course.budget(1500, 400), lr=3e-3, progress=False, seed=0)
    return flow
    ### END SOLUTION


def anomaly_scores(flow, x):
    """−log p(x) per point: higher means more anomalous."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return -flow.log_prob(x)
    ### END SOLUTION


# %% role="given"
with fk.course.when_done("make_detector", "anomaly_scores"):
    with fk.rng.seeded(0):
        detector = make_detector(fk.data.sample("two_moons", 2000, seed=0))
    normal_turn = fk.data.sample("two_moons", 500, seed=1)
    odd_turn = 6 * torch.rand(500, 2, generator=torch.Generator().manual_seed(2)) - 3
    print(f"AUROC of your detector: {fk.metrics.auroc(anomaly_scores(detector, normal_turn), anomaly_scores(detector, odd_turn)):.3f}"
          " (the bar: 0.85)")

# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("06_evaluation/ex3-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# Any flow of notebook 03 works: a few `fk.AffineCoupling(2)` layers with `fk.Reverse(2)` in between,
# trained with `fk.fit(flow, x_train, steps=..., progress=False)`. The score is
# `-flow.log_prob(x)` — mind the sign: a *low* density means *anomalous*.

# %% role="mistakes"
MISTAKES = [
    {"name": "log p instead of −log p", "replace": [("return -flow.log_prob(x)", "return flow.log_prob(x)")],
     "says": "higher must mean more anomalous"},
    {"name": "one score for the whole batch", "replace": [("return -flow.log_prob(x)", "return -flow.log_prob(x).mean()")],
     "says": "one score per point"},
]
