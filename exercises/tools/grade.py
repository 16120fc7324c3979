"""Autograde a folder of submissions: ``make grade SUBMISSIONS=folder``.

Layout: ``folder/<student_id>/<assignment>/<assignment>.ipynb``. Every student in the folder
gets a CSV row (a score, or the reason there is none); scores go into nbgrader's gradebook,
which keeps every earlier student (a backup is written first); each graded notebook gets an
HTML feedback page. How the verdicts are defended: ``exercises/README.md`` and the modules of
``exercises/grader/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXERCISES = HERE.parent
sys.path.insert(0, str(EXERCISES))

from flowkit.course.checks import exercises  # noqa: E402
from grader.collect import Submission, collect  # noqa: E402
from grader.feedback import render_page  # noqa: E402
from grader.flags import flags_for  # noqa: E402
from grader.gradebook import record  # noqa: E402
from grader.kernel import SandboxKernel  # noqa: E402
from grader.plan import NotebookError, build_plan, read_source, read_submission  # noqa: E402
from grader.report import escape, print_table, write_csv  # noqa: E402
from grader.sandbox import HOME, Isolation, Limits, detect  # noqa: E402
from grader.session import Graded, Options, grade_plan  # noqa: E402


def kernel_env() -> dict[str, str]:
    return {"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "FLOWKIT_FAST": os.environ.get("FLOWKIT_FAST", "1"), "MPLCONFIGDIR": f"{HOME}/.matplotlib",
            "IPYTHONDIR": f"{HOME}/.ipython", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "TMPDIR": "/tmp", "FLOWKIT_SANDBOXED": "1"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", type=Path, help="folder/<student>/<assignment>/<assignment>.ipynb")
    ap.add_argument("--csv", type=Path, default=EXERCISES / "grades.csv")
    ap.add_argument("--feedback", type=Path, default=EXERCISES / "feedback")
    ap.add_argument("--gradebook", type=Path, default=EXERCISES / "gradebook.db")
    ap.add_argument("--source", type=Path, default=EXERCISES / "source", help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("FLOWKIT_CELL_TIMEOUT", "60")),
                    help="seconds per student cell (default 60; given cells get 300, check calls 60)")
    ap.add_argument("--submission-timeout", type=float, default=900, help="seconds per notebook (default 900)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="notebooks graded at the same time, each in its own sandbox (default: 2, or 1 on one core)")
    ap.add_argument("--memory", type=int, default=6, help="GiB of address space per kernel process (default 6)")
    ap.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run student code WITHOUT isolation where bubblewrap is missing (your own work only)")
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        ap.error(f"no such folder: {args.submissions}")
    if args.jobs < 1 or args.timeout <= 0:
        ap.error("--jobs must be ≥ 1 and --timeout > 0")
    return args


class Course:
    """The source notebooks: skeletons, points, titles (trusted, read by the grader only)."""

    def __init__(self, source: Path) -> None:
        self.names = sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())
        self.cells = {a: read_source(str(source / a / f"{a}.ipynb")) for a in self.names}
        known = exercises()
        self.layout = {a: {c.grade_id: known[f"{a}/{c.grade_id}"].points for c in cells if c.role == "test"}
                       for a, cells in self.cells.items()}
        self.titles = {a: {gid: known[f"{a}/{gid}"].title for gid in ids} for a, ids in self.layout.items()}


def grade_one(sub: Submission, course: Course, iso: Isolation, limits: Limits, options: Options,
              workdir: Path) -> tuple[dict, Graded | None]:
    row = {"student_id": sub.student, "assignment": sub.assignment, "score": 0.0, "max_score":
           sum(course.layout.get(sub.assignment, {}).values()), "status": "graded", "lost": "", "flagged": "",
           "flags": "", "notes": sub.note, "mode": iso.mode, "graded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if sub.problem:
        row["status"] = f"not graded: {sub.problem}"
        return row, None
    try:
        cells, notes = read_submission(sub.data)
    except NotebookError as e:
        row["status"] = f"not graded: {e}"
        return row, None
    plan = build_plan(course.cells[sub.assignment], cells)
    plan.notes = notes + plan.notes
    graded = grade_plan(sub.assignment, plan, lambda: SandboxKernel(iso, limits, kernel_env(), workdir), options)
    row["score"] = sum(r.points for r in graded.checks.values())
    row["lost"] = "; ".join(f"{gid} {r.points:g}/{r.max_points:g}" for gid, r in graded.checks.items()
                            if r.points < r.max_points)
    row["notes"] = "; ".join(filter(None, [sub.note, *graded.notes]))
    mine = [(s.label, s.source) for s, _ in graded.steps if s.origin == "student" and s.kind == "code"]
    reasons = flags_for(sub.assignment, mine)
    row["flags"], row["flagged"] = " | ".join(reasons), "review" if reasons else ""
    return row, graded


def feedback_folder(root: Path, student: str, assignment: str) -> Path:
    name = escape(student, 120).replace("/", "\\x2f") or "\\x00"
    if name in (".", ".."):
        name = name.replace(".", "\\x2e")
    return root / name / assignment


def write_feedback(root: Path, results: list[tuple[dict, Graded | None]], course: Course, iso: Isolation) -> None:
    for row, graded in results:
        if row["assignment"] not in course.layout:
            continue
        dest = feedback_folder(root, row["student_id"], row["assignment"])
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        score = f"{row['score']:g} / {row['max_score']:g}" if graded else "not graded"
        page = render_page(escape(row["student_id"]), row["assignment"], score, iso.mode, graded,
                           course.titles[row["assignment"]], "" if graded else row["status"])
        (dest / f"{row['assignment']}.html").write_text(page, encoding="utf-8")
    for p in [root, *root.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limits = Limits(memory=args.memory << 30)
    iso = detect(args.unsafe_no_sandbox, limits)
    course = Course(args.source)
    subs = collect(args.submissions, set(course.names))
    if not subs:
        print(f"no submissions found under {escape(str(args.submissions))}", file=sys.stderr)
        return 1
    options = Options(cell_timeout=args.timeout, given_timeout=max(300.0, args.timeout),
                      call_timeout=max(60.0, args.timeout), check_timeout=max(240.0, 4 * args.timeout),
                      submission_timeout=args.submission_timeout)
    gradable = sum(1 for s in subs if not s.problem)
    print(f"grading {gradable} notebook(s) of {len({s.student for s in subs})} student(s); isolation: {iso.mode}",
          flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="flowkit-grade-"))
    os.chmod(workdir, 0o711)
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda s: grade_one(s, course, iso, limits, options, workdir), subs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    graded = [(r["student_id"], r["assignment"], {gid: c.points for gid, c in g.checks.items()})
              for r, g in results if g is not None]
    rows = [r for r, _ in results]
    write_csv(rows, args.csv)
    write_feedback(args.feedback, results, course, iso)
    print_table(rows)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader: alembic
    saved = record(args.gradebook, course.layout, graded)
    print(f"\nisolation: {iso.mode} — {iso.detail}\nscores: {args.csv}\ngradebook: {args.gradebook}"
          + (f" (previous version kept as {saved.name})" if saved else "")
          + f"\nfeedback: {args.feedback}/<student>/<assignment>/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
