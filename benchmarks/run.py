"""flowkit benchmarks: one command, four tables (``make bench`` or ``python -m benchmarks.run``).

Sections (``--only`` picks some; default: all)
  moons      8 affine couplings (MLP 2×64) on two moons in flowkit, a plain-PyTorch reference,
             nflows, normflows and zuko: training-step time, log_prob and sample throughput
             (interleaved round-robin over the libraries, at each ``--threads`` count, reported
             as medians and as flowkit/peer ratios), and test NLL after ``steps`` Adam steps
             over ``seeds`` seeds (mean ± std, non-finite runs counted, not fatal).
  digits     the same kind of flow (8 couplings, MLP 2×128) on the 8×8 digits (64-D, uniform
             dequantization + logit, 17 levels): test bits/dim after a short budget.
  widgets    median kernel-side update latency of each flowkit.widgets explorer
             (benchmarks/widget_latency.py).
  notebooks  wall time and peak memory (RSS of the whole process tree: pytest + kernel) of each
             notebook under ``pytest --nbval-lax`` with FLOWKIT_FAST=1.

Modes: default (full), ``--quick`` (short training, 1 seed) and ``--smoke`` (tiny; seconds; the
numbers mean nothing — used by tests/test_benchmarks_smoke.py so the code cannot rot).
Peers that are not installed are skipped (listed as such); flowkit and the reference always run.
``--out FILE.json`` also saves every raw number.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("FLOWKIT_PROGRESS", "0")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import models as M  # noqa: E402

GOALS = {"train_ratio": 0.85, "logprob_ratio": 1.2, "sample_ratio": 1.2,
         "widget_ms": 30.0, "notebook_s": 90.0, "notebook_mb": 1024.0}

# Settings per mode. steps/seeds: the NLL runs; reps × train_steps: the timed blocks.
MODES = {
    "full": dict(n_train=20_000, n_test=5_000, steps=2000, seeds=(0, 1, 2), reps=5, train_steps=20,
                 tp_points=5000, tp_calls=3, digits_steps=1000, digits_seeds=(0, 1, 2), widget_repeats=30),
    "quick": dict(n_train=20_000, n_test=5_000, steps=300, seeds=(0,), reps=3, train_steps=20,
                  tp_points=5000, tp_calls=2, digits_steps=200, digits_seeds=(0,), widget_repeats=10),
    "smoke": dict(n_train=2_000, n_test=500, steps=5, seeds=(0,), reps=1, train_steps=2,
                  tp_points=500, tp_calls=1, digits_steps=3, digits_seeds=(0,), widget_repeats=1),
}
BATCH, LR, N_LAYERS, HIDDEN, DIGITS_HIDDEN, ALPHA = 256, 1e-3, 8, (64, 64), (128, 128), 0.05


# ============================================================================= helpers
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"date": _dt.datetime.now().isoformat(timespec="seconds"), "nproc": os.cpu_count(),
            "cpu": cpu, "torch": torch.__version__, "python": platform.python_version(),
            "loadavg_start": load, "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]])}


def _fmt_ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _fmt_rate(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def _table(cols: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in rows)])


def _med(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.median(xs) if xs else None


def _mean_std(xs: list[float]) -> tuple[float | None, float | None]:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return None, None
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def _pm(mean: float | None, std: float | None, nd: int = 3) -> str:
    return "—" if mean is None else f"{mean:.{nd}f} ± {std:.{nd}f}"


def _goal(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


# ============================================================================= data
def moons_data(n_train: int, n_test: int) -> tuple[torch.Tensor, torch.Tensor]:
    from flowkit import data

    train, _, test = data.train_val_test("two_moons", n_train, 0, n_test, seed=0, noise=0.05)
    mu, sd = train.mean(0), train.std(0)
    return (train - mu) / sd, (test - mu) / sd


def _batches(n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - BATCH + 1, BATCH):
            yield perm[i:i + BATCH]


def train(model: M.Model, next_batch, steps: int) -> dict:
    """Plain Adam loop, identical for every library (no gradient clipping)."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for step in range(1, steps + 1):
        xb = next_batch()
        loss = -model.log_prob(xb).mean()
        if not torch.isfinite(loss):
            return {"ok": False, "failed_step": step}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {"ok": True, "failed_step": None}


