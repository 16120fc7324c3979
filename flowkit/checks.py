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

from .grid import Bounds, integrate_on_grid
from .transforms.base import Transform, inside_flowkit

__all__ = ["check", "CheckReport", "CheckResult", "CheckError"]

# (atol, rtol) per dtype for values and log-dets
_TOL = {torch.float64: (1e-8, 1e-8), torch.float32: (2e-4, 2e-4), torch.float16: (5e-2, 5e-2),
        torch.bfloat16: (1e-1, 1e-1)}


@dataclass
class CheckResult:
    """One line of a :class:`CheckReport`.

    Example:
        >>> CheckResult("round trip", True, 1e-9, 1e-6).line().startswith("✓")
        True
    """

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
    """The outcome of :func:`check`: one :class:`CheckResult` per property.

    Example:
        >>> import torch, flowkit as fk
        >>> report = fk.check(fk.Reverse(3), torch.randn(4, 3))
        >>> report["round trip z → x → z"].passed
        True
    """

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
    """Raised by :func:`check` when a property fails; ``.report`` holds the full report.

    Example:
        >>> import torch, flowkit as fk
        >>> class Wrong(fk.Transform):
        ...     def forward(self, z):
        ...         return 2 * z, torch.zeros(len(z))   # forgot the log-det
        ...     def inverse(self, x):
        ...         return x / 2, torch.zeros(len(x))
        >>> try:
        ...     fk.check(Wrong(2), torch.randn(8, 2))
        ... except fk.CheckError as e:
        ...     print(e.report.failures[0].name)
        forward log-det = autograd slogdet (float64)
    """

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


def _jacobian_logdets(fn, x: Tensor, context: Tensor | None = None) -> Tensor:
    """log|det| of the Jacobian of ``fn(batch, context) → batch`` for each row of ``x`` (and its context row)."""
    out = []
    for i, row in enumerate(x):
        shape = row.shape
        c = None if context is None else context[i:i + 1]

        def single(v: Tensor, shape=shape, c=c) -> Tensor:
            return fn(v.reshape(1, *shape), c)[0].reshape(-1)

        jac = torch.autograd.functional.jacobian(single, row.reshape(-1))
        if jac.shape[0] != jac.shape[1]:
            raise ValueError(f"check: the transform maps {jac.shape[1]} numbers to {jac.shape[0]}; "
                             "a bijection keeps the dimension")
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


def check(transform: Transform, x: Tensor, context: Tensor | None = None, *, n_jacobian: int = 8,
          integrate: bool | None = None, bounds: float | Sequence[float] | Bounds | None = None,
          resolution: int = 400, integral_tol: float = 1e-3, atol: float | None = None,
          rtol: float | None = None, raise_on_fail: bool = True) -> CheckReport:
    """Check that ``transform`` is invertible with exact log-determinants, on the points ``x``.

    Args:
        transform: any :class:`flowkit.Transform`, conditional or shape-changing ones included
            (Jacobians are taken of the flattened input and output).
        x: a batch ``(batch, *latent_shape)`` used as ``z`` for the forward direction and,
            for shape-preserving transforms, as ``x`` for the inverse direction (a
            shape-changing transform's inverse is checked on ``forward(x)``), in the
            transform's dtype.
        context: for a conditional transform, one context row per row of ``x``.
        n_jacobian: how many rows get the (costly) autograd Jacobian comparison.
        integrate: integrate the pushed-forward standard normal on a grid; default: when
            the event is 2-D and there is no context.
        bounds: the integration box; default: the range of 20 000 samples, widened.
        resolution: grid points per axis for the integral.
        integral_tol: allowed ``|∫ p − 1|``.
        atol, rtol: override the dtype's tolerances for values and log-dets.
        raise_on_fail: raise :class:`CheckError` (an ``AssertionError``) if anything fails.

    Returns:
        A :class:`CheckReport`; ``print(report)`` shows each property with its error.

    Example:
        >>> import torch, flowkit as fk
        >>> report = fk.check(fk.Planar(2), torch.randn(32, 2))
        >>> report.passed, len(report.results)
        (True, 7)
    """
    if not isinstance(transform, Transform):
        raise TypeError(f"check expects a flowkit.Transform, got {type(transform).__name__}")
    transform.validate_inputs("forward", x, context)
    tol = _Tolerances(x.dtype, atol, rtol)
    report = CheckReport(type(transform).__name__, str(x.dtype).replace("torch.", ""))
    was_training = transform.training
    transform.eval()
    try:
        y, ld_f, x_side = _round_trips(transform, x, context, tol, report)
        _autograd_logdets(transform, x, y, ld_f, x_side, context, n_jacobian, tol, report)
        if integrate is None:
            integrate = (transform.event_shape == (2,) and transform.event_shape == transform.latent_shape
                         and transform.has_inverse and context is None)
        if integrate:
            _normalisation(transform, context, bounds, resolution, integral_tol, report)
    finally:
        transform.train(was_training)
    if raise_on_fail and not report.passed:
        raise CheckError(report)
    return report


class _Tolerances:
    """``(atol, rtol)`` in the input's dtype and for the float64 reference."""

    def __init__(self, dtype: torch.dtype, atol: float | None, rtol: float | None) -> None:
        d_atol, d_rtol = _TOL.get(dtype, _TOL[torch.float32])
        self.atol = d_atol if atol is None else atol
        self.rtol = d_rtol if rtol is None else rtol
        self.a64, self.r64 = (self.atol, self.rtol) if dtype == torch.float64 else _TOL[torch.float64]


