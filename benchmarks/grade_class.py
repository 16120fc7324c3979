"""Time `make grade` on a class of 40 mixed submissions: ``python -m benchmarks.grade_class``.

The class: 40 notebooks over the seven assignments (in proportion, 03 with its training run
included), a third of them with a typical mistake, a few hostile (an infinite loop, a patched
builtin, a daemon, an ``os._exit``). Prints the wall time per notebook; no assertion is made.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "exercises" / "source"
ORDER = ["01_fundamentals", "02_planar", "03_coupling", "04_realnvp", "05_glow", "06_evaluation", "07_at_work"]
HOSTILE = ["while True:\n    pass", "import builtins\nbuiltins.abs = lambda x: 0",
           "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(600)", "import os\nos._exit(0)"]


def notebook(assignment: str, variant: int) -> str:
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    for c in nb.cells:
        c.source = "\n".join(line for line in c.source.splitlines() if "SOLUTION" not in line)
        meta = c.metadata.get("nbgrader", {})
        if variant % 3 == 1 and meta.get("grade_id") == "ex1-solution":
            c.source = c.source.replace("return", "return 0 *", 1)              # a wrong answer
    if variant % 10 == 9:
        nb.cells.insert(3, nbformat.v4.new_code_cell(HOSTILE[(variant // 10) % len(HOSTILE)]))
    return nbformat.writes(nb)


def build(folder: Path, n: int) -> None:
    for i in range(n):
        a = ORDER[i % len(ORDER)]
        path = folder / f"student{i:02d}" / a / f"{a}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(notebook(a, i))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        build(folder, args.n)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, str(ROOT / "exercises" / "tools" / "grade.py"), str(folder),
                              "--jobs", str(args.jobs), "--csv", f"{tmp}/g.csv", "--feedback", f"{tmp}/fb",
                              "--gradebook", f"{tmp}/gb.db"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
    print(out.stdout[-3000:], out.stderr[-2000:])
    print(json.dumps({"notebooks": args.n, "jobs": args.jobs, "wall_s": round(wall, 1),
                      "s_per_notebook": round(wall / args.n, 2), "exit": out.returncode}))


if __name__ == "__main__":
    main()
