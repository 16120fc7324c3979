"""The benchmark command still runs (``python -m benchmarks.run --smoke``); no timings are checked.

flowkit and the plain-PyTorch reference always run; each peer library (nflows, normflows, zuko)
is exercised when it is installed (``make bench`` installs them) and must then appear in the
results. A missing peer never skips this test.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("nflows", "normflows", "zuko")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_benchmarks_smoke(tmp_path):
    out = tmp_path / "smoke.json"
    env = dict(os.environ, MPLBACKEND="Agg", FLOWKIT_PROGRESS="0")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())

    installed = [p for p in PEERS if importlib.util.find_spec(p) is not None]
    assert res["libs"] == ["flowkit", "reference", *installed]
    assert sorted(res["missing"]) == sorted(set(PEERS) - set(installed))
    assert res["reference_max_abs_diff"] < 1e-4  # the reference computes flowkit's log_prob

    for lib in res["libs"]:
        for rep in res["moons_timing"]["1"][lib]:
            assert all(_finite(rep[k]) and rep[k] > 0 for k in ("train_ms", "logprob_pts_s", "sample_pts_s"))
        runs = res["moons_nll"][lib]
        assert runs and all(("test_nll" in r and "finite" in r) for r in runs)
        assert res["digits"][lib]
    for lib in ("flowkit", "reference"):  # bounded scales: these two never go non-finite
        assert all(r["finite"] for r in res["moons_nll"][lib] + res["digits"][lib])

    assert {r["explorer"] for r in res["widgets"]} >= {"planar_explorer", "coupling_explorer"}
    assert all(_finite(r["update_median"]) for r in res["widgets"])
    assert len(res["notebooks"]) == 1 and res["notebooks"][0]["rc"] == 0
    assert res["notebooks"][0]["peak_tree_mb"] > 0

    text = proc.stdout
    for heading in ("Two moons: speed", "test NLL", "Digits", "Widget update latency", "Notebooks", "Goals"):
        assert heading in text
    assert "flowkit / reference" in text
