"""The exercises of the course notebooks, from their sources in exercises/src/ (``make exercises``).

* every derived file is what the sources make (rebuilt in memory and compared);
* each exercise's model answer passes its check in the learner's transport (the grader's
  transport runs the same answers in tests/test_exercises.py), and the cells after it run;
* the learner's unmodified notebook fails each check with "not done yet", not a traceback;
* each of the exercise's typical mistakes (``MISTAKES`` in its source, ≥ 2) gets a message that
  names it;
* nothing a learner opens by default holds a model answer or a hidden check.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from flowkit.course.checks import DirectStudent, exercises, run_check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "exercises" / "tools"))
sys.path.insert(0, str(ROOT / "exercises"))

import build  # noqa: E402
from course_cells import is_exercise_cell, read_notebook  # noqa: E402
from exsource import BEGIN, END, load_all, solution_of  # noqa: E402

SOURCES = load_all()
BY_KEY = {ex.key: ex for ex in SOURCES}


def _learner_cells(ex) -> list[dict]:
    nb = read_notebook(ROOT / "notebooks" / ex.notebook)
    return [c for c in nb["cells"] if is_exercise_cell(c) and c["metadata"]["flowkit"]["exercise"] == ex.key]


def _earlier(ex, ns: dict, answered: bool) -> None:
    """The earlier exercises of the same notebook, as the learner's notebook holds them before ``ex``."""
    for other in SOURCES:
        if other.notebook != ex.notebook or other.number >= ex.number:
            continue
        for cell in _learner_cells(other):
            role, src = cell["metadata"]["flowkit"]["role"], "".join(cell["source"])
            if cell["cell_type"] == "code" and role in ("answer", "given"):
                exec(compile(solution_of(other.of("answer")[0].source) if role == "answer" and answered else src,
                             f"<{other.key} {role}>", "exec"), ns)


def _run(ex, answer: str | None, *, after: bool = False) -> tuple[dict, object]:
    """Execute the learner's cells of ``ex`` (its stub, or ``answer`` in its place) and run its check."""
    ns: dict = {"__name__": "__main__"}
    _earlier(ex, ns, answered=answer is not None)
    outcome = None
    for cell in _learner_cells(ex):
        role, src = cell["metadata"]["flowkit"]["role"], "".join(cell["source"])
        if cell["cell_type"] != "code" or (role == "after" and not after):
            continue
        if role == "answer" and answer is not None:
            src = answer
        if role == "check":
            outcome = run_check(exercises()[ex.check_id].check, DirectStudent(ns), seed=7)
            continue
        try:
            exec(compile(src, f"<{ex.key} {role}>", "exec"), ns)
        except Exception:  # noqa: BLE001 - a wrong answer may break a given cell; its check must still say why
            if answer is None or role == "answer" or answer == solution_of(ex.of("answer")[0].source):
                raise
    plt.close("all")
    return ns, outcome


def _slow(ex) -> bool:
    return ex.key in ("03_coupling/ex3", "06_evaluation/ex3")


def _params(slow_marks: bool = True):
    return [pytest.param(ex.key, id=ex.key) for ex in SOURCES]


# --------------------------------------------------------------------------------- derived files
def test_derived_files_are_up_to_date():
    bad = build.stale(ROOT)
    assert not bad, "derived exercise files are out of date; run `make exercises`:\n" + "\n".join(bad)


def test_every_check_has_a_source_and_every_source_a_check():
    checks = set(exercises())
    sources = {ex.check_id for ex in SOURCES}
    assert checks == sources, f"checks without a source: {checks - sources}; sources without a check: {sources - checks}"
    for ex in SOURCES:
        assert exercises()[ex.check_id].points == ex.points and exercises()[ex.check_id].title == ex.title


def test_hidden_checks_stay_with_the_grader():
    from grader.hidden import hidden_checks

    hidden = hidden_checks()
    for ex in SOURCES:
        assert ex.hidden_checks and (ROOT / "exercises" / "hidden_checks" / ex.hidden_checks).is_file(), ex.key
        assert hidden.get(ex.check_id), f"{ex.key}: no hidden check registered in {ex.hidden_checks}"


def test_each_notebook_has_two_to_four_exercises_and_links_its_model_answers():
    for path in sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb")):
        keys = [ex for ex in SOURCES if ex.notebook == path.name]
        assert 2 <= len(keys) <= 4, f"{path.name}: {len(keys)} exercises"
        text = path.read_text()
        assert f"solutions/{path.stem}_solutions.md" in text
        assert (ROOT / "notebooks" / "solutions" / f"{path.stem}_solutions.md").is_file()


