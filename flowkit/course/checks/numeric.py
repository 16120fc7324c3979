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
    """Jacobians ``(n, D, D)`` of a map ``(m, D) -> (m, D)`` at ``points (n, D)`` (one call).

    Central differences, ``J[:, i, j] = ∂f_i/∂x_j ≈ (f_i(x + ε e_j) − f_i(x − ε e_j)) / 2ε``
    (error ``O(ε²)``): the ``2·D`` shifted copies of every point go to ``evaluate`` in one batch.

    Example:
        >>> import numpy as np
        >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
        >>> J = fd_jacobians(lambda p: p @ A.T, np.array([[0.0, 0.0], [1.0, -1.0]]))
        >>> J.shape, np.allclose(J, A)                   # a linear map's Jacobian is A everywhere
        ((2, 2, 2), True)
    """
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    steps = np.eye(d) * eps
    shifted = np.concatenate([points[:, None, :] + steps[None], points[:, None, :] - steps[None]], axis=1)
    values = np.asarray(evaluate(shifted.reshape(n * 2 * d, d)), dtype=np.float64).reshape(n, 2 * d, d)
    jac_t = (values[:, :d] - values[:, d:]) / (2 * eps)        # row j: d f / d x_j
    return np.swapaxes(jac_t, 1, 2)


def fd_logabsdet(evaluate: Callable[[np.ndarray], np.ndarray], points: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``log|det J|`` at each point, from :func:`fd_jacobians` (the log-det a learner should report).

    Example:
        >>> import numpy as np
        >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])       # log|det A| = log 6
        >>> np.allclose(fd_logabsdet(lambda p: p @ A.T, np.zeros((3, 2))), np.log(6))
        True
        >>> x = np.array([[0.5, -1.0]])                  # elementwise tanh: Σ log(1 − tanh² x_i)
        >>> np.allclose(fd_logabsdet(np.tanh, x), np.log(1 - np.tanh(x) ** 2).sum(1))
        True
    """
    return np.linalg.slogdet(fd_jacobians(evaluate, points, eps))[1]


def midpoint_grid(lo: float, hi: float, n: int) -> tuple[np.ndarray, float]:
    """Cell centres ``(n², 2)`` of an ``n × n`` grid on ``[lo, hi]²`` and the cell area.

    The midpoint rule: ``∫ p ≈ Σ_k p(c_k) · h²`` with ``h = (hi − lo) / n`` (error ``O(h²)``).

    Example:
        >>> import numpy as np
        >>> grid, area = midpoint_grid(-1.0, 1.0, 2)
        >>> grid.tolist(), area
        ([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]], 1.0)
        >>> grid, area = midpoint_grid(-8.0, 8.0, 200)     # N(0, I) integrates to 1
        >>> round(float(np.exp(-0.5 * (grid ** 2).sum(1)).sum() * area / (2 * np.pi)), 6)
        1.0
    """
    h = (hi - lo) / n
    c = lo + h * (np.arange(n) + 0.5)
    X, Y = np.meshgrid(c, c, indexing="ij")
    return np.stack([X.reshape(-1), Y.reshape(-1)], axis=1), h * h


def evaluate_mixed(evaluate: Callable[[np.ndarray], np.ndarray], grid: np.ndarray, test: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Values at ``grid`` and at ``test`` from one call on the shuffled union of the two.

    Example:
        >>> import numpy as np
        >>> seen = []
        >>> def log_p(points):                           # the learner's function
        ...     seen.append(points.copy())
        ...     return points[:, 0] + 10 * points[:, 1]
        >>> grid, _ = midpoint_grid(0.0, 1.0, 2)
        >>> at_grid, at_test = evaluate_mixed(log_p, grid, np.array([[5.0, 5.0]]), np.random.default_rng(0))
        >>> at_grid.tolist(), at_test.tolist()
        ([2.75, 7.75, 3.25, 8.25], [55.0])
        >>> len(seen), seen[0].shape                     # one call on all 5 points, in shuffled order
        (1, (5, 2))
    """
    both = np.concatenate([grid, test], axis=0)
    order = rng.permutation(len(both))
    values = np.asarray(evaluate(both[order]), dtype=np.float64).reshape(-1)
    if values.shape[0] != len(both):
        raise ValueError(f"{values.shape[0]} values for {len(both)} points")
    out = np.empty_like(values)
    out[order] = values
    return out[: len(grid)], out[len(grid):]
