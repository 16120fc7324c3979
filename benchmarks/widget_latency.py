"""Per-update latency of the flowkit.widgets slider explorers (kernel side, Agg backend).

Usage::

    .venv/bin/python benchmarks/widget_latency.py [--repeats N] [--smoke]

What is measured
----------------
Each explorer is built once, then one of its sliders is set N times to alternating values
(so every update really changes the map), timing two things per update:

* **update only** — ``explorer.update(name=value)`` with ``fig.canvas.draw_idle`` replaced by a
  no-op: the torch/NumPy compute (e.g. the exact planar inverse on the 200×200 grid and 2 000
  pushed samples) plus the in-place artist updates. This is what the kernel spends per slider
  event under ipympl, whose ``draw_idle`` only sends a "please redraw" message. (Agg's own
  ``draw_idle`` would render synchronously, which is why it is stubbed here.)
* **update+draw** — the same update followed by a real ``fig.canvas.draw()`` (Agg rendering of
  the whole figure), i.e. the kernel-side cost including the render ipympl performs when the
  browser asks for the new frame. Transfer of the PNG to the browser and its display are not
  included.

Goal: median *update only* ≤ 30 ms (200×200 density + 2 000 samples). The render adds a roughly
constant cost per figure that depends on the machine more than on flowkit.

Explorers call ``torch.set_num_threads(1)`` (see ``flowkit/widgets.py`` for why); the thread
count used is printed with the table. ``--smoke`` does 2 repeats (for CI: it checks the command
runs, not the numbers). Exit status is 0 unless ``--strict`` is given and a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import statistics
import sys
import time
from pathlib import Path

import matplotlib

if __name__ == "__main__":  # keep an already-chosen backend when imported (tests use Agg anyway)
    matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

GOAL_MS = 30.0

# explorer → (slider to move, two alternating values)
CASES = {
    "change_of_variables_1d": ("skew", (0.6, -0.4)),
    "linear_map_2d": ("a", (1.3, 0.7)),
    "planar_explorer": ("w1", (2.0, 1.0)),
    "radial_explorer": ("beta", (1.0, -0.5)),
    "coupling_explorer": ("t1", (1.0, -1.0)),
}


def _percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def bench_one(name: str, repeats: int, warmup: int = 2) -> dict:
    from flowkit import widgets

    slider, (v1, v2) = CASES[name]
    ex = getattr(widgets, name)()
    try:
        canvas = ex.fig.canvas
        real_draw_idle = canvas.draw_idle
        canvas.draw_idle = lambda *a, **k: None  # as under ipympl: only schedules a redraw
        canvas.draw()  # first render (text layout caches etc.)
        update_ms: list[float] = []
        full_ms: list[float] = []
        for i in range(warmup + repeats):
            value = v1 if i % 2 == 0 else v2
            t0 = time.perf_counter()
            ex.update(**{slider: value})
            t1 = time.perf_counter()
            canvas.draw()
            t2 = time.perf_counter()
            if i >= warmup:
                update_ms.append(1e3 * (t1 - t0))
                full_ms.append(1e3 * (t2 - t0))
        canvas.draw_idle = real_draw_idle
    finally:
        ex.close()
    med = statistics.median(update_ms)
    return {
        "explorer": name, "slider": slider, "n": repeats,
        "update_median": med, "update_p90": _percentile(update_ms, 0.9),
        "draw_median": statistics.median(full_ms), "draw_p90": _percentile(full_ms, 0.9),
        "passed": med <= GOAL_MS,
    }


def format_table(rows: list[dict], threads: int) -> str:
    head = (f"flowkit.widgets update latency — {_dt.datetime.now().isoformat(timespec='seconds')}, "
            f"torch {torch.__version__}, torch threads = {threads}, backend = "
            f"{matplotlib.get_backend()}, {platform.python_implementation()} {platform.python_version()}")
    cols = ["explorer", "slider", "n", "update median ms", "update p90 ms",
            "update+draw median ms", "update+draw p90 ms", "goal (update median)", "pass/fail"]
    body = [[r["explorer"], r["slider"], str(r["n"]), f"{r['update_median']:.1f}",
             f"{r['update_p90']:.1f}", f"{r['draw_median']:.1f}", f"{r['draw_p90']:.1f}",
             f"≤ {GOAL_MS:.0f} ms", "pass" if r["passed"] else "FAIL"] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([head, "", line(cols), sep, *(line(b) for b in body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed updates per explorer (default 30)")
    parser.add_argument("--smoke", action="store_true", help="2 repeats, no warm-up beyond one update (CI)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a median misses the goal")
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="benchmark only these explorers")
    args = parser.parse_args(argv)
    repeats = 2 if args.smoke else max(1, args.repeats)
    warmup = 1 if args.smoke else 3
    rows = [bench_one(name, repeats, warmup) for name in (args.only or CASES)]
    print(format_table(rows, torch.get_num_threads()))
    if args.smoke:
        print("\n(--smoke: 2 repeats, numbers are not meaningful)")
    return 1 if args.strict and not all(r["passed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
