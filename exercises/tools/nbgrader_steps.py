"""Run nbgrader steps for several assignments in one process (saves nbgrader's start-up time).

Usage (from a course directory, with the venv's bin/ on PATH)::

    python nbgrader_steps.py release  A [A ...]   # nbgrader generate_assignment A --force

(Grading is ``make grade`` — tools/grade.py — not nbgrader's autograde; see README.md.)
"""

from __future__ import annotations

import sys

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader


def main(argv: list[str]) -> int:
    step, assignments = argv[0], argv[1:]
    cfg = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    ok = True
    for a in assignments:
        if step != "release":
            raise SystemExit(f"unknown step {step!r}: only 'release' (grade with `make grade`)")
        calls = [("generate_assignment", lambda a=a: api.generate_assignment(a, force=True))]
        for name, call in calls:
            print(f"\n$ nbgrader {name} {a}", flush=True)
            result = call()
            print(result.get("log", ""), flush=True)
            if not result["success"]:
                ok = False
                print(result.get("error", ""), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
