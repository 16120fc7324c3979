"""The benchmark command still runs (``python -m benchmarks.run --smoke``); no timings are checked.

flowkit and the hand-written floor always run; each peer library (nflows, normflows, zuko, FrEIA)
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
PEERS = {"nflows": "nflows", "normflows": "normflows", "zuko": "zuko", "freia": "FrEIA"}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_same_architecture_everywhere():
    """Every library builds the same RealNVP: identical parameter counts (35 344 in 2-D, 83 456 in 64-D)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import models as M

    for D, expected in ((2, 35_344), (64, 83_456)):
        for lib in M.LIBS:
            if M.available(lib):
                assert M.n_params(M.build(lib, D)) == expected, (lib, D)
    assert M.check_floor_matches_flowkit() < 1e-5  # the floor is flowkit's map, written by hand


def test_benchmarks_smoke(tmp_path):
    out = tmp_path / "smoke.json"
    env = dict(os.environ, MPLBACKEND="Agg", FLOWKIT_PROGRESS="0")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())

    installed = [p for p, mod in PEERS.items() if importlib.util.find_spec(mod) is not None]
    assert res["libs"] == ["flowkit", "floor", *installed]
    assert sorted(res["missing"]) == sorted(set(PEERS) - set(installed))

    for cfg in res["speed"].values():
        for lib in res["libs"]:
            for rep in cfg["reps"][lib]:
                assert all(_finite(rep[k]) and rep[k] > 0 for k in ("train_ms", "logprob_pts_s", "sample_pts_s"))
    for task in ("moons", "digits"):
        for lib in res["libs"]:
            assert res[task][lib] and all("value" in r and "finite" in r for r in res[task][lib])
        for lib in ("flowkit", "floor"):  # bounded scales: these two never go non-finite
            assert all(r["finite"] for r in res[task][lib])
    assert {r["model"] for r in res["images"]} == {"realnvp", "glow"}

    assert {r["explorer"] for r in res["widgets"]} >= {"planar_explorer", "coupling_explorer"}
    assert all(_finite(r["update_median"]) for r in res["widgets"])
    assert len(res["notebooks"]) == 1 and res["notebooks"][0]["rc"] == 0
    assert res["notebooks"][0]["peak_tree_mb"] > 0

    text = proc.stdout
    for heading in ("Speed at equal architecture", "Two moons: test NLL", "Digits 8×8", "Image models",
                    "Widget update latency", "Notebooks", "Goals"):
        assert heading in text
    assert "flowkit / floor" in text
    assert ("flowkit / fastest library" in text) == bool(installed), "the fastest-library row needs a peer library"
    goals = text.split("## Goals", 1)[1]
    assert "MISSED" in goals or "met" in goals


def test_moons_checks_and_within_run_spread():
    """A two-moons run records its last test-NLL checks (the last one is the final value), and a missed
    spread goal quotes the within-run spread of those checks."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import accuracy as A
    from benchmarks import models as M
    from benchmarks import report as R

    train_x, test_x = A.moons_data(2_000, 500)
    run = A.moons_run(lambda: M.build("flowkit", 2, 2, (8,), seed=0), 0, 300, train_x, test_x)
    assert run["finite"] and len(run["checks"]) == 3  # after steps 100, 200, 300 (the last N_CHECKS hundreds)
    assert run["checks"][-1] == run["value"]
    annealed = A.moons_run(lambda: M.build("flowkit", 2, 2, (8,), seed=0), 0, 300, train_x, test_x, anneal=True)
    assert annealed["finite"] and annealed["value"] != run["value"]  # same batches, another learning-rate path

    fake = [{"value": v, "finite": True, "train_cpu_s": 1.0, "checks": [v - 0.05, v + 0.05, v]}
            for v in (0.50, 0.60, 0.55)]
    goals: list[list[str]] = []
    text = R.accuracy_section("moons", {"flowkit": fake, "floor": fake}, "## Two moons", goals)
    assert "within-run std" in text and "0.050" in text  # stdev of (v-0.05, v+0.05, v) is 0.05
    spread = [g for g in goals if g[0].startswith("moons: no bad seed")][0]
    assert spread[2] == "MISSED" and "0.050" in spread[3]
