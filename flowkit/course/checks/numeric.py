"""Numerics the checks compute on their own side, in float64, from the learner's outputs.

* :func:`fd_jacobians`: Jacobians by central differences, from one batched evaluation of the
  learner's map at points the check chooses — so a reported log-det can be compared with
  ``log|det J|`` of the map the learner actually implemented.
* :func:`midpoint_grid` and :func:`evaluate_mixed`: evaluate the learner's density on a grid
  with held-out test points shuffled in among the grid points, in one call, so that the
  learner's code cannot tell which points are which.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["fd_jacobians", "fd_logabsdet", "midpoint_grid", "evaluate_mixed"]


def fd_jacobians(evaluate: Callable[[np.ndarray], np.ndarray], points: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Jacobians ``(n, D, D)`` of a map ``(m, D) -> (m, D)`` at ``points (n, D)`` (one call)."""
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    steps = np.eye(d) * eps
    shifted = np.concatenate([points[:, None, :] + steps[None], points[:, None, :] - steps[None]], axis=1)
    values = np.asarray(evaluate(shifted.reshape(n * 2 * d, d)), dtype=np.float64).reshape(n, 2 * d, d)
    jac_t = (values[:, :d] - values[:, d:]) / (2 * eps)        # row j: d f / d x_j
    return np.swapaxes(jac_t, 1, 2)


def fd_logabsdet(evaluate: Callable[[np.ndarray], np.ndarray], points: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``log|det J|`` at each point, from :func:`fd_jacobians`."""
    return np.linalg.slogdet(fd_jacobians(evaluate, points, eps))[1]


def midpoint_grid(lo: float, hi: float, n: int) -> tuple[np.ndarray, float]:
    """Cell centres ``(n², 2)`` of an ``n × n`` grid on ``[lo, hi]²`` and the cell area."""
    h = (hi - lo) / n
    c = lo + h * (np.arange(n) + 0.5)
    X, Y = np.meshgrid(c, c, indexing="ij")
    return np.stack([X.reshape(-1), Y.reshape(-1)], axis=1), h * h


def evaluate_mixed(evaluate: Callable[[np.ndarray], np.ndarray], grid: np.ndarray, test: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Values at ``grid`` and at ``test`` from one call on the shuffled union of the two."""
    both = np.concatenate([grid, test], axis=0)
    order = rng.permutation(len(both))
    values = np.asarray(evaluate(both[order]), dtype=np.float64).reshape(-1)
    if values.shape[0] != len(both):
        raise ValueError(f"{values.shape[0]} values for {len(both)} points")
    out = np.empty_like(values)
    out[order] = values
    return out[: len(grid)], out[len(grid):]
