"""Autograde a folder of submissions: ``make grade SUBMISSIONS=folder``.

Layout: ``folder/<student_id>/<assignment>/<notebook>.ipynb`` (assignment and notebook names as
in ``exercises/source/``). Writes ``exercises/grades.csv`` (one row per student and assignment),
HTML feedback under ``exercises/feedback/<student_id>/<assignment>/``, the gradebook to
``exercises/gradebook.db``, and prints a score table.

How the grade is defended (details in exercises/README.md):

* grading happens in a private copy (a 0700 temporary folder): ``source/``, the gradebook and the
  submissions are copied there, nothing is graded in place;
* the student code runs in a kernel started by ``sandbox_kernel.py``: as an unprivileged user,
  in a mount namespace where the course repository's exercises/tests/.git and the grading copy
  are hidden, with a per-cell timeout; dead or unstoppable kernels are restarted
  (``grading.RobustExecute``) and the rest of the notebook is still graded;
* nbgrader restores every test and read-only cell from the source (``add_missing_cells``);
* hidden tests check that ``torch.allclose`` is genuine and use a freshly reloaded
  ``flowkit.check``;
* what cannot be prevented is flagged: the student's own code is scanned for monkeypatching,
  kernel exits, interrupt swallowing, shell hooks, file access to course files, ... and the CSV
  says why in ``flags``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
EXERCISES = HERE.parent
REPO = EXERCISES.parent
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# (pattern, reason): applied to the code the student wrote or changed
FLAG_PATTERNS = [
    (r"\b(allclose|assert_close|isclose|equal)\s*=(?!=)", "reassigns a comparison function"),
    (r"\b(torch|fk|flowkit|np|numpy|math|testing)\.[\w.]+\s*=(?!=)", "monkeypatches a library"),
    (r"\bsetattr\s*\(", "uses setattr (monkeypatching?)"),
    (r"\b__builtins__\b|\bimport\s+builtins\b|\bbuiltins\.", "touches builtins"),
    (r"\bsys\.modules\b", "edits sys.modules"),
    (r"\b__dict__\b|\bvars\s*\(|\bglobals\s*\(\s*\)\s*\[", "writes through __dict__/vars/globals"),
    (r"\bos\._exit\b|\bsys\.exit\b|(?<![\w.])(exit|quit)\s*\(|\bos\.kill\b|\bsignal\.", "exits or signals the kernel"),
    (r"except\s*(\(\s*)?(KeyboardInterrupt|BaseException|SystemExit)|except\s*:", "swallows interrupts (bare/BaseException except)"),
    (r"\bget_ipython\b|\binput_transformers|\bast_transformers\b|\bevents\.register\b|\bsys\.settrace\b|\bsys\.setprofile\b",
     "hooks the interpreter or the IPython shell"),
    (r"gradebook|nbgrader|exercise_submissions|\bsource/|\.ipynb\b|/proc/", "refers to course/grader files"),
    (r"\bopen\s*\(|\bPath\s*\(|\bos\.(listdir|scandir|walk|chdir)\b|\bglob\b|\bshutil\b", "reads or writes files"),
    (r"\bsubprocess\b|\bos\.(system|popen|exec\w*|spawn\w*|fork)\b|\bpty\b|\bsocket\b|\bctypes\b|\bmultiprocessing\b",
     "runs processes or low-level code"),
    (r"\beval\s*\(|\bexec\s*\(|\bcompile\s*\(|__import__|\bimportlib\b|\bgetattr\s*\(\s*__", "dynamic code"),
    (r"\bfk\.(Planar|AffineCoupling|Coupling|AdditiveCoupling|Affine)\b|\bflowkit\.(planar|coupling|elementwise)\b"
     r"|from\s+flowkit[\w.]*\s+import\s+[^\n]*\b(Planar|AffineCoupling|Coupling|Affine)\b",
     "uses a flowkit reference implementation in a solution"),
]
# The last pattern is only applied to exercises that ask for an implementation.
REFERENCE_ALLOWED = {"03_coupling": ("ex3-solution",)}


def student_code(sub: nbformat.NotebookNode, release: nbformat.NotebookNode, assignment: str) -> list[tuple[str, str]]:
    """(label, source) of the code cells that the student wrote or changed."""
    released = {c.source.strip() for c in release.cells if c.cell_type == "code"}
    # locked cells (given code, tests) are replaced by the source versions before grading
    locked = {c.metadata["nbgrader"]["grade_id"] for c in release.cells
              if c.get("metadata", {}).get("nbgrader", {}).get("locked")}
    out = []
    for i, cell in enumerate(sub.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or cell.source.strip() in released or meta.get("grade_id") in locked:
            continue
        out.append((meta.get("grade_id", f"cell {i}"), cell.source))
    return out


def flags_for(sub_path: Path, release_path: Path, assignment: str) -> list[str]:
    try:
        sub = nbformat.read(sub_path, as_version=4)
    except Exception as e:  # noqa: BLE001
        return [f"unreadable notebook ({type(e).__name__})"]
    release = nbformat.read(release_path, as_version=4) if release_path.exists() else nbformat.v4.new_notebook()
    reasons: list[str] = []
    for gid, src in student_code(sub, release, assignment):
        code = "\n".join(line.split("#", 1)[0] if "'" not in line and '"' not in line else line
                         for line in src.splitlines())
        for pattern, reason in FLAG_PATTERNS:
            if reason.startswith("uses a flowkit reference") and gid in REFERENCE_ALLOWED.get(assignment, ()):
                continue
            if re.search(pattern, code):
                item = f"{reason} [{gid}]"
                if item not in reasons:
                    reasons.append(item)
    return reasons


def run(cmd: list[str], env: dict, cwd: Path, log) -> int:
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    return subprocess.run(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT).returncode


def execution_notes(nb_path: Path) -> list[str]:
    """Timeouts, kernel deaths and restored cells seen in an autograded notebook."""
    notes = []
    if not nb_path.exists():
        return notes
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
        if cell.cell_type == "code":
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error" and o.get("ename") in (
                        "CellTimeoutError", "DeadKernelError", "NotExecuted"):
                    notes.append(f"{o['ename']} [{gid}]")
        if "was missing from the submission" in cell.source:
            notes.append(f"restored deleted cell [{gid}]")
    return sorted(set(notes), key=notes.index)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", type=Path, help="folder/<student>/<assignment>/<notebook>.ipynb")
    ap.add_argument("--csv", type=Path, default=EXERCISES / "grades.csv")
    ap.add_argument("--feedback", type=Path, default=EXERCISES / "feedback")
    ap.add_argument("--gradebook", type=Path, default=EXERCISES / "gradebook.db")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("FLOWKIT_CELL_TIMEOUT", "60")),
                    help="seconds per cell (default 60)")
    ap.add_argument("--no-sandbox", action="store_true", help="run the kernel as the calling user")
    ap.add_argument("--keep", action="store_true", help="keep the temporary grading folder")
    args = ap.parse_args(argv)

    sources = {p.name: sorted(q.stem for q in p.glob("*.ipynb")) for p in (EXERCISES / "source").iterdir() if p.is_dir()}
    if not args.submissions.is_dir():
        ap.error(f"no such folder: {args.submissions}")
    subs: list[tuple[str, str, list[Path]]] = []
    for sdir in sorted(p for p in args.submissions.iterdir() if p.is_dir()):
        for adir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            if not ID_RE.match(sdir.name) or adir.name not in sources:
                print(f"skipping {adir} (unknown assignment or odd student id)", file=sys.stderr)
                continue
            nbs = [adir / f"{n}.ipynb" for n in sources[adir.name] if (adir / f"{n}.ipynb").exists()]
            if nbs:
                subs.append((sdir.name, adir.name, nbs))
    if not subs:
        print(f"no submissions found under {args.submissions}", file=sys.stderr)
        return 1
    assignments = sorted({a for _, a, _ in subs})

    old_umask = os.umask(0o077)
    tmp = Path(tempfile.mkdtemp(prefix="flowkit-grade-"))          # 0700: the kernel user cannot enter
    kernel_tmp = Path(tempfile.mkdtemp(prefix="flowkit-kernels-"))  # kernel homes when no namespace
    os.chmod(kernel_tmp, 0o711)
    root = tmp / "course"
    try:
        root.mkdir()
        shutil.copy2(EXERCISES / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(HERE, root / "tools", ignore=shutil.ignore_patterns("__pycache__"))
        for a in assignments:
            shutil.copytree(EXERCISES / "source" / a, root / "source" / a)
        spec = tmp / "jupyter" / "kernels" / "flowkit-sandbox"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, str(HERE / "sandbox_kernel.py"), "-f", "{connection_file}"],
            "display_name": "flowkit sandbox", "language": "python"}))
        bindir = str(Path(sys.executable).parent)
        env = dict(os.environ)
        env.update({
            "PATH": bindir + os.pathsep + env.get("PATH", ""),   # nbgrader runs `alembic`
            "JUPYTER_PATH": str(tmp / "jupyter"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"), "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
            "FLOWKIT_GRADE_KERNEL": "flowkit-sandbox", "FLOWKIT_CELL_TIMEOUT": str(args.timeout),
            "FLOWKIT_SANDBOX": "0" if args.no_sandbox else "1", "FLOWKIT_SANDBOX_TMP": str(kernel_tmp),
            "FLOWKIT_SANDBOX_HIDE": os.pathsep.join(str(p) for p in (
                EXERCISES, REPO / "tests", REPO / ".git", tmp, args.submissions.resolve())),
            "FLOWKIT_FAST": env.get("FLOWKIT_FAST", "1"), "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"),
            "PYTHONPATH": "",
        })
        steps = [sys.executable, str(HERE / "nbgrader_steps.py")]
        log_path = tmp / "nbgrader.log"
        with open(log_path, "w") as log:
            if run(steps + ["release", *assignments], env, root, log):
                raise SystemExit(f"nbgrader generate_assignment failed; see {log_path}")
            for student, a, nbs in subs:
                dest = root / "submitted" / student / a
                dest.mkdir(parents=True)
                for nb in nbs:
                    shutil.copy(nb, dest / nb.name)
            print(f"autograding {len(subs)} submissions of {', '.join(assignments)} "
                  f"({args.timeout} s per cell) ...", flush=True)
            run(steps + ["autograde", *assignments], env, root, log)
            canaries = check_canaries(root, subs)
            run(steps + ["feedback", *assignments], env, root, log)
        sandbox = sandbox_state(args.no_sandbox)
        rows = collect(root, subs, sandbox, canaries)
        write_outputs(rows, root, args)
        print_table(rows)
        print(f"\nsandbox: {sandbox}\nscores: {args.csv}\nfeedback: {args.feedback}/<student>/<assignment>/")
        if any(r["status"] != "graded" for r in rows):
            print(f"some submissions could not be graded; nbgrader's log: {log_path if args.keep else '(use --keep)'}")
        return 0
    finally:
        os.umask(old_umask)
        if args.keep:
            print(f"kept the grading folder {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(kernel_tmp, ignore_errors=True)


def sandbox_state(disabled: bool) -> str:
    if disabled or os.geteuid() != 0 or not shutil.which("setpriv"):
        return "OFF (student code ran as the calling user: run as root for the sandbox)"
    user = os.environ.get("FLOWKIT_SANDBOX_USER", "nobody")
    return f"student code ran as '{user}' (setpriv), in a private mount namespace where the system allows it"


def check_canaries(root: Path, subs) -> dict:
    """Zero every test cell that scored but whose output lacks its canary line (it did not run)."""
    sys.path.insert(0, str(HERE))
    from nbgrader.api import Gradebook, MissingEntry
    from notebook_builder import CANARY

    zeroed: dict[tuple[str, str], list[str]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, a, nbs in subs:
            for nb_file in nbs:
                path = root / "autograded" / student / a / nb_file.name
                if not path.exists():
                    continue
                for cell in nbformat.read(path, as_version=4).cells:
                    meta = cell.get("metadata", {}).get("nbgrader", {})
                    if cell.cell_type != "code" or not meta.get("grade"):
                        continue
                    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
                    if CANARY.format(meta["grade_id"]) in text:
                        continue
                    try:
                        grade = gb.find_grade(meta["grade_id"], nb_file.stem, a, student)
                    except MissingEntry:
                        continue
                    if (grade.auto_score or 0) > 0:
                        grade.manual_score = 0.0
                        zeroed.setdefault((student, a), []).append(meta["grade_id"])
        gb.db.commit()
    return zeroed


def collect(root: Path, subs, sandbox: str, canaries: dict) -> list[dict]:
    sys.path.insert(0, str(root / "tools"))
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, a, nbs in subs:
            row = {"student_id": student, "assignment": a, "score": 0.0, "max_score": 0.0,
                   "status": "graded", "lost": "", "flagged": "", "flags": "", "notes": ""}
            assignment = gb.find_assignment(a)
            row["max_score"] = assignment.max_score
            try:
                sub = gb.find_submission(a, student)
                lost, notes = [], []
                for nb in sub.notebooks:
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        if g.max_score and (g.score or 0) < g.max_score:
                            lost.append(f"{g.name} {(g.score or 0):g}/{g.max_score:g}")
                    notes += execution_notes(root / "autograded" / student / a / f"{nb.name}.ipynb")
                    if not (root / "autograded" / student / a / f"{nb.name}.ipynb").exists():
                        row["status"] = "grading error"
                row["score"] = sub.score
                row["lost"] = "; ".join(lost)
                row["notes"] = "; ".join(notes)
            except MissingEntry:
                row["status"] = "grading error"
            reasons = []
            for nb in nbs:
                reasons += flags_for(root / "submitted" / student / a / nb.name,
                                     root / "release" / a / nb.name, a)
            for gid in canaries.get((student, a), []):
                reasons.append(f"test cell passed without running to its end: scored 0 [{gid}]")
            if row["status"] != "graded":
                reasons.append("could not be graded (score 0): see nbgrader's log")
                row["score"] = 0.0
            row["flags"] = " | ".join(reasons)
            row["flagged"] = "FLAGGED" if reasons else ""
            rows.append(row)
    return rows


def write_outputs(rows: list[dict], root: Path, args) -> None:
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.chmod(args.csv, 0o644)
    for row in rows:
        src = root / "feedback" / row["student_id"] / row["assignment"]
        dest = args.feedback / row["student_id"] / row["assignment"]
        if dest.exists():
            shutil.rmtree(dest)
        if src.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dest)
    for p in [args.feedback, *args.feedback.rglob("*")]:
        if p.exists():
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    shutil.copy(root / "gradebook.db", args.gradebook)


def print_table(rows: list[dict]) -> None:
    head = f"{'student':<14} {'assignment':<16} {'score':>11}  {'flagged':<8} lost / notes"
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        score = f"{r['score']:g} / {r['max_score']:g}"
        extra = "; ".join(x for x in (r["lost"], r["notes"]) if x)
        if r["status"] != "graded":
            extra = r["status"] + ("; " + extra if extra else "")
        print(f"{r['student_id']:<14} {r['assignment']:<16} {score:>11}  {r['flagged']:<8} {extra}")
        if r["flags"]:
            for f in r["flags"].split(" | "):
                print(f"{'':<42}  ⚑ {f}")


if __name__ == "__main__":
    sys.exit(main())
