"""``flowkit.check``: verify a transform numerically, the way the course verifies every formula.

What is checked, for a transform ``f`` (``forward``: z → x) and a batch of points:

1. **round trips** — ``f⁻¹(f(z)) = z`` and ``f(f⁻¹(x)) = x``;
2. **log-dets against autograd** — for a few samples, the Jacobian of each direction
   is computed with ``torch.autograd.functional.jacobian`` on a float64 copy and its
   ``slogdet`` compared with the log-det the transform reports (in float64, and in the
   transform's own dtype against that float64 reference);
3. **consistency** — ``log|det J_f(z)| + log|det J_{f⁻¹}(f(z))| = 0``;
4. **normalisation** (2-D events) — the density of ``f`` applied to a standard normal
   integrates to 1 on a grid that holds its mass.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from ._validation import module_dtype, validate_batch
from .base import Transform
from .grid import Bounds, integrate_on_grid

__all__ = ["check", "CheckReport", "CheckResult", "CheckError"]

# (atol, rtol) per dtype for values and log-dets
_TOL = {torch.float64: (1e-8, 1e-8), torch.float32: (2e-4, 2e-4), torch.float16: (5e-2, 5e-2),
        torch.bfloat16: (1e-1, 1e-1)}


@dataclass
class CheckResult:
    """One line of a :class:`CheckReport`."""

    name: str
    passed: bool
    error: float
    tolerance: float
    detail: str = ""

    def line(self) -> str:
        mark = "✓" if self.passed else "✗"
        cmp = "≤" if self.passed else ">"
        extra = f"  ({self.detail})" if self.detail else ""
        return f"{mark} {self.name:<44} error {self.error:9.2e} {cmp} {self.tolerance:.1e}{extra}"


@dataclass
class CheckReport:
    """The outcome of :func:`check`: one :class:`CheckResult` per property."""

    transform: str
    dtype: str
    results: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def __getitem__(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        head = f"flowkit.check({self.transform}, dtype={self.dtype}): " + (
            "all checks passed" if self.passed else f"{len(self.failures)} check(s) FAILED")
        return "\n".join([head, *("  " + r.line() for r in self.results), *("  · " + n for n in self.notes)])

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(str(self))


class CheckError(AssertionError):
    """Raised by :func:`check` when a property fails; ``.report`` holds the full report."""

    def __init__(self, report: CheckReport) -> None:
        names = ", ".join(r.name for r in report.failures)
        super().__init__(f"{report.transform} failed: {names}\n{report}")
        self.report = report


def _close(a: Tensor, b: Tensor, atol: float, rtol: float) -> tuple[bool, float, float]:
    """(passed, error, tolerance) at the worst element, the tolerance being atol + rtol·|b|."""
    a, b = a.detach(), b.detach()
    err = (a - b).abs()
    tol = atol + rtol * b.abs()
    ratio = (err / tol).reshape(-1)
    i = int(torch.argmax(ratio)) if ratio.numel() else 0
    if ratio.numel() == 0:
        return True, 0.0, atol
    finite = bool(torch.isfinite(a).all())
    return finite and bool(ratio[i] <= 1.0), float(err.reshape(-1)[i]), float(tol.reshape(-1)[i])


def _jacobian_logdets(fn, x: Tensor) -> Tensor:
    """log|det| of the Jacobian of ``fn`` (batch → batch) for each row of ``x`` separately."""
    out = []
    for row in x:
        shape = row.shape

        def single(v: Tensor, shape=shape) -> Tensor:
            return fn(v.reshape(1, *shape))[0].reshape(-1)

        jac = torch.autograd.functional.jacobian(single, row.reshape(-1))
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


def check(transform: Transform, x: Tensor, *, n_jacobian: int = 8, integrate: bool | None = None,
          bounds: float | Sequence[float] | Bounds | None = None, resolution: int = 400,
          integral_tol: float = 1e-3, atol: float | None = None, rtol: float | None = None,
          raise_on_fail: bool = True) -> CheckReport:
    """Check that ``transform`` is invertible with exact log-determinants, on the points ``x``.

    Args:
        transform: any :class:`flowkit.Transform`.
        x: a batch ``(batch, *event_shape)`` used as ``z`` for the forward direction and
            as ``x`` for the inverse direction, in the transform's dtype.
        n_jacobian: how many rows get the (costly) autograd Jacobian comparison.
        integrate: integrate the pushed-forward standard normal on a grid; default: when
            the event is 2-D.
        bounds: the integration box; default: the range of 20 000 samples, widened.
        resolution: grid points per axis for the integral.
        integral_tol: allowed ``|∫ p − 1|``.
        atol, rtol: override the dtype's tolerances for values and log-dets.
        raise_on_fail: raise :class:`CheckError` (an ``AssertionError``) if anything fails.

    Returns:
        A :class:`CheckReport`; ``print(report)`` shows each property with its error.
    """
    if not isinstance(transform, Transform):
        raise TypeError(f"check expects a flowkit.Transform, got {type(transform).__name__}")
    dtype = module_dtype(transform) or (x.dtype if isinstance(x, Tensor) else torch.float32)
    validate_batch(x, transform.latent_shape, name="x", where="check", dtype=dtype)
    if transform.event_shape != transform.latent_shape:
        raise ValueError("check: shape-changing transforms are checked on flattened Jacobians; "
                         f"got event_shape {transform.event_shape} != latent_shape {transform.latent_shape}")
    d_atol, d_rtol = _TOL.get(x.dtype, _TOL[torch.float32])
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    a64, r64 = _TOL[torch.float64]
    if x.dtype == torch.float64:
        a64, r64 = atol, rtol

    report = CheckReport(type(transform).__name__, str(x.dtype).replace("torch.", ""))
    add = report.results.append
    was_training = transform.training
    threads = torch.get_num_threads()
    # The Jacobians are many tiny operations: on small machines extra threads only add overhead
    # (a planar check took 11.5 s with 2 threads and 0.3 s with one).
    torch.set_num_threads(1)
    transform.eval()
    t64 = copy.deepcopy(transform).to(torch.float64)
    x64 = x.detach().to(torch.float64)
    try:
        with torch.no_grad():
            # 1. round trips in the transform's own dtype
            y, ld_f = transform.forward(x)
            if tuple(ld_f.shape) != (x.shape[0],):
                add(CheckResult("forward log-det has shape (batch,)", False, math.nan, 0.0,
                                f"got {tuple(ld_f.shape)}"))
            back, ld_i_of_y = transform.inverse(y) if transform.has_inverse else (None, None)
            if back is not None:
                add(CheckResult("round trip z → x → z", *_close(back, x, atol, rtol)))
                x2, ld_i = transform.inverse(x)
                if tuple(ld_i.shape) != (x.shape[0],):
                    add(CheckResult("inverse log-det has shape (batch,)", False, math.nan, 0.0,
                                    f"got {tuple(ld_i.shape)}"))
                fwd2, _ = transform.forward(x2)
                add(CheckResult("round trip x → z → x", *_close(fwd2, x, atol, rtol)))
                # 3. forward and inverse log-dets cancel
                add(CheckResult("log|det J_f(z)| + log|det J_f⁻¹(f(z))| = 0",
                                *_close(ld_f + ld_i_of_y, torch.zeros_like(ld_f), atol, rtol)))
            else:
                report.notes.append("no inverse: round trips and inverse log-dets not checked")
            # reference log-dets in float64
            _, ld_f64 = t64.forward(x64)
        # 2. autograd Jacobians in float64
        rows = x64[:n_jacobian]
        jac_f = _jacobian_logdets(lambda v: t64._forward(v)[0], rows)
        add(CheckResult("forward log-det = autograd slogdet (float64)", *_close(ld_f64[:n_jacobian], jac_f, a64, r64)))
        if x.dtype != torch.float64:
            add(CheckResult(f"forward log-det in {report.dtype} vs float64",
                            *_close(ld_f[:n_jacobian].to(torch.float64), jac_f, atol, rtol)))
        if transform.has_inverse:
            with torch.no_grad():
                _, ld_i64 = t64.inverse(x64)
            jac_i = _jacobian_logdets(lambda v: t64._inverse(v)[0], rows)
            add(CheckResult("inverse log-det = autograd slogdet (float64)",
                            *_close(ld_i64[:n_jacobian], jac_i, a64, r64)))
        # 4. normalisation in 2-D
        if integrate is None:
            integrate = transform.event_shape == (2,) and transform.has_inverse
        if integrate:
            if transform.event_shape != (2,) or not transform.has_inverse:
                raise ValueError("check: integrate=True needs an invertible transform of 2-D events")
            mass, box = _integral(t64, bounds, resolution)
            add(CheckResult("density integrates to 1", math.isfinite(mass) and abs(mass - 1) <= integral_tol,
                            abs(mass - 1), integral_tol, f"∫p = {mass:.6f} on {box}"))
    finally:
        transform.train(was_training)
        torch.set_num_threads(threads)
    if raise_on_fail and not report.passed:
        raise CheckError(report)
    return report


def _integral(t64: Transform, bounds, resolution: int) -> tuple[float, Bounds]:
    from .distributions import StandardNormal

    base = StandardNormal(2).to(torch.float64)
    if bounds is None:
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            xs, _ = t64._forward(torch.randn(20000, 2, generator=g, dtype=torch.float64))
        lo, hi = xs.min(dim=0).values, xs.max(dim=0).values
        pad = 0.25 * (hi - lo) + 1.0
        box: Bounds = ((float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1])))
    else:
        from .grid import _as_bounds
        box = _as_bounds(bounds)

    def log_prob(p: Tensor) -> Tensor:
        z, ld = t64._inverse(p)
        return base._log_prob(z) + ld

    box_r = tuple(tuple(round(v, 2) for v in b) for b in box)
    return integrate_on_grid(log_prob, box, resolution), box_r  # type: ignore[return-value]
