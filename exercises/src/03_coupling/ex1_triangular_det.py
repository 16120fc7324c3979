# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: flowkit
#   flowkit:
#     exercise: 03_coupling/ex1
#     title: the determinant of a triangular matrix, proved and timed
#     points: 2
#     notebook: 03_coupling_layers.ipynb
#     anchor:
#       cell: ac46404b
#       text: "assert torch.equal(J_fresh, torch.eye(D, dtype=torch.float64))"
#     hidden_checks: h03_coupling.py
# ---

# %% [markdown] role="prompt"
# Before reading on: **why** is the determinant of a triangular matrix the product of its diagonal?
#
# 1. *On paper.* Prove that $\det T = \prod_{i=1}^{d} T_{ii}$ for every lower-triangular
#    $T \in \mathbb R^{d\times d}$ (induction on $d$ with a cofactor expansion works; so does the
#    Leibniz formula). Write your proof in the cell below the code; the model proof is in the
#    solutions file, and the next section of the notebook sketches one too.
# 2. *In code.* Write `triangular_log_abs_det(T)`: $\log|\det T|$ of a triangular matrix, or of a
#    batch `(..., d, d)` of them, in $O(d)$ per matrix — from the diagonal, **without** a determinant
#    routine. The check compares it with `torch.linalg.slogdet`; the cell after it times both as $d$
#    grows, which is why a coupling layer's log-det is cheap.

# %% role="answer"
import torch


def triangular_log_abs_det(T):
    """log|det T| of triangular matrices T of shape (..., d, d), from the diagonal."""
    ### BEGIN SOLUTION
    return torch.log(torch.abs(torch.diagonal(T, dim1=-2, dim2=-1))).sum(dim=-1)
    ### END SOLUTION


# %% [markdown] role="written"
# <!-- BEGIN SOLUTION -->
# **Claim.** If $T \in \mathbb R^{d\times d}$ is lower-triangular ($T_{ij} = 0$ whenever $j > i$),
# then $\det T = T_{11} T_{22} \cdots T_{dd}$.
#
# **Proof, by induction on $d$.** For $d = 1$, $\det T = T_{11}$. Let $d \ge 2$ and assume the claim
# for $(d-1)\times(d-1)$ matrices. Expand the determinant along the first row (Laplace / cofactor
# expansion):
# $$\det T = \sum_{j=1}^{d} (-1)^{1+j}\, T_{1j}\, \det M_{1j},$$
# where $M_{1j}$ is $T$ without row 1 and column $j$. Every $T_{1j}$ with $j > 1$ lies above the
# diagonal, so it is 0, and only the $j = 1$ term survives: $\det T = T_{11}\det M_{11}$. The minor
# $M_{11}$ (rows and columns $2..d$) is again lower-triangular, with diagonal $T_{22}, \dots, T_{dd}$, so
# by the induction hypothesis $\det M_{11} = \prod_{i=2}^{d} T_{ii}$. Hence $\det T = \prod_{i=1}^{d} T_{ii}$. ∎
#
# An upper-triangular $T$ has a lower-triangular transpose with the same diagonal, and
# $\det T^\top = \det T$. Taking logs, $\log|\det T| = \sum_i \log|T_{ii}|$: $d$ logarithms instead of
# the $O(d^3)$ of an LU factorisation. A coupling layer's Jacobian is (block-)triangular with
# diagonal $1, \dots, 1, s_1, \dots$, so its log-det is $\sum_i \log s_i$ — a by-product of the forward pass.
# <!-- END SOLUTION -->

# %% role="check"
from flowkit.course.checks import check_exercise

check_exercise("03_coupling/ex1-tests")   # ✓, or what is off and by how much

# %% role="after"
import timeit

import flowkit as fk

with fk.course.when_done("triangular_log_abs_det"):
    print("     d   yours (µs)   slogdet (µs)   slogdet / yours   |difference|")
    for d_turn in (16, 128, 1024):
        T_turn = torch.tril(torch.randn(d_turn, d_turn, dtype=torch.float64)) + 3 * torch.eye(d_turn, dtype=torch.float64)
        t_yours = min(timeit.repeat(lambda: triangular_log_abs_det(T_turn), number=5, repeat=3)) / 5
        t_lu = min(timeit.repeat(lambda: torch.linalg.slogdet(T_turn), number=5, repeat=3)) / 5
        err_turn = abs(float(triangular_log_abs_det(T_turn)) - float(torch.linalg.slogdet(T_turn)[1]))
        print(f"{d_turn:6d} {1e6 * t_yours:12.1f} {1e6 * t_lu:14.1f} {t_lu / t_yours:15.0f}×   {err_turn:12.1e}")
    assert t_lu / t_yours > 3, "at d = 1024 your log-det is hardly faster than slogdet: does it compute a full determinant?"
    print("✓ the same number, and the gap grows with d: O(d) against O(d³)")

# %% [markdown] role="hint"
# *Proof:* expand along the first row; which entries of that row can be non-zero? *Code:*
# `torch.diagonal(T, dim1=-2, dim2=-1)` takes the diagonal of every matrix of a batch; a diagonal
# entry may be negative, so take `torch.abs` before `torch.log`, then sum over the last dimension.

# %% role="mistakes"
MISTAKES = [
    {"name": "no absolute value", "replace": [("torch.log(torch.abs(torch.diagonal(", "torch.log((torch.diagonal(")],
     "says": "needs the absolute value"},
    {"name": "a full determinant routine", "replace": [("return torch.log(torch.abs(torch.diagonal(T, dim1=-2, dim2=-1))).sum(dim=-1)",
                                                      "return torch.linalg.slogdet(T)[1]")],
     "says": "without a determinant routine"},
    {"name": "the diagonal over the wrong dimensions", "replace": [("torch.diagonal(T, dim1=-2, dim2=-1)", "torch.diagonal(T)")],
     "says": "dim1=-2, dim2=-1"},
]
