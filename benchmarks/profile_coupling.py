"""Where a training step of the benchmark RealNVP spends its time, flowkit against the hand-written floor.

Usage::

    .venv/bin/python -m benchmarks.profile_coupling [--dim 2] [--steps 20] [--threads 1] [--libs flowkit,floor,freia]

For each library: ``torch.profiler`` over ``--steps`` training steps (batch 256, 8 affine couplings,
MLP d/2 → 64 → 64 → d, plain Adam), summarised per step as (a) aten operator calls and self CPU
time by group — the conditioner MLPs (``addmm``/``mm``/ReLU and their backward), Adam, and the
coupling's own bookkeeping (everything else: slicing, the clamp, exp, the affine map, cat, the
log-det sums) — and (b) the operators where flowkit and the floor differ, call for call. Self
CPU times are inflated on a loaded machine; the call counts are exact and load-independent.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks import models as M  # noqa: E402

# the conditioner MLPs' operators (flowkit's fused MLP: addmm and an in-place ReLU, i.e. clamp_min_)
MLP_OPS = ("aten::addmm", "aten::mm", "aten::relu", "aten::relu_", "aten::clamp_min_", "aten::threshold_backward",
           "aten::t", "aten::linear")


def _groups(name: str, in_adam: bool) -> str:
    if in_adam:
        return "Adam"
    return "MLP" if name in MLP_OPS else "other"


def profile_steps(model: M.Model, D: int, steps: int) -> dict[str, dict[str, float]]:
    """``{op name: {"calls", "self_us"}}`` per training step (aten ops only, Adam's under "Adam::…")."""
    from torch.profiler import ProfilerActivity, profile, record_function

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(256, D, generator=gen) for _ in range(steps + 3)]

    def step(x: torch.Tensor) -> None:
        loss = -model.log_prob(x).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with record_function("ADAM_STEP"):
            opt.step()

    for x in xs[:3]:
        step(x)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for x in xs[3:]:
            step(x)
    events = prof.events()
    adam_ranges = [(e.time_range.start, e.time_range.end) for e in events if e.name == "ADAM_STEP"]
    out: dict[str, dict[str, float]] = collections.defaultdict(lambda: {"calls": 0.0, "self_us": 0.0})
    for e in events:
        if not e.name.startswith("aten::"):
            continue
        in_adam = any(a <= e.time_range.start and e.time_range.end <= b for a, b in adam_ranges)
        key = ("Adam::" if in_adam else "") + e.name
        out[key]["calls"] += 1 / steps
        out[key]["self_us"] += e.self_cpu_time_total / steps
    return dict(out)


def summary(prof: dict[str, dict[str, float]]) -> dict[str, tuple[float, float]]:
    """``{group: (calls per step, self µs per step)}`` for MLP, Adam, other and the total."""
    acc: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for name, v in prof.items():
        g = _groups(name, name.startswith("Adam::"))
        for key in (g, "total"):
            acc[key][0] += v["calls"]
            acc[key][1] += v["self_us"]
    return {k: (v[0], v[1]) for k, v in acc.items()}


@torch.no_grad()
def log_prob_shares(model: M.Model, D: int, points: int = 5000, calls: int = 3) -> dict:
    """Shares of self CPU time during ``log_prob`` of ``points``: the conditioner MLPs (``addmm``/``mm``/ReLU)
    and the largest other operator, as ``{"mlp": share, "top": (name, share)}``."""
    from torch.profiler import ProfilerActivity, profile

    x = torch.randn(points, D, generator=torch.Generator().manual_seed(0))
    model.log_prob(x)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            model.log_prob(x)
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in prof.events():
        if e.name.startswith("aten::"):
            per_op[e.name] += e.self_cpu_time_total
    total = sum(per_op.values()) or float("nan")
    others = {k: v for k, v in per_op.items() if k not in MLP_OPS}
    top = max(others, key=others.get) if others else "none"
    return {"mlp": sum(v for k, v in per_op.items() if k in MLP_OPS) / total,
            "top": (top.removeprefix("aten::"), others.get(top, 0.0) / total)}


def explain(D: int, libs: list[str], steps: int = 10) -> dict:
    """The numbers behind a missed speed goal: aten calls per step (total, MLP, Adam, the rest) per library,
    and the shares of its log_prob time (MLPs, the largest other operator) at D and 64-D; load-independent
    counts, time shares as measured."""
    out = {}
    for lib in libs:
        model = M.build(lib, D)
        s = summary(profile_steps(model, D, steps))
        out[lib] = {g: {"calls": s.get(g, (0.0, 0.0))[0], "self_ms": s.get(g, (0.0, 0.0))[1] / 1e3}
                    for g in ("total", "MLP", "Adam", "other")}
        out[lib]["log_prob"] = {d: log_prob_shares(model if d == D else M.build(lib, d), d) for d in (D, 64)}
    return out


def diff_table(a: dict, b: dict, names: tuple[str, str], top: int = 14) -> str:
    rows = []
    for op in set(a) | set(b):
        ca, cb = a.get(op, {}).get("calls", 0.0), b.get(op, {}).get("calls", 0.0)
        ta, tb = a.get(op, {}).get("self_us", 0.0), b.get(op, {}).get("self_us", 0.0)
        if abs(ca - cb) > 0.01 or abs(ta - tb) > 0.02 * max(ta, tb, 1.0):
            rows.append((ta - tb, op, ca, cb, ta, tb))
    rows.sort(key=lambda r: -abs(r[0]))
    lines = [f"| op | calls/step {names[0]} | calls/step {names[1]} | self µs/step {names[0]} | "
             f"self µs/step {names[1]} |", "|---|---|---|---|---|"]
    for _, op, ca, cb, ta, tb in rows[:top]:
        lines.append(f"| `{op}` | {ca:.0f} | {cb:.0f} | {ta:.0f} | {tb:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--libs", default="flowkit,floor,freia")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    libs = [lib for lib in args.libs.split(",") if M.available(lib)]
    profs = {lib: profile_steps(M.build(lib, args.dim), args.dim, args.steps) for lib in libs}
    print(f"### per training step, D = {args.dim}, {args.threads} thread(s), torch {torch.__version__}\n")
    print("| library | aten calls | self ms | MLP calls | MLP ms | Adam calls | Adam ms | other calls | other ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lib, prof in profs.items():
        s = summary(prof)
        cells = [f"{s.get(g, (0, 0))[0]:.0f} | {s.get(g, (0, 0))[1] / 1e3:.2f}" for g in ("total", "MLP", "Adam", "other")]
        print(f"| {lib} | " + " | ".join(cells) + " |")
    if "flowkit" in profs and "floor" in profs:
        print("\n### operators where flowkit and the floor differ (per step)\n")
        print(diff_table(profs["flowkit"], profs["floor"], ("flowkit", "floor")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
