"""Regular 2-D grids for evaluating, plotting and integrating densities."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .validation import module_dtype

__all__ = ["Bounds", "grid_points", "evaluate_on_grid", "integrate_on_grid"]

Bounds = tuple[tuple[float, float], tuple[float, float]]


def _as_bounds(bounds: float | Sequence[float] | Bounds) -> Bounds:
    """Accept ``4.0`` (the box [-4, 4]²), ``(lo, hi)`` or ``((x0, x1), (y0, y1))``."""
    if isinstance(bounds, (int, float)):
        b = float(bounds)
        out = ((-b, b), (-b, b))
    elif len(bounds) == 2 and all(isinstance(v, (int, float)) for v in bounds):
        lo, hi = float(bounds[0]), float(bounds[1])  # type: ignore[arg-type]
        out = ((lo, hi), (lo, hi))
    else:
        (x0, x1), (y0, y1) = bounds  # type: ignore[misc]
        out = ((float(x0), float(x1)), (float(y0), float(y1)))
    for lo, hi in out:
        if not (hi > lo):
            raise ValueError(f"grid bounds must have lo < hi, got {out}")
    return out


def grid_points(bounds: float | Sequence[float] | Bounds = 4.0, resolution: int = 200, *,
                dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
                ) -> tuple[Tensor, Tensor, Tensor, float]:
    """Cell centres of a ``resolution × resolution`` grid over ``bounds``.

    Returns ``(points, xs, ys, cell_area)``: ``points`` has shape ``(resolution², 2)`` in
    row-major order (``y`` varies slowest), so ``values.view(resolution, resolution)``
    is an image with rows indexed by ``y`` — ready for ``imshow(origin="lower")``.

    Example:
        >>> pts, xs, ys, area = grid_points(2.0, resolution=4)
        >>> pts.shape, area
        (torch.Size([16, 2]), 1.0)
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    (x0, x1), (y0, y1) = _as_bounds(bounds)
    dx, dy = (x1 - x0) / resolution, (y1 - y0) / resolution
    xs = torch.linspace(x0 + dx / 2, x1 - dx / 2, resolution, dtype=dtype, device=device)
    ys = torch.linspace(y0 + dy / 2, y1 - dy / 2, resolution, dtype=dtype, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    return pts, xs, ys, dx * dy


@torch.no_grad()
def evaluate_on_grid(log_prob: Callable[[Tensor], Tensor], bounds: float | Sequence[float] | Bounds = 4.0,
                     resolution: int = 200, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | str | None = None, chunk: int = 65536) -> tuple[Tensor, Tensor, Tensor]:
    """``log_prob`` on the grid; returns ``(xs, ys, logp)`` with ``logp`` of shape ``(resolution, resolution)``.

    Example:
        >>> import torch
        >>> xs, ys, logp = evaluate_on_grid(lambda p: -p.pow(2).sum(1), 3.0, resolution=10)
        >>> logp.shape
        torch.Size([10, 10])
    """
    pts, xs, ys, _ = grid_points(bounds, resolution, dtype=dtype, device=device)
    out = torch.cat([log_prob(pts[i:i + chunk]) for i in range(0, pts.shape[0], chunk)])
    return xs, ys, out.view(resolution, resolution)


def integrate_on_grid(log_prob: Callable[[Tensor], Tensor], bounds: float | Sequence[float] | Bounds = 4.0,
                      resolution: int = 400, *, dtype: torch.dtype | None = None) -> float:
    """Midpoint-rule integral of ``exp(log_prob)`` over the box (1.0 for a density holding all its mass there).

    ``dtype`` of the grid points defaults to the dtype of the module ``log_prob`` is bound to
    (e.g. ``flow.log_prob`` of a float32 flow gets float32 points), else float64. The sum is
    always accumulated in float64.

    Example:
        >>> import flowkit as fk
        >>> round(integrate_on_grid(fk.StandardNormal(2).log_prob, 8.0, 400), 6)
        1.0
    """
    if dtype is None:
        owner = getattr(log_prob, "__self__", None)
        dtype = (module_dtype(owner) if isinstance(owner, nn.Module) else None) or torch.float64
    pts, _, _, area = grid_points(bounds, resolution, dtype=dtype)
    with torch.no_grad():
        total = sum(torch.exp(log_prob(pts[i:i + 65536]).double()).sum().item()
                    for i in range(0, pts.shape[0], 65536))
    return float(total * area)
