# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 07_at_work/ex1
#     title: the free-energy estimator, in log space
#     points: 2
#     notebook: 07_flows_at_work.ipynb
#     anchor:
#       cell: 474d4050
#       text: "### 2.3 Reweighting to the exact Boltzmann distribution"
#     hidden_checks: h07_at_work.py
# ---

# %% [markdown] role="prompt"
# Write `free_energy_difference(log_w, in_a, in_b)` returning $\Delta F = F_B - F_A$ in units of $k_BT$ from
# log-weights `log_w` (a float64 tensor of shape `(N,)`) and boolean masks `in_a`, `in_b` saying which
# samples lie in each region (a sample may lie in neither). Return one number (a `float`). Real
# log-weights can be $\pm 1000$: your estimate must not overflow. The check tries your function on
# small cases with known answers (equal weights, unequal weights, log-weights of $\pm1000$, samples
# outside both regions) and a random one, and tells you what, if anything, is off.

# %% role="answer"
import torch


def free_energy_difference(log_w, in_a, in_b):
    """ΔF = F_B − F_A = −log(Z_B / Z_A) in k_BT, from importance weights w_i = exp(log_w[i])."""
    ### BEGIN SOLUTION
    log_z_a = torch.logsumexp(log_w[in_a], 0)   # log Σ_{i∈A} w_i
    log_z_b = torch.logsumexp(log_w[in_b], 0)   # log Σ_{i∈B} w_i
    return float(log_z_a - log_z_b)
    ### END SOLUTION


# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("07_at_work/ex1-tests")   # ✓, or what is off and by how much

# %% [markdown] role="hint"
# $\log\sum_{i\in B} w_i$ is `torch.logsumexp(log_w[in_b], 0)` — no `exp` of a raw log-weight needed.
# Then $\Delta F = -\big(\log\sum_B w_i - \log\sum_A w_i\big)$.

# %% [markdown] role="notes"
# The free energy of a region $R$ is $F_R = -\log Z_R$ with $Z_R = \int_R \tilde p(x)\,dx$. With samples
# $x_i \sim q$ and weights $w_i = \tilde p(x_i)/q(x_i)$, the importance-sampling estimate is
# $Z_R \approx \frac1N\sum_{i\in R} w_i$; the $\frac1N$ is the same for both regions and cancels in the ratio:
#
# $$\Delta F = F_B - F_A = -\log\frac{Z_B}{Z_A} \approx -\Big(\log\sum_{i\in B} w_i - \log\sum_{i\in A} w_i\Big).$$
#
# Work in log space: `torch.logsumexp` computes $\log\sum_i e^{\ell_i}$ as
# $m + \log\sum_i e^{\ell_i - m}$ with $m = \max_i \ell_i$, so log-weights of $\pm1000$ neither overflow nor
# underflow. Counting samples instead of summing their weights estimates $\Delta F$ under $q$, not under
# $p$; averaging the weights per region instead of summing them is off by the log of the ratio of the
# regions' sample counts, which does not cancel.
#
# The library's version is `flowkit.metrics.free_energy_difference` (it also refuses a region without
# samples, whose free energy cannot be estimated).

# %% role="mistakes"
MISTAKES = [
    {"name": "the sign", "replace": [("return float(log_z_a - log_z_b)", "return float(log_z_b - log_z_a)")],
     "says": "the sign is flipped"},
    {"name": "counting samples instead of summing their weights",
     "replace": [("torch.logsumexp(log_w[in_a], 0)", "torch.log(in_a.sum().double())"),
                 ("torch.logsumexp(log_w[in_b], 0)", "torch.log(in_b.sum().double())")],
     "says": "you counted samples"},
    {"name": "averaging the weights per region instead of summing them",
     "replace": [("torch.logsumexp(log_w[in_a], 0)", "torch.log(log_w[in_a].exp().mean())"),
                 ("torch.logsumexp(log_w[in_b], 0)", "torch.log(log_w[in_b].exp().mean())")],
     "says": "average the weights in each region instead of summing them"},
    {"name": "torch.exp(log_w).sum(): overflow for log-weights of ±1000",
     "replace": [("torch.logsumexp(log_w[in_a], 0)", "torch.log(log_w[in_a].exp().sum())"),
                 ("torch.logsumexp(log_w[in_b], 0)", "torch.log(log_w[in_b].exp().sum())")],
     "says": "over- or underflows"},
    {"name": "log_w[~in_a] for region B", "replace": [("log_w[in_b]", "log_w[~in_a]")], "says": "not ~in_a"},
]
