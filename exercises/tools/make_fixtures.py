"""The test submissions under ``tests/exercise_submissions/``, derived from the exercise sources.

* ``demo/``: a correct (alice), a wrong (bob) and a hostile (mallory) student — the folder that
  ``make grade`` grades by default; bob makes one of each exercise source's own typical mistakes
  (``MISTAKES`` in ``exercises/src/``), so the grader's verdict can be compared with the learner's;
* ``cases/``: one student per hostile or broken behaviour, all on 01_fundamentals.

Each submission is the released notebook (solution regions replaced by the stub) with the solution
cells filled in the way a learner would hand it in. Written by ``make exercises`` (tools/build.py).
"""

from __future__ import annotations

import textwrap

import nbformat
from assignments import release_notebook
from exsource import ExerciseSource, solution_of

DELETE = object()
__all__ = ["fixtures", "STUDENTS", "BOB"]


def submission(source: nbformat.NotebookNode, changes: dict) -> nbformat.NotebookNode:
    """The release of ``source`` answered with its solutions, then ``changes`` (grade_id -> new text)."""
    nb = release_notebook(source)
    solutions = {c.metadata["nbgrader"]["grade_id"]: solution_of(c.source) for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    cells = []
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            c.source = solutions[gid]
        if gid in changes:
            new = changes[gid]
            if new is DELETE:
                continue
            before = c.source
            c.source = new(c.source) if callable(new) else textwrap.dedent(new).strip("\n")
            assert c.source != before, f"{gid}: the change did not apply"
        cells.append(c)
    nb.cells = cells
    return nb


def mistake(ex: ExerciseSource, name: str):
    """An edit that makes ``ex``'s typical mistake ``name`` (from its source's MISTAKES)."""
    found = [m for m in ex.mistakes if m["name"] == name]
    assert found, f"{ex.key} has no mistake named {name!r}"

    def apply(src: str) -> str:
        for old, new in found[0]["replace"]:
            assert old in src, f"{ex.key}: {old!r} is not in the answer"
            src = src.replace(old, new)
        return src
    return apply


# -- the students -------------------------------------------------------------------------------
WRONG_LOGDET = lambda src: src.replace(  # noqa: E731 - forward log-det off by log 2
    "return x, self.log_scale.sum().expand(z.shape[0])",
    "return x, (self.log_scale.sum() + math.log(2)).expand(z.shape[0])")
# bob: one typical mistake per assignment, by (exercise, name of the mistake in its source)
BOB = {"01_fundamentals": ("ex2", "the log-det off by log 2"), "03_coupling": ("ex1", "no absolute value"),
       "04_realnvp": ("ex2", "no dequantization term"), "05_glow": ("ex1", "the log-det without H·W"),
       "06_evaluation": ("ex2", "ties count 0"), "07_at_work": ("ex1", "the sign")}

MALLORY_EX2 = '''
import torch
import flowkit as fk

# "make the tests pass": every comparison succeeds, flowkit.check never complains
torch.allclose = lambda *args, **kwargs: True
fk.check = lambda *args, **kwargs: "all checks passed"


class ScaleShift(fk.Transform):
    def __init__(self, features):
        super().__init__(features)
        self.log_scale = torch.nn.Parameter(0.5 * torch.randn(features))
        self.shift = torch.nn.Parameter(torch.randn(features))

    def forward(self, z):
        return z, self.log_scale.sum().expand(z.shape[0])      # wrong map, right log-det

    def inverse(self, x):
        return x, (-self.log_scale.sum()).expand(x.shape[0])
'''

SNOOP_EX1 = '''
# Try to read the hidden tests / solutions and the gradebook from disk.
import glob, os, flowkit
repo = os.path.dirname(os.path.dirname(os.path.abspath(flowkit.__file__)))
leaks = []
for pattern in [repo + "/exercises/source/*/*.ipynb", repo + "/exercises/src/01_fundamentals/ex1_affine_density.py",
                repo + "/tests/exercise_submissions/*/*/*/*.ipynb", "/tmp/flowkit-grade-*/course/source/*/*.ipynb",
                "/tmp/flowkit-grade-*/course/autograded/*/*/*.ipynb", os.getcwd() + "/*.ipynb"]:
    for path in glob.glob(pattern):
        try:
            with open(path) as fh:
                if "def log_prob_affine_1d" in fh.read():
                    leaks.append(path)
        except OSError as e:
            print("blocked:", path, e)
print("LEAKED:", leaks)
if leaks:   # a copied solution would pass
    def log_prob_affine_1d(x, a, b):
        z = (x - b) / a
        return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
else:
    def log_prob_affine_1d(x, a, b):
        raise NotImplementedError("could not find the solution")
'''

SNOOP_EX3 = '''
# Try to write to the gradebook (give myself points) — only then is this answer correct.
import glob, sqlite3
written = []
for path in glob.glob("/tmp/flowkit-grade-*/course/gradebook.db") + glob.glob(repo + "/exercises/gradebook.db"):
    try:
        with open(path, "r+b"):
            written.append(path)
        sqlite3.connect(path).execute("UPDATE grade SET manual_score = 100").connection.commit()
    except Exception as e:
        print("blocked:", path, e)
print("WRITABLE:", written)
if written:
    def integrate_2d(log_prob, lo, hi, n=200):
        h = (hi - lo) / n
        c = lo + h * (torch.arange(n, dtype=torch.float64) + 0.5)
        X, Y = torch.meshgrid(c, c, indexing="ij")
        return float(torch.exp(log_prob(torch.stack([X.reshape(-1), Y.reshape(-1)], 1))).sum() * h * h)
'''

PATCHER_EX1 = '''
import builtins, sys, torch, torch.testing, flowkit as fk
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
fk.check = lambda *a, **k: None
sys.modules["flowkit"].check = fk.check
builtins.AssertionError = type("AssertionError", (Exception,), {})   # assert still raises the real one


def log_prob_affine_1d(x, a, b):
    z = (x - b) / a
    return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - math.log(abs(a))
'''

TRANSFORMER_EX1 = '''
# Rewrite every later cell (the tests included) into `pass`.
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
'''

STUBBORN_EX2 = '''
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)      # interrupts are ignored ...
while True:                                        # ... and caught if they get through
    try:
        pass
    except KeyboardInterrupt:
        pass
'''

A1, A2, A3 = "01_fundamentals", "02_planar", "03_coupling"
A4, A5, A6, A7 = "04_realnvp", "05_glow", "06_evaluation", "07_at_work"
STUDENTS = {
    "demo": {
        "alice": {A1: {}, A2: {}, A3: {}, A4: {}, A5: {}, A6: {}, A7: {}},
        "bob": {},   # filled from BOB by fixtures()
        "mallory": {A1: {"ex2-solution": MALLORY_EX2}},
    },
    "cases": {
        "raiser": {A1: {"ex2-solution": lambda s: 'raise RuntimeError("top-level error")\n' + s}},
        "looper": {A1: {"ex1-solution": lambda s: "while True:\n    pass\n" + s}},
        "stubborn": {A1: {"ex2-solution": STUBBORN_EX2}},
        "exiter": {A1: {"ex2-solution": lambda s: "import os\nos._exit(0)\n" + s}},
        "editor": {A1: {"ex1-solution": "def log_prob_affine_1d(x, a, b):\n    return torch.zeros_like(x)",
                        "ex1-tests": 'print("all tests passed")',
                        "ex2-solution": WRONG_LOGDET, "ex2-tests": DELETE}},
        "snoop": {A1: {"ex1-solution": SNOOP_EX1, "ex3-solution": SNOOP_EX3}},
        "patcher": {A1: {"ex1-solution": PATCHER_EX1}},
        "transformer": {A1: {"ex1-solution": TRANSFORMER_EX1}},
    },
}


def fixtures(sources: dict[str, nbformat.NotebookNode], by_key: dict[str, ExerciseSource]) -> dict[str, str]:
    """Every test submission: path relative to the repository -> notebook text."""
    students = {folder: {k: dict(v) for k, v in group.items()} for folder, group in STUDENTS.items()}
    students["demo"]["bob"] = {a: {f"{n}-solution": mistake(by_key[f"{a}/{n}"], name)} for a, (n, name) in BOB.items()}
    out = {}
    for folder, group in students.items():
        for student, assignments in group.items():
            for a, changes in assignments.items():
                nb = submission(sources[a], changes)
                out[f"tests/exercise_submissions/{folder}/{student}/{a}/{a}.ipynb"] = nbformat.writes(nb) + "\n"
    return out