def _shape_result(name: str, ld: Tensor, batch: int) -> CheckResult | None:
    if tuple(ld.shape) == (batch,):
        return None
    return CheckResult(f"{name} log-det has shape (batch,)", False, math.nan, 0.0, f"got {tuple(ld.shape)}")


@torch.no_grad()
def _round_trips(t: Transform, x: Tensor, context: Tensor | None, tol: _Tolerances,
                 report: CheckReport) -> tuple[Tensor, Tensor, Tensor | None]:
    """Round trips both ways and the cancellation of the log-dets; returns ``(f(x), ld_f, x-side points)``."""
    add = report.results.append
    with inside_flowkit():
        y, ld_f = t(x, context)
        bad = _shape_result("forward", ld_f, x.shape[0])
        if bad:
            add(bad)
        if not t.has_inverse:
            report.notes.append("no inverse: round trips and inverse log-dets not checked")
            return y, ld_f, None
        back, ld_i_of_y = t.inverse(y, context)
        add(CheckResult("round trip z → x → z", *_close(back, x, tol.atol, tol.rtol)))
        x_side = x if t.event_shape == t.latent_shape else y
        try:
            x2, ld_i = t.inverse(x_side, context)
        except ValueError:  # x lies outside the inverse's domain (e.g. a NormalCDF's (0, 1))
            x_side = y
            x2, ld_i = t.inverse(x_side, context)
            report.notes.append("x is outside the inverse's domain: the inverse was checked on forward(x)")
        bad = _shape_result("inverse", ld_i, x.shape[0])
        if bad:
            add(bad)
        fwd2, _ = t(x2, context)
    add(CheckResult("round trip x → z → x", *_close(fwd2, x_side, tol.atol, tol.rtol)))
    add(CheckResult("log|det J_f(z)| + log|det J_f⁻¹(f(z))| = 0",
                    *_close(ld_f + ld_i_of_y, torch.zeros_like(ld_f), tol.atol, tol.rtol)))
    return y, ld_f, x_side


def _autograd_logdets(t: Transform, x: Tensor, y: Tensor, ld_f: Tensor, x_side: Tensor | None,
                      context: Tensor | None, n: int, tol: _Tolerances, report: CheckReport) -> None:
    """Each direction's log-det against ``slogdet`` of the autograd Jacobian, in float64."""
    add = report.results.append
    t64 = copy.deepcopy(t).to(torch.float64)
    rows = x.detach()[:n].to(torch.float64)
    crows = None if context is None else context.detach()[:n].to(torch.float64)
    with inside_flowkit():
        with torch.no_grad():
            _, ld_f64 = t64(rows, crows)
        jac_f = _jacobian_logdets(lambda v, c: t64(v, c)[0], rows, crows)
        add(CheckResult("forward log-det = autograd slogdet (float64)", *_close(ld_f64, jac_f, tol.a64, tol.r64)))
        if x.dtype != torch.float64:
            add(CheckResult(f"forward log-det in {report.dtype} vs float64",
                            *_close(ld_f[:n].to(torch.float64), jac_f, tol.atol, tol.rtol)))
        if x_side is None:
            return
        side64 = rows if x_side is x else x_side.detach()[:n].to(torch.float64)
        if x_side is not x:  # the x side came from the float32 forward: recompute it in float64
            with torch.no_grad():
                side64 = t64(rows, crows)[0]
        with torch.no_grad():
            _, ld_i64 = t64.inverse(side64, crows)
        jac_i = _jacobian_logdets(lambda v, c: t64.inverse(v, c)[0], side64, crows)
    add(CheckResult("inverse log-det = autograd slogdet (float64)", *_close(ld_i64, jac_i, tol.a64, tol.r64)))


def _normalisation(t: Transform, context: Tensor | None, bounds, resolution: int, integral_tol: float,
                   report: CheckReport) -> None:
    """The pushed-forward standard normal integrates to 1 (2-D events)."""
    if t.event_shape != (2,) or not t.has_inverse:
        raise ValueError("check: integrate=True needs an invertible transform of 2-D events")
    if context is not None:
        raise ValueError("check: integrate=True needs an unconditional transform (no context)")
    mass, box = _integral(copy.deepcopy(t).to(torch.float64), bounds, resolution)
    report.results.append(CheckResult("density integrates to 1", math.isfinite(mass) and abs(mass - 1) <= integral_tol,
                                      abs(mass - 1), integral_tol, f"∫p = {mass:.6f} on {box}"))


def _integral(t64: Transform, bounds, resolution: int) -> tuple[float, Bounds]:
    from .distributions import StandardNormal

    base = StandardNormal(2).to(torch.float64)
    if bounds is None:
        g = torch.Generator().manual_seed(0)
        with torch.no_grad(), inside_flowkit():
            xs, _ = t64(torch.randn(20000, 2, generator=g, dtype=torch.float64))
        lo, hi = xs.min(dim=0).values, xs.max(dim=0).values
        pad = 0.25 * (hi - lo) + 1.0
        box: Bounds = ((float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1])))
    else:
        from .grid import _as_bounds
        box = _as_bounds(bounds)

    def log_prob(p: Tensor) -> Tensor:
        with inside_flowkit():
            z, ld = t64.inverse(p)
            return base.log_prob(z) + ld

    box_r = tuple(tuple(round(v, 2) for v in b) for b in box)
    return integrate_on_grid(log_prob, box, resolution), box_r  # type: ignore[return-value]