def test_each_exercise_names_at_least_two_typical_mistakes():
    for ex in SOURCES:
        assert len(ex.mistakes) >= 2, f"{ex.key}: list ≥ 2 typical mistakes in its source"


# --------------------------------------------------------------------------------- answers
@pytest.mark.parametrize("key", _params())
def test_model_answer_passes_and_the_cells_after_it_run(key, capsys):
    ex = BY_KEY[key]
    _, outcome = _run(ex, solution_of(ex.of("answer")[0].source), after=True)
    assert outcome.passed, (key, outcome)
    assert "skipped until" not in capsys.readouterr().out


@pytest.mark.parametrize("key", _params())
def test_unmodified_learner_notebook_says_not_done_yet(key, capsys):
    ex = BY_KEY[key]
    _, outcome = _run(ex, None, after=True)
    assert not outcome.passed and outcome.kind in ("todo", "fail"), (key, outcome)
    assert "not done yet" in outcome.message and "internal error" not in outcome.message, outcome


@pytest.mark.parametrize("key, name", [(ex.key, m["name"]) for ex in SOURCES for m in ex.mistakes])
def test_typical_mistake_gets_a_message_that_names_it(key, name):
    ex = BY_KEY[key]
    mistake = next(m for m in ex.mistakes if m["name"] == name)
    answer = solution_of(ex.of("answer")[0].source)
    for old, new in mistake["replace"]:
        assert old in answer, f"{key}: {old!r} is not in the model answer"
        answer = answer.replace(old, new)
    _, outcome = _run(ex, answer)
    assert not outcome.passed and outcome.kind == "fail", (key, name, outcome)
    assert mistake["says"].lower() in outcome.message.lower(), (key, name, outcome.message)


# --------------------------------------------------------------------------------- no leaks
def _learner_default_files() -> list[Path]:
    files = sorted((ROOT / "notebooks").glob("*.ipynb"))
    files += [ROOT / "README.md", *sorted((ROOT / "exercises" / "release").rglob("*.ipynb"))]
    return files


def _solution_lines() -> set[str]:
    lines = set()
    for ex in SOURCES:
        for c in ex.cells:
            if c.role in ("answer", "written"):
                inside = False
                for line in c.source.splitlines():
                    if BEGIN in line:
                        inside = True
                    elif END in line:
                        inside = False
                    elif inside and len(line.strip()) > 25:
                        lines.add(line.strip())
    return lines


def _given_lines() -> set[str]:
    out = set()
    for ex in SOURCES:
        for c in ex.cells:
            if c.role not in ("answer", "written", "notes", "mistakes"):
                out |= {line.strip() for line in c.source.splitlines()}
            if c.role == "answer":
                out |= {line.strip() for line in re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", c.source,
                                                        flags=re.S).splitlines()}
    return out


def test_no_file_a_learner_opens_by_default_holds_a_solution_or_a_hidden_check():
    solutions = _solution_lines() - _given_lines()
    hidden = set()
    for p in (ROOT / "exercises" / "hidden_checks").glob("h*.py"):
        tree = ast.parse(p.read_text())
        hidden |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for path in _learner_default_files():
        text = path.read_text(encoding="utf-8")
        cells = json.loads(text)["cells"] if path.suffix == ".ipynb" else []
        code = text if not cells else "\n".join("".join(c["source"]) for c in cells)
        mine = text if not cells else "\n".join("".join(c["source"]) for c in cells if is_exercise_cell(c))
        for marker in (BEGIN, END, "hidden_checks", "HIDDEN TESTS"):
            assert marker not in code, f"{path.name}: {marker!r}"
        leaked = [line for line in solutions if line in mine]      # the course's own cells may show any code
        assert not leaked, f"{path.name} holds lines of a model answer: {leaked[:3]}"
        assert not [name for name in hidden if f"def {name}" in code], f"{path.name} holds a hidden check"


def test_the_model_answers_are_in_the_solutions_files_only():
    for ex in SOURCES:
        md = (ROOT / "notebooks" / "solutions" / f"{Path(ex.notebook).stem}_solutions.md").read_text()
        assert solution_of(ex.of("answer")[0].source) in md, ex.key
        assert BEGIN not in md and END not in md
