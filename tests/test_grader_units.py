"""The grader's parts that need no kernel: collecting a folder, the plan, escaping, sanitising, the gradebook."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "exercises"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from grader.collect import collect, read_regular_file  # noqa: E402
from grader.feedback import sanitize  # noqa: E402
from grader.plan import NotebookError, build_plan, read_source, read_submission  # noqa: E402
from grader.report import escape, write_csv  # noqa: E402
from grader_class import A1, duplicate, move_after, solved  # noqa: E402

SOURCE = str(REPO / "exercises" / "source" / A1 / f"{A1}.ipynb")


def _bytes(nb) -> bytes:
    return json.dumps(nb).encode()


def test_collect_never_follows_links_and_reports_every_entry(tmp_path):
    good = tmp_path / "ann" / A1 / f"{A1}.ipynb"
    good.parent.mkdir(parents=True)
    good.write_bytes(b"{}")
    (tmp_path / "bob" / A1).mkdir(parents=True)
    os.symlink(good, tmp_path / "bob" / A1 / f"{A1}.ipynb")
    os.symlink(tmp_path / "ann", tmp_path / "cat")
    (tmp_path / "dan" / A1).mkdir(parents=True)
    os.mkfifo(tmp_path / "dan" / A1 / f"{A1}.ipynb")
    (tmp_path / "eve" / "other").mkdir(parents=True)
    (tmp_path / "\udcff odd\x07").mkdir()
    subs = {(s.student, s.assignment): s for s in collect(tmp_path, {A1})}
    assert subs[("ann", A1)].data == b"{}" and not subs[("ann", A1)].problem
    assert "symbolic link" in subs[("bob", A1)].problem
    assert "symbolic link" in subs[("cat", "(none)")].problem
    assert "FIFO" in subs[("dan", A1)].problem
    assert "not an assignment" in subs[("eve", "other")].problem
    assert "no assignment folder" in subs[("\udcff odd\x07", "(none)")].problem


def test_read_regular_file_refuses_links_and_devices(tmp_path):
    os.symlink("/etc/hostname", tmp_path / "l")
    with pytest.raises(OSError):
        read_regular_file(tmp_path / "l")
    with pytest.raises(OSError):
        read_regular_file(Path("/dev/null"))


@pytest.mark.parametrize("data, reason", [(b"{", "not valid JSON"), (b"[]", "not a Jupyter notebook"),
                                          (b"\xff\xfe", "not UTF-8"), (b"[" * 100000, "not valid JSON")])
def test_bad_notebooks_get_a_reason(data, reason):
    with pytest.raises(NotebookError, match=reason):
        read_submission(data)


def test_plan_uses_the_source_skeleton_with_pasted_and_moved_cells():
    nb = move_after(duplicate(duplicate(solved(A1), "ex2-solution"), "setup"), "ex1-solution", "ex3-tests")
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            c.source = "import os\nos._exit(0)"          # an edited locked cell: the source's is used
    cells, notes = read_submission(_bytes(nb))
    plan = build_plan(read_source(SOURCE), cells)
    labels = [(s.kind, s.label) for s in plan.steps if s.kind != "markdown"]
    assert labels[:2] == [("code", "setup"), ("code", "ex1-solution")]
    assert labels.count(("code", "ex2-solution")) == 2
    assert [lab for k, lab in labels if k == "check"] == ["ex1-tests", "ex2-tests", "ex3-tests"]
    assert "os._exit" not in "".join(s.source for s in plan.steps)
    assert any("2 copies" in n for n in plan.notes)


def test_escape_makes_control_and_format_characters_visible():
    assert escape("a\x1b[2Jb\u202e\r\n") == "a\\x1b[2Jb\\u202e\\x0d\\x0a"
    assert escape("ünï cødé") == "ünï cødé"
    assert escape("\udcff") == "\\udcff"


def test_csv_escapes_and_defuses_formulas(tmp_path):
    path = tmp_path / "g.csv"
    write_csv([{"student_id": "=HYPERLINK(1)", "assignment": A1, "score": 1.0, "notes": "x\x1b[31my"}], path)
    text = path.read_text()
    assert "'=HYPERLINK(1)" in text and "\x1b" not in text and "x\\x1b[31my" in text
    write_csv([], path)
    assert list(tmp_path.glob("g.csv.bak-*"))


def test_sanitize_keeps_plots_and_drops_active_content():
    html = sanitize('<img src="data:image/png;base64,iVBORw0KGgo=" onerror="x()"><script>alert(1)</script>'
                    '<img src="https://evil.example/p.png"><a href="javascript:x()">a</a>'
                    '<p style="background:url(http://evil.example)">$\\int p = 1$</p>')
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html
    for bad in ("onerror", "<script", "evil.example", "javascript:", "style="):
        assert bad not in html
    assert "$\\int p = 1$" in html


def test_gradebook_accumulates_and_backs_up(tmp_path, monkeypatch):
    from grader.gradebook import record

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    gb = tmp_path / "gb.db"
    layout = {A1: {"ex1-tests": 2.0, "ex2-tests": 3.0}}
    record(gb, layout, [("ann", A1, {"ex1-tests": 2.0, "ex2-tests": 0.0})])
    record(gb, layout, [("bob", A1, {"ex1-tests": 2.0, "ex2-tests": 3.0})])
    record(gb, layout, [("ann", A1, {"ex1-tests": 2.0, "ex2-tests": 3.0})])
    with sqlite3.connect(gb) as db:
        rows = dict(db.execute("SELECT student.id, SUM(grade.auto_score) FROM grade "
                               "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                               "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
                               "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"))
    assert rows == {"ann": 5.0, "bob": 5.0}
    assert len(list(tmp_path.glob("gb.db.bak-*"))) == 2
    assert stat.S_ISREG(os.stat(gb).st_mode)


def test_make_grade_refuses_without_a_sandbox(monkeypatch):
    import grader.sandbox as sandbox

    monkeypatch.setattr(sandbox, "_tool", lambda name: None)
    with pytest.raises(SystemExit, match="bubblewrap"):
        sandbox.detect(False)
    iso = sandbox.detect(True)
    assert iso.mode == "UNSAFE" and not iso.sandboxed and "no sandbox" in iso.detail
