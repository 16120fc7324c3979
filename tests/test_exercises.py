"""The exercises (exercises/): source notebooks, released versions, and `make grade` on the demo.

One module-scoped grading run (``exercises/tools/grade.py``) grades the source notebooks
themselves (student "source") and the demo folder (alice correct, bob wrong, mallory hostile).
The same answers, run through the learner's check cell (``check_exercise`` in their own
namespace), get the same verdicts. The hostile classes are in tests/test_grader_hostile.py; the
exercises' sources, learner notebooks and typical mistakes in tests/test_exercise_sources.py.
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
               "06_evaluation": 8, "07_at_work": 2}
TIMEOUT = 20  # seconds per cell in the test run (the course default is 60)

sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(EXERCISES))


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
    path = EXERCISES / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    points, ids = 0, []
    for cell in nb.cells:
        assert not cell.get("outputs") and not cell.get("execution_count"), "commit sources without outputs"
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        ids.append(meta["grade_id"])
        if meta.get("grade"):
            from flowkit.course.checks import exercises

            assert meta["locked"] and meta["points"] > 0
            assert f'check_exercise("{assignment}/{meta["grade_id"]}")' in cell.source
            assert exercises()[f"{assignment}/{meta['grade_id']}"].points == meta["points"]
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
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN", "hidden_checks"):
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
        # nbgrader's release stubs are exactly the learner's stubs in the course notebook
        from assignments import release_notebook

        ours = [c.source for c in release_notebook(source).cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert [c.source for c in stubs] == ours, f"{a}: nbgrader's stubs differ from the course notebook's"


# ---------------------------------------------------------------------------------------------
# one grading run over the demo folder and the source notebooks
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grader.sandbox import detect

    try:
        detect(False)
    except SystemExit as e:
        pytest.skip(f"make grade refuses to run here: {e}")
    tmp = tmp_path_factory.mktemp("grade")
    subs = tmp / "submissions"
    shutil.copytree(FIXTURES / "demo", subs)
    for a in ASSIGNMENTS:   # the source notebooks themselves, as a submission
        (subs / "source" / a).mkdir(parents=True)
        shutil.copy(EXERCISES / "source" / a / f"{a}.ipynb", subs / "source" / a)
    out = subprocess.run(
        [sys.executable, str(TOOLS / "grade.py"), str(subs), "--timeout", str(TIMEOUT), "--jobs", "2",
         "--csv", str(tmp / "grades.csv"), "--feedback", str(tmp / "feedback"), "--gradebook", str(tmp / "gb.db")],
        env=_env(), capture_output=True, text=True, timeout=900)
    print(out.stdout[-6000:], out.stderr[-3000:])
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp / "grades.csv") as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    return {"rows": rows, "stdout": out.stdout, "tmp": tmp}


def _feedback(graded, student, assignment="01_fundamentals") -> str:
    return (graded["tmp"] / "feedback" / student / assignment / f"{assignment}.html").read_text()


def _lost(row) -> set[str]:
    return {item.split()[0] for item in row["lost"].split("; ") if item}


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_source_notebooks_score_full_marks(graded, assignment):
    row = graded["rows"][("source", assignment)]
    assert float(row["score"]) == float(row["max_score"]) == ASSIGNMENTS[assignment], row
    assert row["status"] == "graded" and not row["notes"], row


def test_wrong_submission_loses_exactly_that_question(graded):
    from make_fixtures import BOB

    rows = graded["rows"]
    assert float(rows[("bob", "01_fundamentals")]["score"]) == 4
    assert float(rows[("bob", "03_coupling")]["score"]) == 7
    for a, (n, _) in BOB.items():
        assert _lost(rows[("bob", a)]) == {f"{n}-tests"}, rows[("bob", a)]
    # the feedback says precisely what is wrong: the same messages as the learner's check cell
    assert "off by a constant +0.6931 = log 2" in _feedback(graded, "bob")
    assert "dequantization term" in _feedback(graded, "bob", "04_realnvp")
    assert "H·W = " in _feedback(graded, "bob", "05_glow")
    assert "Ties (equal scores) count ½" in _feedback(graded, "bob", "06_evaluation")
    assert "absolute value" in _feedback(graded, "bob", "03_coupling")
    assert "the sign is flipped" in _feedback(graded, "bob", "07_at_work")


def test_demo_scores_and_table(graded):
    rows, stdout = graded["rows"], graded["stdout"]
    for a, pts in ASSIGNMENTS.items():
        assert float(rows[("alice", a)]["score"]) == pts and not rows[("alice", a)]["flagged"]
    mallory = rows[("mallory", "01_fundamentals")]      # patched torch.allclose and fk.check: no effect
    assert float(mallory["score"]) == 4 and _lost(mallory) == {"ex2-tests"}
    assert mallory["flagged"] == "review" and "monkeypatches a library" in mallory["flags"]
    assert re.search(r"alice\s+01_fundamentals\s+7 / 7", stdout)
    assert "isolation: bwrap" in stdout


def test_feedback_and_csv(graded):
    rows, tmp = graded["rows"], graded["tmp"]
    header = next(csv.reader(open(tmp / "grades.csv")))
    assert header[:6] == ["student_id", "assignment", "score", "max_score", "status", "lost"]
    assert "mode" in header and "flags" in header
    for (student, a) in rows:
        html = _feedback(graded, student, a)
        assert "hidden_checks" not in html and "<script" not in html


def _answers(student: str, assignment: str) -> dict:
    """The learner's namespace after running the code cells of a submission (check cells skipped)."""
    nb = nbformat.read(FIXTURES / "demo" / student / assignment / f"{assignment}.ipynb", as_version=4)
    ns: dict = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if c.cell_type == "code" and not meta.get("grade"):
            exec(compile(c.source, meta.get("grade_id", "cell"), "exec"), ns)
    return ns


@pytest.mark.parametrize("student, assignment", [("alice", "01_fundamentals"), ("bob", "01_fundamentals"),
                                                 ("alice", "05_glow"), ("bob", "05_glow"),
                                                 ("alice", "07_at_work"), ("bob", "07_at_work")])
def test_make_grade_gives_the_learners_verdict(graded, student, assignment, capsys, monkeypatch):
    """A right and a wrong answer: the check cell in the learner's notebook and `make grade` agree."""
    import matplotlib

    from flowkit.course.checks import check_exercise, exercises

    matplotlib.use("Agg")
    monkeypatch.delenv("FLOWKIT_STRICT_CHECKS", raising=False)
    ns = _answers(student, assignment)
    lost = _lost(graded["rows"][(student, assignment)])
    html = _feedback(graded, student, assignment)
    for ex in exercises().values():
        if ex.assignment != assignment:
            continue
        check_exercise(ex.id, ns, seed=3)
        out = capsys.readouterr().out
        assert out.startswith("✓") == (ex.grade_id not in lost), (ex.id, out, lost)
        if not out.startswith("✓"):      # the same message in the learner's notebook and in the feedback
            first = out.split(": ", 1)[1].splitlines()[0]
            assert re.sub(r"[-+]?\d[\d.]*", "#", first)[:40] in re.sub(r"[-+]?\d[\d.]*", "#", html), (first, ex.id)
