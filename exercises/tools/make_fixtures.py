"""Write the test submissions under ``tests/exercise_submissions/`` from the released notebooks.

* ``demo/``: a correct (alice), a wrong (bob) and a hostile (mallory) student — the folder that
  ``make grade`` grades by default;
* ``cases/``: one student per hostile or broken behaviour, all on 01_fundamentals.

Each submission is the *released* notebook with the solution cells filled in (from the source
solutions, or with the code below), the way a learner would hand it in.
Run: ``.venv/bin/python exercises/tools/make_fixtures.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
EXERCISES = HERE.parent
OUT = EXERCISES.parent / "tests" / "exercise_submissions"
DELETE = object()


def release_all() -> dict[str, nbformat.NotebookNode]:
    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copy(EXERCISES / "nbgrader_config.py", tmp)
        shutil.copytree(EXERCISES / "source", tmp / "source")
        names = sorted(p.name for p in (tmp / "source").iterdir())
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        subprocess.run([sys.executable, str(HERE / "nbgrader_steps.py"), "release", *names], cwd=tmp, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        return {a: nbformat.read(tmp / "release" / a / f"{a}.ipynb", as_version=4) for a in names}
    finally:
        shutil.rmtree(tmp)


def solutions(assignment: str) -> dict[str, str]:
    nb = nbformat.read(EXERCISES / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    out = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = "\n".join(line for line in c.source.splitlines()
                                              if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return out


def submission(release: nbformat.NotebookNode, assignment: str, changes: dict) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(release)
    sols = solutions(assignment)
    cells = []
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sols:
            c.source = sols[gid]
        if gid in changes:
            new = changes[gid]
            if new is DELETE:
                continue
            before = c.source
            c.source = new(c.source) if callable(new) else textwrap.dedent(new).strip("\n")
            assert c.source != before, f"{assignment}/{gid}: the change did not apply"
        cells.append(c)
    nb.cells = cells
    return nb


# -- the students -------------------------------------------------------------------------------
WRONG_LOGDET = lambda src: src.replace(  # noqa: E731 - forward log-det off by log 2
    "return x, self.log_scale.sum().expand(z.shape[0])",
    "return x, (self.log_scale.sum() + math.log(2)).expand(z.shape[0])")
NO_ABS = lambda src: src.replace("torch.log(torch.abs(torch.diagonal(", "torch.log((torch.diagonal(")  # noqa: E731
NO_DEQUANT = lambda src: src.replace(  # noqa: E731 - bits/dim without the D·log K term
    "return (nll_nats + num_dims * math.log(n_bins)) / (num_dims * math.log(2))",
    "return nll_nats / (num_dims * math.log(2))")
NO_HW = lambda src: src.replace("hw = z.shape[2] * z.shape[3]", "hw = 1")  # noqa: E731 - forgets the H·W pixels
NO_TIES = lambda src: src.replace(" + 0.5 * (b == a).double()", "")  # noqa: E731 - ties count 0, not ½

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

    def _forward(self, z):
        return z, self.log_scale.sum().expand(z.shape[0])      # wrong map, right log-det

    def _inverse(self, x):
        return x, (-self.log_scale.sum()).expand(x.shape[0])
'''

SNOOP_EX1 = '''
# Try to read the hidden tests / solutions and the gradebook from disk.
import glob, os, flowkit
repo = os.path.dirname(os.path.dirname(os.path.abspath(flowkit.__file__)))
leaks = []
for pattern in [repo + "/exercises/source/*/*.ipynb", repo + "/exercises/tools/make_source.py",
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
A4, A5, A6 = "04_realnvp", "05_glow", "06_evaluation"
STUDENTS = {
    "demo": {
        "alice": {A1: {}, A2: {}, A3: {}, A4: {}, A5: {}, A6: {}},
        "bob": {A1: {"ex2-solution": WRONG_LOGDET}, A3: {"ex1-solution": NO_ABS},
                A4: {"ex1-solution": NO_DEQUANT}, A5: {"ex1-solution": NO_HW}, A6: {"ex1-solution": NO_TIES}},
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


def main() -> None:
    releases = release_all()
    for folder, students in STUDENTS.items():
        shutil.rmtree(OUT / folder, ignore_errors=True)
        for student, assignments in students.items():
            for a, changes in assignments.items():
                path = OUT / folder / student / a / f"{a}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(submission(releases[a], a, changes), path)
                print("wrote", path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
