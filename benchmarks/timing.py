"""Interleaved speed measurements: training step, log_prob and sample, as per-round ratios.

Every round runs every library once, in an order rotated by one each round: a block of
``steps`` training steps (Adam, batch 256; the same batches for every library in that round),
then one ``log_prob`` and one ``sample`` call on ``points`` points under ``torch.no_grad()``.
A ratio flowkit / X is computed inside each round (the same seconds of machine load hit both),
and reported as the median over rounds with its interquartile range (IQR). With a noisy,
shared machine, the IQR says how far to trust a ratio; ``rounds`` is chosen so that it stays
within about ±5 %.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Callable

import torch

from benchmarks import models as M

BATCH, LR = 256, 1e-3


def _train_block(model: M.Model, opt: torch.optim.Optimizer, batches: list[torch.Tensor]) -> tuple[float, float]:
    """(wall, CPU) seconds per training step."""
    t0, c0 = time.perf_counter(), time.process_time()
    for xb in batches:
        loss = -model.log_prob(xb).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / len(batches), (time.process_time() - c0) / len(batches)


@torch.no_grad()
def _throughput(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """(wall, CPU) points per second."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def interleaved(libs: list[str], D: int, data: torch.Tensor, *, rounds: int, steps: int, points: int,
                hidden: tuple[int, ...] = (64, 64), n_layers: int = 8, seed: int = 123) -> dict[str, list[dict]]:
    """``{lib: [{"train_ms", "logprob_pts_s", "sample_pts_s"} per round]}`` at the current torch thread count.

    The same three with ``cpu`` in the key hold the process CPU time instead of the wall time.
    """
    gen = torch.Generator().manual_seed(seed)
    models = {lib: M.build(lib, D, n_layers, hidden, seed=0) for lib in libs}
    opts = {lib: torch.optim.Adam(m.parameters(), lr=LR) for lib, m in models.items()}
    x_tp = data[torch.randint(0, data.shape[0], (points,), generator=gen)]

    def draw(n: int) -> list[torch.Tensor]:
        return [data[torch.randint(0, data.shape[0], (BATCH,), generator=gen)] for _ in range(n)]

    for lib in libs:  # warm-up: allocator, Adam state, lazy imports
        _train_block(models[lib], opts[lib], draw(3))
        _throughput(lambda m=models[lib]: m.log_prob(x_tp), points)
        _throughput(lambda m=models[lib]: m.sample(points), points)
    res: dict[str, list[dict]] = {lib: [] for lib in libs}
    for r in range(rounds):
        batches = draw(steps)
        k = r % len(libs)
        for lib in libs[k:] + libs[:k]:
            m = models[lib]
            tw, tc = _train_block(m, opts[lib], batches)
            lw, lc = _throughput(lambda: m.log_prob(x_tp), points)
            sw, sc = _throughput(lambda: m.sample(points), points)
            res[lib].append({"train_ms": 1e3 * tw, "logprob_pts_s": lw, "sample_pts_s": sw,
                             "train_cpu_ms": 1e3 * tc, "logprob_cpu_pts_s": lc, "sample_cpu_pts_s": sc})
    return res


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """``(q1, median, q3)`` of the finite values (the median thrice for fewer than 2)."""
    xs = sorted(x for x in xs if x is not None and math.isfinite(x))
    if not xs:
        return (math.nan,) * 3  # type: ignore[return-value]
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


def ratio(reps: dict[str, list[dict]], key: str, other: str | list[str], lower_better: bool,
          mine: str = "flowkit") -> dict:
    """``mine`` / ``other`` per round (``other`` a list: the best of them in that round), as quartiles.

    Returns ``{"q1", "median", "q3", "half_iqr_pct", "n", "best"}``; ``best`` names the library that
    was best most often when ``other`` is a list.
    """
    others = [other] if isinstance(other, str) else list(other)
    vals, wins = [], {o: 0 for o in others}
    for i, own in enumerate(reps[mine]):
        theirs = {o: reps[o][i][key] for o in others}
        best = (min if lower_better else max)(theirs, key=theirs.get)
        wins[best] += 1
        vals.append(own[key] / theirs[best])
    q1, med, q3 = quartiles(vals)
    return {"q1": q1, "median": med, "q3": q3, "half_iqr_pct": 50.0 * (q3 - q1) / med if med else math.nan,
            "n": len(vals), "best": max(wins, key=wins.get)}


def medians(reps: dict[str, list[dict]], key: str) -> dict[str, float]:
    return {lib: quartiles([r[key] for r in rr])[1] for lib, rr in reps.items()}
