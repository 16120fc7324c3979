"""The nbgrader exercises (exercises/): source notebooks, released versions, and `make grade`.

One module-scoped autograde run (``exercises/tools/grade.py``) grades, at once: the source
notebooks themselves (student "source"), the demo folder (alice correct, bob wrong, mallory
hostile) and one student per hostile/broken case in tests/exercise_submissions/cases/.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

REPO = Path(__file__).resolve().parents[1]
EXERCISES = REPO / "exercises"
TOOLS = EXERCISES / "tools"
FIXTURES = Path(__file__).resolve().parent / "exercise_submissions"
ASSIGNMENTS = {"01_fundamentals": 7, "02_planar": 6, "03_coupling": 9, "04_realnvp": 5, "05_glow": 6,
               "06_evaluation": 5}
TIMEOUT = 10  # seconds per cell in the test run (the course default is 60)
SANDBOXED = os.geteuid() == 0 and shutil.which("setpriv") is not None
# The kernel hides the repository (hidden tests, solutions, fixtures) in a private mount
# namespace; where the system refuses one, only the grading copy is out of its reach.
NAMESPACED = SANDBOXED and shutil.which("unshare") is not None and subprocess.run(
    ["unshare", "-m", "true"], capture_output=True).returncode == 0

sys.path.insert(0, str(TOOLS))


def _env() -> dict:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                FLOWKIT_FAST="1", OMP_NUM_THREADS="1")


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


# ---------------------------------------------------------------------------------------------
# source notebooks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_source_notebook_is_well_formed(assignment):
    import make_source

    path = EXERCISES / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nbformat.writes(make_source.NOTEBOOKS[assignment]()).strip() == path.read_text().strip(), \
        "the source notebook is out of date: run exercises/tools/make_source.py"
    points, ids = 0, []
    for cell in nb.cells:
        assert not cell.get("outputs") and not cell.get("execution_count"), "commit sources without outputs"
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        ids.append(meta["grade_id"])
        if meta.get("grade"):
            assert meta["locked"] and meta["points"] > 0
            assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source
            points += meta["points"]
        if meta.get("solution"):
            assert not meta["locked"] and "### BEGIN SOLUTION" in cell.source
    assert len(ids) == len(set(ids))
    assert points == ASSIGNMENTS[assignment]


def test_released_versions_strip_solutions_and_hidden_tests(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(EXERCISES / "nbgrader_config.py", course)
    shutil.copytree(EXERCISES / "source", course / "source")
    subprocess.run([sys.executable, str(TOOLS / "nbgrader_steps.py"), "release", *ASSIGNMENTS], cwd=course,
                   env=_env(), check=True, capture_output=True, timeout=300)
    for a in ASSIGNMENTS:
        source = nbformat.read(course / "source" / a / f"{a}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / a / f"{a}.ipynb", as_version=4)
        text = _code(release)
        # lines that the source also has outside its solution regions may appear in the release
        given = set(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", _code(source), flags=re.S).splitlines())
        given = {line.strip() for line in given}
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN", "_maxerr", "[grader]", "_il.reload"):
            assert marker not in text, f"{a}: {marker!r} is in the released notebook"
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                region = cell.source.split("### BEGIN SOLUTION")[1:]
                for chunk in region:
                    for line in chunk.split("### END SOLUTION")[0].splitlines():
                        if len(line.strip()) > 20 and line.strip() not in given:
                            assert line.strip() not in text, f"{a}: solution line leaked: {line.strip()}"
            if meta.get("grade"):   # the visible part of the tests is kept
                visible = cell.source.split("### BEGIN HIDDEN TESTS")[0].strip()
                assert visible in text
        stubs = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)


# ---------------------------------------------------------------------------------------------
# one autograde run over every fixture submission
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade")
    subs = tmp / "submissions"
    for folder in ("demo", "cases"):
        shutil.copytree(FIXTURES / folder, subs, dirs_exist_ok=True)
    for a in ASSIGNMENTS:   # the source notebooks themselves, as a submission
        (subs / "source" / a).mkdir(parents=True)
        shutil.copy(EXERCISES / "source" / a / f"{a}.ipynb", subs / "source" / a)
    out = subprocess.run(
        [sys.executable, str(TOOLS / "grade.py"), str(subs), "--timeout", str(TIMEOUT), "--keep",
         "--csv", str(tmp / "grades.csv"), "--feedback", str(tmp / "feedback"), "--gradebook", str(tmp / "gb.db")],
        env=_env(), capture_output=True, text=True, timeout=600)
    print(out.stdout[-6000:], out.stderr[-3000:])
    assert out.returncode == 0, out.stderr[-3000:]
    kept = Path(re.search(r"kept the grading folder (\S+)", out.stdout).group(1))
    with open(tmp / "grades.csv") as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    yield {"rows": rows, "stdout": out.stdout, "work": kept / "course", "tmp": tmp}
    shutil.rmtree(kept, ignore_errors=True)


def _autograded(graded, student, assignment="01_fundamentals"):
    return nbformat.read(graded["work"] / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)


def _outputs(nb, grade_id) -> str:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []))
    raise KeyError(grade_id)


def _lost(row) -> set[str]:
    return {item.split()[0] for item in row["lost"].split("; ") if item}


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_source_notebooks_run_clean_and_score_full_marks(graded, assignment):
    row = graded["rows"][("source", assignment)]
    assert float(row["score"]) == float(row["max_score"]) == ASSIGNMENTS[assignment]
    assert row["status"] == "graded" and not row["flagged"] and not row["notes"]
    nb = _autograded(graded, "source", assignment)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors


def test_wrong_submission_loses_exactly_that_question(graded):
    rows = graded["rows"]
    assert float(rows[("bob", "01_fundamentals")]["score"]) == 4
    assert _lost(rows[("bob", "01_fundamentals")]) == {"ex2-tests"}
    assert float(rows[("bob", "03_coupling")]["score"]) == 7
    assert _lost(rows[("bob", "03_coupling")]) == {"ex1-tests"}
    for a, score in (("04_realnvp", 3), ("05_glow", 3), ("06_evaluation", 3)):
        assert float(rows[("bob", a)]["score"]) == score and _lost(rows[("bob", a)]) == {"ex1-tests"}, rows[("bob", a)]
        assert not rows[("bob", a)]["flagged"]
    assert not rows[("bob", "01_fundamentals")]["flagged"]
    # the visible test told bob precisely what is wrong
    assert "off by a constant +0.6931 = log 2" in _outputs(_autograded(graded, "bob"), "ex2-tests")
    assert "dequantization term" in _outputs(_autograded(graded, "bob", "04_realnvp"), "ex1-tests")
    assert "H·W = 16 pixels" in _outputs(_autograded(graded, "bob", "05_glow"), "ex1-tests")
    assert "ties (equal scores) count ½" in _outputs(_autograded(graded, "bob", "06_evaluation"), "ex1-tests")


def test_demo_scores_and_table(graded):
    rows, stdout = graded["rows"], graded["stdout"]
    for a, pts in ASSIGNMENTS.items():
        assert float(rows[("alice", a)]["score"]) == pts and not rows[("alice", a)]["flagged"]
    mallory = rows[("mallory", "01_fundamentals")]
    assert float(mallory["score"]) == 2 and _lost(mallory) == {"ex2-tests", "ex3-tests"}
    assert mallory["flagged"] == "FLAGGED" and "comparison function" in mallory["flags"]
    assert re.search(r"alice\s+01_fundamentals\s+7 / 7", stdout)
    assert re.search(r"mallory\s+01_fundamentals\s+2 / 7\s+FLAGGED", stdout)
    # mallory's patched allclose fooled the visible test but not the hidden one
    assert "torch.allclose was tampered with" in _outputs(_autograded(graded, "mallory"), "ex2-tests")


# student: (score, questions lost, flagged, text expected in the notes)
CASES = {
    "raiser": (4, {"ex2-tests"}, False, ""),                          # exception at top level
    "looper": (5, {"ex1-tests"}, False, "CellTimeoutError [ex1-solution]"),   # infinite loop
    "stubborn": (4, {"ex2-tests"}, True, "CellTimeoutError [ex2-solution]"),  # swallows interrupts
    "exiter": (4, {"ex2-tests"}, True, "DeadKernelError [ex2-solution]"),     # os._exit(0)
    "editor": (2, {"ex1-tests", "ex2-tests"}, False, "restored deleted cell [ex2-tests]"),
    "snoop": (3, {"ex1-tests", "ex3-tests"}, True, ""),               # reads/writes grader files
    "patcher": (0, {"ex1-tests", "ex2-tests", "ex3-tests"}, True, ""),  # monkeypatching
    "transformer": (0, {"ex1-tests", "ex2-tests", "ex3-tests"}, True, ""),  # rewrites later cells
}


@pytest.mark.parametrize("student", sorted(CASES))
def test_hostile_and_broken_submissions(graded, student):
    if student == "snoop" and not NAMESPACED:
        pytest.skip("without a mount namespace the repository is readable by the kernel (see README)")
    score, lost, flagged, note = CASES[student]
    row = graded["rows"][(student, "01_fundamentals")]
    assert row["status"] == "graded"
    assert float(row["score"]) == score, row
    assert _lost(row) == lost, row
    assert bool(row["flagged"]) == flagged, row
    assert note in row["notes"], row


def test_unstoppable_cells_are_killed_and_the_rest_graded(graded):
    nb = _autograded(graded, "stubborn")
    assert "did not stop when interrupted; the kernel was killed" in _outputs(nb, "ex2-solution")
    assert "[grader] ex3-tests complete" in _outputs(nb, "ex3-tests")   # graded after the restart
    nb = _autograded(graded, "exiter")
    assert "the kernel died" in _outputs(nb, "ex2-solution")
    assert "[grader] ex1-tests complete" in _outputs(nb, "ex1-tests")
    assert "[grader] ex3-tests complete" in _outputs(nb, "ex3-tests")


def test_edited_test_cells_are_restored(graded):
    nb = _autograded(graded, "editor")
    assert "all tests passed" not in nb.cells[[c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
                                             .index("ex1-tests")].source
    assert "[grader] ex1-tests complete" not in _outputs(nb, "ex1-tests")   # it ran, and failed


@pytest.mark.skipif(not NAMESPACED, reason="the sandbox needs root, setpriv and a mount namespace")
def test_student_code_cannot_read_hidden_tests_or_write_the_gradebook(graded):
    nb = _autograded(graded, "snoop")
    assert "LEAKED: []" in _outputs(nb, "ex1-solution")
    assert "WRITABLE: []" in _outputs(nb, "ex3-solution")
    row = graded["rows"][("snoop", "01_fundamentals")]
    assert "refers to course/grader files" in row["flags"]


def test_transformer_hack_is_zeroed_and_flagged(graded):
    row = graded["rows"][("transformer", "01_fundamentals")]
    assert "passed without running to its end" in row["flags"]
    assert "hooks the interpreter or the IPython shell" in row["flags"]


def test_feedback_and_csv(graded):
    rows, tmp = graded["rows"], graded["tmp"]
    header = next(csv.reader(open(tmp / "grades.csv")))
    assert header[:6] == ["student_id", "assignment", "score", "max_score", "status", "lost"]
    assert "flagged" in header and "flags" in header
    for (student, a) in rows:
        html = (tmp / "feedback" / student / a / f"{a}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "_maxerr" not in html