@torch.no_grad()
def mean_nll(model: M.Model, x: torch.Tensor, chunk: int = 5000) -> float:
    tot = 0.0
    for i in range(0, x.shape[0], chunk):
        tot += float(-model.log_prob(x[i:i + chunk]).double().sum())
    return tot / x.shape[0]


# ============================================================================= moons: timing
def _time_block(model: M.Model, opt, batches: list[torch.Tensor], x_tp: torch.Tensor, n_calls: int) -> dict:
    t0 = time.perf_counter()
    for xb in batches:
        loss = -model.log_prob(xb).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    t_train = (time.perf_counter() - t0) / len(batches)
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(n_calls):
            model.log_prob(x_tp)
        t_lp = (time.perf_counter() - t0) / n_calls
        t0 = time.perf_counter()
        for _ in range(n_calls):
            model.sample(x_tp.shape[0])
        t_s = (time.perf_counter() - t0) / n_calls
    n = x_tp.shape[0]
    return {"train_ms": 1e3 * t_train, "logprob_pts_s": n / t_lp, "sample_pts_s": n / t_s}


def moons_timing(libs: list[str], cfg: dict, threads: list[int], train_x: torch.Tensor,
                 test_x: torch.Tensor, log=print) -> dict:
    """Round-robin over libraries in every repetition (order rotated), per thread count."""
    out: dict = {}
    n = cfg["train_steps"]
    gen = torch.Generator().manual_seed(123)
    x_tp = test_x[:cfg["tp_points"]]
    for t in threads:
        torch.set_num_threads(t)
        models = {lib: M.build(lib, 2, N_LAYERS, HIDDEN, seed=0) for lib in libs}
        opts = {lib: torch.optim.Adam(m.parameters(), lr=LR) for lib, m in models.items()}
        warm = [train_x[torch.randint(0, train_x.shape[0], (BATCH,), generator=gen)] for _ in range(3)]
        for lib in libs:  # warm-up: allocator, Adam state, lazy imports
            _time_block(models[lib], opts[lib], warm, x_tp[:256], 1)
        reps: dict[str, list[dict]] = {lib: [] for lib in libs}
        for r in range(cfg["reps"]):
            batches = [train_x[torch.randint(0, train_x.shape[0], (BATCH,), generator=gen)] for _ in range(n)]
            order = libs[r % len(libs):] + libs[:r % len(libs)]
            for lib in order:
                reps[lib].append(_time_block(models[lib], opts[lib], batches, x_tp, cfg["tp_calls"]))
        out[str(t)] = reps
        log(f"  timing at {t} thread(s) done")
    return out


def _ratio_stats(reps: dict[str, list[dict]], key: str, peer_libs: list[str], lower_better: bool) -> dict:
    """Median over repetitions of the per-repetition ratio flowkit / X (same repetition = same load)."""
    res = {}
    n = len(reps["flowkit"])
    for other in [*peer_libs, "reference"]:
        if other in reps:
            res[other] = _med([reps["flowkit"][i][key] / reps[other][i][key] for i in range(n)])
    if peer_libs:
        best = []
        for i in range(n):
            vals = [reps[p][i][key] for p in peer_libs]
            best.append(reps["flowkit"][i][key] / (min(vals) if lower_better else max(vals)))
        res["fastest_peer"] = _med(best)
        meds = {p: _med([r[key] for r in reps[p]]) for p in peer_libs}
        res["fastest_peer_name"] = (min if lower_better else max)(meds, key=meds.get)
    return res


# ============================================================================= moons: NLL
def moons_nll(libs: list[str], cfg: dict, train_x: torch.Tensor, test_x: torch.Tensor, log=print) -> dict:
    res: dict = {lib: [] for lib in libs}
    for seed in cfg["seeds"]:
        for lib in libs:  # interleaved too, so load changes hit every library alike
            model = M.build(lib, 2, N_LAYERS, HIDDEN, seed=seed)
            it = _batches(train_x.shape[0], seed)
            t0 = time.perf_counter()
            st = train(model, lambda: train_x[next(it)], cfg["steps"])
            wall = time.perf_counter() - t0
            nll = mean_nll(model, test_x) if st["ok"] else float("nan")
            finite = st["ok"] and math.isfinite(nll)
            res[lib].append({"seed": seed, "test_nll": nll if finite else None, "finite": finite,
                             "failed_step": st["failed_step"], "train_wall_s": wall})
        log(f"  NLL seed {seed} done: " + ", ".join(
            f"{lib} {r[-1]['test_nll']:.3f}" if r[-1]["finite"] else f"{lib} non-finite" for lib, r in res.items()))
    return res


