"""Course-side sections of ``make bench``: widget update latency and notebook wall time / memory.

``widgets``: median kernel-side update latency of each explorer (:mod:`benchmarks.widget_latency`).
``notebooks``: wall time and peak memory (RSS of the whole process tree: pytest + kernel) of
each notebook under ``pytest --nbval-lax`` with FLOWKIT_FAST=1, one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


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
