"""`make grade` against a class of hostile and honest submissions (one grading run for the module).

For every hostile class: the score is what the answers alone earn, and nothing outside the
submission changed (course sources, flowkit, the other students' folders, the gradebook's
other rows, /tmp, /var/tmp, /dev/shm; no process left behind).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grader_class import A1, REPO, solved, write  # noqa: E402
from grader_hostile_cases import MARK, SELF_HARM, cases  # noqa: E402

pytest.importorskip("nbgrader")
GRADE = REPO / "exercises" / "tools" / "grade.py"
sys.path.insert(0, str(REPO / "exercises"))
from grader.sandbox import detect  # noqa: E402

try:
    detect(False)
    SANDBOX = True
except SystemExit:
    SANDBOX = False
pytestmark = pytest.mark.skipif(not SANDBOX, reason="needs bubblewrap (make grade refuses without it)")
WEIRD_IDS = ["ünï cødé", "with space", "esc\x1b[2Jape", "-rf =cmd"]


def _tree_hash(*roots: Path) -> str:
    h = hashlib.sha256()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                p = Path(dirpath) / name
                st = os.lstat(p)
                h.update(str(p).encode("utf-8", "surrogateescape"))
                if stat.S_ISREG(st.st_mode):
                    h.update(p.read_bytes())
                elif stat.S_ISLNK(st.st_mode):
                    h.update(os.readlink(p).encode())
    return h.hexdigest()


def _marker_processes() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and MARK in Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace"):
                found.append(entry)
        except OSError:
            continue
    return found


def _build(folder: Path) -> dict[str, int]:
    expected = {}
    for student, (nb, score) in cases().items():
        write(folder, student, A1, nb)
        expected[student] = score
    for student in WEIRD_IDS:
        write(folder, student, A1, solved(A1))
        expected[student] = 7
    alice = write(folder, "alice", A1, solved(A1))
    expected["alice"] = 7
    (folder / "linker" / A1).mkdir(parents=True)
    os.symlink(alice, folder / "linker" / A1 / f"{A1}.ipynb")
    (folder / "sourcelink" / A1).mkdir(parents=True)
    os.symlink(REPO / "exercises" / "source" / A1 / f"{A1}.ipynb", folder / "sourcelink" / A1 / f"{A1}.ipynb")
    os.symlink(folder / "alice", folder / "linkdir")
    (folder / "dirnb" / A1 / f"{A1}.ipynb").mkdir(parents=True)
    (folder / "fifo" / A1).mkdir(parents=True)
    os.mkfifo(folder / "fifo" / A1 / f"{A1}.ipynb")
    write(folder, "badjson", A1, b'{"cells": [')
    write(folder, "notnb", A1, b"[1, 2, 3]")
    if os.geteuid() == 0:
        (folder / "device" / A1).mkdir(parents=True)
        os.mknod(folder / "device" / A1 / f"{A1}.ipynb", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return expected


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    folder = tmp / "class"
    expected = _build(folder)
    gradebook = tmp / "gradebook.db"
    sys.path.insert(0, str(REPO / "exercises"))
    from grader.gradebook import record

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    record(gradebook, {A1: {"ex1-tests": 2, "ex2-tests": 3, "ex3-tests": 2}}, [("earlier", A1, {"ex1-tests": 2})])
    watched = [REPO / "exercises" / "source", REPO / "exercises" / "hidden_checks", REPO / "flowkit", folder]
    before = {"tree": _tree_hash(*watched), "tmp": set(os.listdir("/tmp")), "var": set(os.listdir("/var/tmp")),
              "shm": set(os.listdir("/dev/shm"))}
    env = dict(os.environ, FLOWKIT_FAST="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(GRADE), str(folder), "--timeout", "15", "--jobs", "2",
                          "--csv", str(tmp / "grades.csv"), "--feedback", str(tmp / "fb"), "--gradebook", str(gradebook)],
                         capture_output=True, text=True, timeout=900, env=env)
    print(out.stdout[-8000:], out.stderr[-4000:])
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp / "grades.csv", encoding="utf-8") as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    return {"rows": rows, "expected": expected, "stdout": out.stdout, "tmp": tmp, "before": before,
            "watched": watched, "gradebook": gradebook}


def _csv_id(student: str) -> str:
    from grader.report import escape

    s = escape(student)
    return "'" + s if s[:1] in "=+-@" else s


def _row(run, student):
    return run["rows"][(_csv_id(student), A1)]


def _page(run, student) -> str:
    from grader.report import escape

    return (run["tmp"] / "fb" / escape(student) / A1 / f"{A1}.html").read_text()


@pytest.mark.parametrize("student", sorted(cases()))
def test_each_submission_gets_what_its_answers_earn(run, student):
    row = _row(run, student)
    assert row["status"] == "graded", row
    if student in SELF_HARM:
        assert float(row["score"]) <= run["expected"][student], row
    else:
        assert float(row["score"]) == run["expected"][student], row
    assert row["mode"] == "bwrap" or row["mode"] == "bwrap-userns"


def test_nothing_outside_the_submissions_changed(run):
    assert _tree_hash(*run["watched"]) == run["before"]["tree"]
    assert not _marker_processes()
    for key, folder in (("tmp", "/tmp"), ("var", "/var/tmp"), ("shm", "/dev/shm")):
        assert not any(MARK in name for name in set(os.listdir(folder)) - run["before"][key])


def test_gradebook_keeps_earlier_students_and_matches_the_csv(run):
    gb = run["gradebook"]
    assert list(gb.parent.glob("gradebook.db.bak-*")), "a backup is written before the gradebook changes"
    with sqlite3.connect(gb) as db:
        students = {r[0] for r in db.execute("SELECT id FROM student")}
        scores = dict(db.execute("SELECT student.id, SUM(grade.auto_score) FROM grade "
                                 "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                                 "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
                                 "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"))
    assert "earlier" in students and scores["earlier"] == 2
    for (student, _), row in run["rows"].items():
        if row["status"] == "graded":
            raw = next(s for s in students if _csv_id(s) == student)
            assert scores[raw] == float(row["score"])


def test_every_folder_entry_gets_a_row_with_a_reason(run):
    rows = run["rows"]
    for student, reason in (("linker", "symbolic link"), ("sourcelink", "symbolic link"), ("linkdir", "symbolic link"),
                            ("dirnb", "a directory"), ("fifo", "a FIFO"), ("badjson", "not valid JSON"),
                            ("notnb", "not a Jupyter notebook")) + ((("device", "device file"),) if os.geteuid() == 0 else ()):
        row = rows[(student, A1) if (student, A1) in rows else (student, "(none)")]
        assert row["status"].startswith("not graded") and reason in row["status"], row
    for student in WEIRD_IDS:
        assert float(_row(run, student)["score"]) == 7
    assert ("'-rf =cmd", A1) in rows
    assert "\x1b" not in run["stdout"] and "esc\\x1b[2Jape" in run["stdout"]
    assert "FAKE ROW" not in run["stdout"]


def test_feedback_is_sanitised_and_keeps_plots_and_math(run):
    page = _page(run, "markup")
    body = page.split("</style></head>", 1)[1]
    for bad in (r"<script", r"<[^>]*\son\w+\s*=", r"<[^>]*evil\.example", r"<[^>]*javascript:", r"<style"):
        assert not re.search(bad, body), bad
    assert 'src="data:image/png;base64,' in page
    assert "\\log p(x) = \\log p(z)" in page


def test_hidden_checks_never_leak(run):
    page = _page(run, "leaker")
    assert "LEAKED: []" in page
    listing = re.search(r"LISTING: \[([^\]]*)\]", page).group(1)
    names = {a or b for a, b in re.findall(r"&#x27;([^&]*)&#x27;|'([^']*)'", listing)}
    assert names <= {".venv", "flowkit"}, names      # only the bound runtime, no course source
    hidden = [line.strip() for p in (REPO / "exercises" / "hidden_checks").glob("h*.py")
              for line in p.read_text().splitlines() if len(line.strip()) > 30]
    for name in ("leaker", "full", "partial"):
        text = _page(run, name)
        assert not any(line in text for line in hidden)
        assert "hidden_checks" not in text


def test_partial_feedback_names_the_failing_check(run):
    row = _row(run, "partial")
    assert row["lost"] == "ex2-tests 0/3"
    page = _page(run, "partial")
    assert "off by a constant +0.6931 = log 2" in page and "✗ ScaleShift" in page


def test_restarts_are_noted(run):
    assert "CellTimeoutError" in _row(run, "stubborn")["notes"]
    assert "DeadKernelError" in _row(run, "exiter")["notes"]
    assert "pasted" in _row(run, "pasted")["notes"] or "copies" in _row(run, "pasted")["notes"]


def test_a_second_run_replaces_only_its_students(run, tmp_path):
    folder = tmp_path / "again"
    write(folder, "alice", A1, solved(A1))
    env = dict(os.environ, FLOWKIT_FAST="1")
    out = subprocess.run([sys.executable, str(GRADE), str(folder), "--timeout", "10", "--csv", str(tmp_path / "g.csv"),
                          "--feedback", str(tmp_path / "fb"), "--gradebook", str(run["gradebook"])],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    with sqlite3.connect(run["gradebook"]) as db:
        students = {r[0] for r in db.execute("SELECT id FROM student")}
    assert {"earlier", "full", "partial", "alice", *WEIRD_IDS} <= students
    assert len(list(run["gradebook"].parent.glob("gradebook.db.bak-*"))) >= 2
    assert re.search(r"alice\s+01_fundamentals\s+7 / 7", out.stdout)
    shutil.rmtree(folder)