# ============================================================================= digits
def _logit(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """v = logit(α + (1-2α) y) and log|dv/dy| per row (as flowkit.image.Logit with α = 0.05)."""
    p = ALPHA + (1 - 2 * ALPHA) * y
    v = torch.log(p) - torch.log1p(-p)
    ld = (math.log(1 - 2 * ALPHA) - torch.log(p) - torch.log1p(-p)).sum(dim=1)
    return v, ld


def digits(libs: list[str], cfg: dict, log=print) -> dict:
    """Uniform dequantization + logit done once, outside the models, identically for all libraries;
    each library models v = logit(...) in R^64. bits/dim = (-log p(y) + D log K) / (D log 2)."""
    from flowkit.data.digits import DIGITS_BINS, load_digits

    K, D = DIGITS_BINS, 64
    tr = load_digits("train").reshape(-1, D).float()
    te = load_digits("test").reshape(-1, D).float()
    g_test = torch.Generator().manual_seed(2024)
    v_te, ld_te = _logit((te + torch.rand(te.shape, generator=g_test)) / K)  # one fixed dequantization
    res: dict = {lib: [] for lib in libs}
    for seed in cfg["digits_seeds"]:
        for lib in libs:
            model = M.build(lib, D, N_LAYERS, DIGITS_HIDDEN, seed=seed)
            it = _batches(tr.shape[0], seed)
            g = torch.Generator().manual_seed(seed)

            def next_batch():
                xb = tr[next(it)]
                v, _ = _logit((xb + torch.rand(xb.shape, generator=g)) / K)
                return v

            t0 = time.perf_counter()
            st = train(model, next_batch, cfg["digits_steps"])
            wall = time.perf_counter() - t0
            bpd = float("nan")
            if st["ok"]:
                with torch.no_grad():
                    log_py = model.log_prob(v_te).double() + ld_te.double()
                    bpd = float(((-log_py + D * math.log(K)) / (D * math.log(2))).mean())
            finite = st["ok"] and math.isfinite(bpd)
            res[lib].append({"seed": seed, "bpd": bpd if finite else None, "finite": finite,
                             "failed_step": st["failed_step"], "train_wall_s": wall})
        log(f"  digits seed {seed} done")
    return res


# ============================================================================= widgets
def widgets(cfg: dict, smoke: bool, log=print) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    from benchmarks import widget_latency as W

    threads = torch.get_num_threads()
    try:
        names = ["planar_explorer", "coupling_explorer"] if smoke else list(W.CASES)  # smoke: two explorers
        rows = [W.bench_one(name, cfg["widget_repeats"], 1 if smoke else 3) for name in names]
    finally:
        torch.set_num_threads(threads)  # the explorers set 1 thread
    log("  widgets done")
    return rows


# ============================================================================= notebooks
def _tree_rss(proc) -> tuple[int, int]:
    """(sum of RSS over the process and all descendants, largest single RSS)."""
    import psutil

    total, largest = 0, 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def run_notebook(path: Path, timeout: float = 900.0) -> dict:
    import psutil

    env = dict(os.environ, FLOWKIT_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", FLOWKIT_PROGRESS="0")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           "--nbval-lax", "--nbval-cell-timeout=300", str(path)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ps = psutil.Process(proc.pid)
    peak_tree, peak_single = 0, 0
    while proc.poll() is None:
        tot, big = _tree_rss(ps)
        peak_tree, peak_single = max(peak_tree, tot), max(peak_single, big)
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    proc.wait()
    return {"notebook": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name,
            "rc": proc.returncode, "wall_s": wall, "peak_tree_mb": peak_tree / 2**20,
            "peak_single_mb": peak_single / 2**20, "summary": out.strip().splitlines()[-1:] }


def notebooks(smoke: bool, log=print) -> list[dict]:
    if smoke:  # exercise the machinery on a one-cell notebook instead of the course notebooks
        import nbformat

        tmp = Path(tempfile.mkdtemp(prefix="flowkit-bench-"))
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = tmp / "smoke.ipynb"
        nbformat.write(nb, path)
        paths = [path]
    else:
        paths = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    rows = []
    for p in paths:
        rows.append(run_notebook(p))
        log(f"  {p.name}: {rows[-1]['wall_s']:.1f} s, rc {rows[-1]['rc']}")
    return rows


# ============================================================================= report
def report(res: dict) -> str:
    parts: list[str] = []
    meta, cfg = res["machine"], res["settings"]
    parts.append(f"# flowkit benchmarks — {meta['date']}\n\n"
                 f"machine: nproc = {meta['nproc']}, CPU = {meta['cpu']}, torch {meta['torch']}, "
                 f"Python {meta['python']}, load average at start {meta['loadavg_start']}\n"
                 f"command: `{meta['command']}` (mode: {res['mode']})\n"
                 f"libraries: {', '.join(res['libs'])}"
                 + (f"; not installed (skipped): {', '.join(res['missing'])}" if res["missing"] else ""))
    goals: list[list[str]] = []
    peers = [p for p in res["libs"] if p in M.PEERS]

    if "moons_timing" in res:
        parts.append(f"## Two moons: speed (8 affine couplings, MLP 2×64, batch {BATCH}; "
                     f"{cfg['reps']} interleaved repetitions × {cfg['train_steps']} training steps; "
                     f"log_prob / sample on {cfg['tp_points']} points, no_grad; medians)")
        for t, reps in res["moons_timing"].items():
            rows = []
            for lib in res["libs"]:
                rr = reps[lib]
                rows.append([lib, _fmt_ms(_med([r["train_ms"] for r in rr])),
                             _fmt_rate(_med([r["logprob_pts_s"] for r in rr])),
                             _fmt_rate(_med([r["sample_pts_s"] for r in rr]))])
            parts.append(f"**torch threads = {t}**\n\n" + _table(
                ["library", "train step ms", "log_prob points/s", "sample points/s"], rows))
            rt = _ratio_stats(reps, "train_ms", peers, True)
            rl = _ratio_stats(reps, "logprob_pts_s", peers, False)
            rs = _ratio_stats(reps, "sample_pts_s", peers, False)
            rrows = [[f"flowkit / {o}", f"{rt[o]:.2f}×", f"{rl[o]:.2f}×", f"{rs[o]:.2f}×"]
                     for o in [*peers, "reference"]]
            if peers:
                rrows.append(["flowkit / fastest peer (per rep)", f"{rt['fastest_peer']:.2f}× ({rt['fastest_peer_name']})",
                              f"{rl['fastest_peer']:.2f}× ({rl['fastest_peer_name']})",
                              f"{rs['fastest_peer']:.2f}× ({rs['fastest_peer_name']})"])
                goals += [[f"train step ≤ {GOALS['train_ratio']}× fastest peer ({t} thr)", f"{rt['fastest_peer']:.2f}×",
                           _goal(rt["fastest_peer"] <= GOALS["train_ratio"])],
                          [f"log_prob ≥ {GOALS['logprob_ratio']}× fastest peer ({t} thr)", f"{rl['fastest_peer']:.2f}×",
                           _goal(rl["fastest_peer"] >= GOALS["logprob_ratio"])],
                          [f"sample ≥ {GOALS['sample_ratio']}× fastest peer ({t} thr)", f"{rs['fastest_peer']:.2f}×",
                           _goal(rs["fastest_peer"] >= GOALS["sample_ratio"])]]
            parts.append(f"ratios at {t} thread(s) (train: < 1 is faster; throughput: > 1 is faster)\n\n"
                         + _table(["ratio", "train step time", "log_prob throughput", "sample throughput"], rrows))

    if "moons_nll" in res:
        rows = []
        means = {}
        for lib in res["libs"]:
            rr = res["moons_nll"][lib]
            m, s = _mean_std([r["test_nll"] for r in rr])
            means[lib] = m
            bad = [r for r in rr if not r["finite"]]
            note = ", ".join(f"seed {r['seed']}: non-finite at step {r['failed_step']}" if r["failed_step"]
                             else f"seed {r['seed']}: non-finite test NLL" for r in bad)
            rows.append([lib, _pm(m, s), f"{len(rr) - len(bad)}/{len(rr)}", note or "",
                         f"{statistics.fmean(r['train_wall_s'] for r in rr):.1f}"])
        parts.append(f"## Two moons: test NLL (nats, lower is better) after {cfg['steps']} Adam steps "
                     f"(lr {LR}, batch {BATCH}, {cfg['n_train']} train / {cfg['n_test']} test, noise 0.05, "
                     f"standardised), seeds {list(cfg['seeds'])}, mean ± std over finite runs\n\n"
                     + _table(["library", "test NLL", "finite runs", "non-finite", "train wall s/run"], rows))
        pm = {p: means[p] for p in peers if means.get(p) is not None}
        if pm and means.get("flowkit") is not None:
            best = min(pm, key=pm.get)
            goals.append(["test NLL ≤ best peer's", f"{means['flowkit']:.3f} vs {best} {pm[best]:.3f}",
                          _goal(means["flowkit"] <= pm[best])])

    if "digits" in res:
        rows = []
        for lib in res["libs"]:
            rr = res["digits"][lib]
            m, s = _mean_std([r["bpd"] for r in rr])
            bad = sum(not r["finite"] for r in rr)
            rows.append([lib, _pm(m, s), f"{len(rr) - bad}/{len(rr)}",
                         f"{statistics.fmean(r['train_wall_s'] for r in rr):.1f}"])
        parts.append(f"## Digits 8×8 (64-D, 17 levels, uniform dequantization + logit α={ALPHA}): test bits/dim "
                     f"(lower is better) after {cfg['digits_steps']} steps (8 couplings, MLP 2×128, batch {BATCH}, "
                     f"Adam {LR}, 1200 train / 397 test images), seeds {list(cfg['digits_seeds'])}\n\n"
                     + _table(["library", "test bits/dim", "finite runs", "train wall s/run"], rows))

    if "widgets" in res:
        rows = [[r["explorer"], r["slider"], str(r["n"]), f"{r['update_median']:.1f}", f"{r['update_p90']:.1f}",
                 f"{r['draw_median']:.1f}", "pass" if r["passed"] else "FAIL"] for r in res["widgets"]]
        parts.append("## Widget update latency (kernel side, Agg; benchmarks/widget_latency.py)\n\n"
                     + _table(["explorer", "slider", "n", "update median ms", "update p90 ms",
                               "update+draw median ms", f"≤ {GOALS['widget_ms']:.0f} ms"], rows))
        worst = max(res["widgets"], key=lambda r: r["update_median"])
        goals.append([f"widget update ≤ {GOALS['widget_ms']:.0f} ms (worst median)",
                      f"{worst['update_median']:.1f} ms ({worst['explorer']})",
                      _goal(all(r["passed"] for r in res["widgets"]))])

    if "notebooks" in res:
        rows = [[r["notebook"], "pass" if r["rc"] == 0 else f"rc {r['rc']}", f"{r['wall_s']:.1f}",
                 f"{r['peak_tree_mb']:.0f}", f"{r['peak_single_mb']:.0f}"] for r in res["notebooks"]]
        parts.append("## Notebooks under `pytest --nbval-lax` (FLOWKIT_FAST=1, OMP_NUM_THREADS=1, one at a time)\n\n"
                     + _table(["notebook", "nbval", "wall s", "peak RSS tree MB (pytest+kernel)",
                               "peak RSS largest process MB"], rows))
        for r in res["notebooks"]:
            goals.append([f"{Path(r['notebook']).name} ≤ {GOALS['notebook_s']:.0f} s and ≤ 1 GB",
                          f"{r['wall_s']:.1f} s, {r['peak_tree_mb']:.0f} MB",
                          _goal(r["wall_s"] <= GOALS["notebook_s"] and r["peak_tree_mb"] <= GOALS["notebook_mb"])
                          + ("" if r["rc"] == 0 else f" (but nbval failed: {' '.join(r['summary'])})")])

    if goals:
        parts.append("## Goals\n\n" + _table(["goal", "measured", "status"], goals))
    if res["mode"] == "smoke":
        parts.append("(--smoke: tiny settings, the numbers are not meaningful)")
    return "\n\n".join(parts) + "\n"


# ============================================================================= main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short training, 1 seed, fewer repetitions")
    mode.add_argument("--smoke", action="store_true", help="tiny settings (seconds); for the smoke test")
    ap.add_argument("--only", action="append", choices=["moons", "digits", "widgets", "notebooks"],
                    help="run only this section (repeatable); default: all")
    ap.add_argument("--threads", default=None, help="comma-separated torch thread counts (default 1,2; smoke: 1)")
    ap.add_argument("--libs", default=None,
                    help="comma-separated subset of " + ",".join(M.LIBS) + " (flowkit is always included)")
    ap.add_argument("--steps", type=int, default=None, help="override the moons NLL training steps")
    ap.add_argument("--seeds", type=int, default=None, help="override the number of seeds (moons and digits)")
    ap.add_argument("--digits-steps", type=int, default=None, help="override the digits training steps")
    ap.add_argument("--out", type=Path, default=None, help="also save the raw numbers as JSON here")
    args = ap.parse_args(argv)

    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = dict(MODES[mode_name])
    if args.steps is not None:
        cfg["steps"] = args.steps
    if args.digits_steps is not None:
        cfg["digits_steps"] = args.digits_steps
    if args.seeds is not None:
        cfg["seeds"] = cfg["digits_seeds"] = tuple(range(args.seeds))
    threads = [int(t) for t in (args.threads or ("1" if args.smoke else "1,2")).split(",")]
    sections = args.only or ["moons", "digits", "widgets", "notebooks"]
    wanted = list(M.LIBS) if args.libs is None else ["flowkit", *[x for x in args.libs.split(",") if x != "flowkit"]]
    unknown = [x for x in wanted if x not in M.LIBS]
    if unknown:
        ap.error(f"unknown libraries {unknown}; choose from {list(M.LIBS)}")
    libs = [x for x in wanted if M.available(x)]
    missing = [x for x in wanted if not M.available(x)]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    res: dict = {"mode": mode_name, "machine": machine_info(), "libs": libs, "missing": missing,
                 "settings": {**cfg, "threads": threads, "batch": BATCH, "lr": LR, "n_layers": N_LAYERS,
                              "hidden": HIDDEN, "digits_hidden": DIGITS_HIDDEN, "sections": sections}}
    threads0 = torch.get_num_threads()
    t_start = time.perf_counter()
    try:
        if "moons" in sections:
            diff = M.check_reference_matches_flowkit()
            res["reference_max_abs_diff"] = diff
            if diff > 1e-4:
                raise AssertionError(f"the reference does not compute flowkit's log_prob (max diff {diff})")
            train_x, test_x = moons_data(cfg["n_train"], cfg["n_test"])
            log(f"moons: timing {libs} at threads {threads}")
            res["moons_timing"] = moons_timing(libs, cfg, threads, train_x, test_x, log)
            torch.set_num_threads(threads[0])
            log(f"moons: NLL ({cfg['steps']} steps × seeds {list(cfg['seeds'])}) at {threads[0]} thread(s)")
            res["moons_nll"] = moons_nll(libs, cfg, train_x, test_x, log)
        if "digits" in sections:
            torch.set_num_threads(threads[0])
            log(f"digits: {cfg['digits_steps']} steps × seeds {list(cfg['digits_seeds'])}")
            res["digits"] = digits(libs, cfg, log)
        if "widgets" in sections:
            log("widgets")
            res["widgets"] = widgets(cfg, args.smoke, log)
        if "notebooks" in sections:
            log("notebooks")
            res["notebooks"] = notebooks(args.smoke, log)
    finally:
        torch.set_num_threads(threads0)
    res["total_wall_s"] = time.perf_counter() - t_start
    text = report(res)
    print(text)
    print(f"(total wall time {res['total_wall_s']:.0f} s)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1, default=str))
        print(f"raw numbers: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
