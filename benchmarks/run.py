"""flowkit benchmarks: one command, every table, every goal marked met or MISSED (``make bench``).

Sections (``--only`` picks some; default: all)
  speed      one RealNVP (8 affine couplings, MLP d/2 → 64 → 64 → d) in flowkit, a hand-written
             PyTorch floor, nflows, normflows, zuko and FrEIA: training step, log_prob and sample,
             interleaved in short rounds (benchmarks/timing.py), on two moons (2-D) and the digits
             (64-D), at each ``--threads`` count; ratios flowkit / X with their IQR.
  moons      test NLL on two moons after ``moons_steps`` Adam steps, per seed, every library, and
             after each of the last 5 hundreds of steps ("last checks": how much the final step jitters).
  digits     test bits/dim on the 8×8 digits (uniform dequantization + logit, 64-D), per seed, likewise.
             ``--anneal``: both with the learning rate cosine-annealed to 0 instead of constant.
  images     the shipped RealNVP / Glow checkpoints' bits/dim, parameters and training CPU time.
  widgets    kernel-side update latency of each explorer (benchmarks/widget_latency.py).
  notebooks  wall time and peak memory of each notebook under ``pytest --nbval-lax``.

Modes: default (full), ``--quick`` and ``--smoke`` (tiny; seconds; the numbers mean nothing —
tests/test_benchmarks_smoke.py runs it so the code cannot rot). Peers that are not installed are
skipped (listed as such); flowkit and the floor always run. ``--out FILE.json`` saves every raw
number. Missed speed goals carry the profile that explains them (benchmarks/profile_coupling.py).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("FLOWKIT_PROGRESS", "0")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import accuracy as A  # noqa: E402
from benchmarks import models as M  # noqa: E402
from benchmarks import report as R  # noqa: E402
from benchmarks import timing as T  # noqa: E402

SECTIONS = ["speed", "moons", "digits", "images", "widgets", "notebooks"]
MODES = {
    "full": dict(rounds=60, block_steps=10, points=5000, moons_steps=2000, moons_seeds=5, digits_steps=1000,
                 digits_seeds=3, widget_repeats=30, profile_steps=10),
    "quick": dict(rounds=15, block_steps=10, points=5000, moons_steps=500, moons_seeds=1, digits_steps=300,
                  digits_seeds=1, widget_repeats=10, profile_steps=5),
    "smoke": dict(rounds=1, block_steps=2, points=300, moons_steps=3, moons_seeds=1, digits_steps=3,
                  digits_seeds=1, widget_repeats=1, profile_steps=1),
}


def machine_info() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": _dt.datetime.now().isoformat(timespec="seconds"), "nproc": os.cpu_count(), "cpu": cpu,
            "torch": torch.__version__, "python": platform.python_version(), "loadavg_start": os.getloadavg(),
            "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]])}


def speed(libs: list[str], cfg: dict, threads: list[int], log) -> dict:
    """Interleaved timing on two moons (D = 2) and the digits in logit space (D = 64), per thread count."""
    moons, _ = A.moons_data(20_000, 10)
    data = A.digits_data()
    digits = A.logit((data["train"] + torch.rand(data["train"].shape)) / data["K"])[0]
    out = {}
    for t in threads:
        torch.set_num_threads(t)
        for name, D, x in (("moons 2-D", 2, moons), ("digits 64-D", 64, digits)):
            load_before = os.getloadavg()
            reps = T.interleaved([*libs, M.SHARED], D, x, rounds=cfg["rounds"], steps=cfg["block_steps"],
                                 points=cfg["points"])
            key = f"{name}, {t} thread{'s' if t > 1 else ''}"
            out[key] = {"D": D, "threads": t, "rounds": cfg["rounds"], "steps": cfg["block_steps"],
                        "points": cfg["points"], "load_before": load_before, "load_after": os.getloadavg(),
                        "reps": reps}
            log(f"  speed: {key} done (load {os.getloadavg()[0]:.2f})")
    return out


def explanations(libs: list[str], cfg: dict) -> tuple[dict, dict[str, str]]:
    """Operator counts per training step (flowkit, the floor, FrEIA when installed) and the sentences
    that a missed speed goal prints."""
    from benchmarks import profile_coupling as P

    torch.set_num_threads(1)
    who = [lib for lib in ("flowkit", "floor", "freia") if lib in libs]
    prof = P.explain(2, who, steps=cfg["profile_steps"])
    fk, fl = prof["flowkit"], prof["floor"]
    shared = (fk["MLP"]["self_ms"] + fk["Adam"]["self_ms"]) / fk["total"]["self_ms"]
    text = {
        "floor": (f"profile (2-D, per step): flowkit {fk['total']['calls']:.0f} aten calls vs the floor's "
                  f"{fl['total']['calls']:.0f}; the difference is the coupling's own work "
                  f"({fk['other']['calls']:.0f} vs {fl['other']['calls']:.0f} calls: soft clamp, input checks)"),
        "fastest": (f"profile (2-D, per step): the MLPs and Adam, the same work in every library, are "
                    f"{100 * shared:.0f} % of flowkit's self CPU time and {fk['MLP']['calls'] + fk['Adam']['calls']:.0f}"
                    f" of its {fk['total']['calls']:.0f} aten calls"
                    + (f"; FrEIA runs {prof['freia']['total']['calls']:.0f}" if "freia" in prof else "")
                    + f"; the other {fk['other']['calls']:.0f} are the coupling maths (split, clamp, exp, affine "
                    "map, log-det sums, merge) and their backward"),
        "throughput": "profile of flowkit's log_prob on 5000 points: " + "; ".join(
            f"{d}-D: the MLPs' products and ReLUs {100 * v['mlp']:.0f} %, then {v['top'][0]} "
            f"{100 * v['top'][1]:.0f} %" for d, v in fk["log_prob"].items())
            + " of the time (tanh is the soft clamp s = tanh(s̃); the MLPs are the same in every library)",
    }
    return prof, text


def images() -> list[dict]:
    rows = []
    for name in ("realnvp", "glow"):
        path = ROOT / "checkpoints" / f"{name}_digits.json"
        if path.exists():
            meta = json.loads(path.read_text())
            rows.append({"model": name, "test_bpd": meta["metrics"]["test_bpd"],
                         "test_bpd_iw": meta["metrics"]["test_bpd_iw"], "n_params": meta["n_params"],
                         "cpu_time_s": meta["cpu_time_s"], "wall_time_s": meta["wall_time_s"],
                         "bytes": meta["checkpoint_bytes"], "command": meta["command"]})
    return rows


def report(res: dict) -> str:
    meta, cfg = res["machine"], res["settings"]
    parts = [f"# flowkit benchmarks — {meta['date']}\n\n"
             f"machine: nproc = {meta['nproc']}, CPU = {meta['cpu']}, torch {meta['torch']}, Python {meta['python']}, "
             f"load average at start {tuple(round(x, 2) for x in meta['loadavg_start'])}\n"
             f"command: `{meta['command']}` (mode: {res['mode']})\nlibraries: {', '.join(res['libs'])}"
             + (f"; not installed (skipped): {', '.join(res['missing'])}" if res["missing"] else "")]
    goals: list[list[str]] = []
    if "speed" in res:
        parts.append("## Speed at equal architecture (8 affine couplings, MLP d/2 → 64 → 64 → d, batch 256; "
                     f"log_prob / sample on {cfg['points']} points, no_grad)\n\n"
                     + R.speed_section(res, goals, res.get("explain_text", {})))
    lr = "lr 1e-3 → 0 (cosine)" if cfg.get("anneal") else "lr 1e-3"
    if "moons" in res:
        parts.append(R.accuracy_section("moons", res["moons"], f"## Two moons: test NLL (nats, lower is better) after "
                                        f"{cfg['moons_steps']} Adam steps ({lr}, batch 256, 20 000 train / 5 000 "
                                        "test, noise 0.05, standardised); \"last checks\": the test NLL after each "
                                        f"of the last {A.N_CHECKS} hundreds of steps of a run", goals))
    if "digits" in res:
        parts.append(R.accuracy_section("digits", res["digits"], "## Digits 8×8 with the MLP RealNVP (64-D, 17 levels, "
                                        "uniform dequantization + logit α = 0.05): test bits/dim after "
                                        f"{cfg['digits_steps']} steps ({lr}, 1200 train / 397 test images); \"last "
                                        f"checks\": the test bits/dim after each of the last {A.N_CHECKS} hundreds "
                                        "of steps of a run", goals))
    if "images" in res:
        parts.append(R.image_section(res["images"], goals))
    course = R.course_section(res, goals)
    if course:
        parts.append(course)
    if goals:
        parts.append("## Goals\n\n" + R.table(["goal", "measured", "status", "why (when missed)"], goals))
    if res["mode"] == "smoke":
        parts.append("(--smoke: tiny settings, the numbers are not meaningful)")
    return "\n\n".join(parts) + "\n"


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short training, 1 seed, fewer rounds")
    mode.add_argument("--smoke", action="store_true", help="tiny settings (seconds); for the smoke test")
    ap.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    ap.add_argument("--threads", default=None, help="comma-separated torch thread counts (default 1,2; smoke: 1)")
    ap.add_argument("--libs", default=None, help="comma-separated subset of " + ",".join(M.LIBS))
    ap.add_argument("--rounds", type=int, default=None, help="override the timing rounds")
    ap.add_argument("--seeds", type=int, default=None, help="override the number of seeds (moons and digits)")
    ap.add_argument("--moons-steps", type=int, default=None)
    ap.add_argument("--digits-steps", type=int, default=None)
    ap.add_argument("--anneal", action="store_true",
                    help="moons and digits: cosine learning rate from 1e-3 to 0 instead of a constant 1e-3")
    ap.add_argument("--out", type=Path, default=None, help="also save the raw numbers as JSON here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = dict(MODES[mode])
    for k in ("rounds", "moons_steps", "digits_steps"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    if args.seeds is not None:
        cfg["moons_seeds"] = cfg["digits_seeds"] = args.seeds
    cfg["anneal"] = args.anneal
    threads = [int(t) for t in (args.threads or ("1" if args.smoke else "1,2")).split(",")]
    sections = args.only or SECTIONS
    wanted = list(M.LIBS) if args.libs is None else ["flowkit", "floor",
                                                     *[x for x in args.libs.split(",") if x not in ("flowkit", "floor")]]
    unknown = [x for x in wanted if x not in M.LIBS]
    if unknown:
        raise SystemExit(f"unknown libraries {unknown}; choose from {list(M.LIBS)}")
    libs, missing = [x for x in wanted if M.available(x)], [x for x in wanted if not M.available(x)]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    res: dict = {"mode": mode, "machine": machine_info(), "libs": libs, "missing": missing,
                 "settings": {**cfg, "threads": threads, "sections": sections}}
    diff = M.check_floor_matches_flowkit()
    if diff > 1e-4:
        raise AssertionError(f"the floor does not compute flowkit's log_prob with the same map (max diff {diff})")
    res["floor_max_abs_diff"] = diff
    threads0, t_start = torch.get_num_threads(), time.perf_counter()
    try:
        _run_sections(res, sections, libs, cfg, threads, mode, log)
    finally:
        torch.set_num_threads(threads0)
    res["total_wall_s"] = time.perf_counter() - t_start
    print(report(res) + f"(total wall time {res['total_wall_s']:.0f} s)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1, default=str))
        print(f"raw numbers: {args.out}")
    return 0


def _run_sections(res: dict, sections: list[str], libs: list[str], cfg: dict, threads: list[int], mode: str,
                  log) -> None:
    from benchmarks import course_bench as C

    if "speed" in sections:
        log(f"speed: {libs} at threads {threads}")
        res["speed"] = speed(libs, cfg, threads, log)
        res["explain"], res["explain_text"] = explanations(libs, cfg)
    torch.set_num_threads(threads[0])
    for task in ("moons", "digits"):
        if task in sections:
            seeds = list(range(cfg[f"{task}_seeds"]))
            log(f"{task}: {cfg[f'{task}_steps']} steps × seeds {seeds} at {threads[0]} thread(s)")
            res[task] = A.compare(task, libs, seeds, cfg[f"{task}_steps"], log, cfg.get("anneal", False))
    if "images" in sections:
        res["images"] = images()
    if "widgets" in sections:
        res["widgets"] = C.widgets(cfg, mode == "smoke", log)
    if "notebooks" in sections:
        res["notebooks"] = C.notebooks(mode == "smoke", log)


if __name__ == "__main__":
    sys.exit(main())
