"""``make exercises``: rebuild every file derived from the exercise sources in ``exercises/src/``.

    python exercises/tools/build.py                    # write the derived files into the repository
    python exercises/tools/build.py --check            # exit 1 and list the files that are out of date
    python exercises/tools/build.py --answered DIR     # also: course notebooks with the model answers filled in
    python exercises/tools/build.py --answered DIR --no-write   # only those (what `make test` runs)
    python exercises/tools/build.py --release          # also: nbgrader's release/ (classroom; needs nbgrader)

Derived files: the exercise cells of ``notebooks/0N_*.ipynb`` (nothing else in them is touched),
``notebooks/solutions/*_solutions.md``, ``exercises/source/<a>/<a>.ipynb`` (nbgrader),
``flowkit/course/checks/catalog.py`` and the test submissions in ``tests/exercise_submissions/``.
Hidden checks (``exercises/hidden_checks/``) are never copied anywhere.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nbformat  # noqa: E402
from assignments import catalog_module, solutions_markdown, source_notebook  # noqa: E402
from course_cells import answered, collisions, dumps_notebook, read_notebook, rebuild, solutions_name  # noqa: E402
from exsource import ExerciseSource, load_all  # noqa: E402

ROOT = HERE.parents[1]
GENERATED_DIRS = ("notebooks/solutions", "exercises/source", "tests/exercise_submissions")

__all__ = ["derived", "stale", "write_answered", "main"]


def _by_notebook(exercises: list[ExerciseSource]) -> dict[str, list[ExerciseSource]]:
    out: dict[str, list[ExerciseSource]] = {}
    for ex in exercises:
        out.setdefault(ex.notebook, []).append(ex)
    return out


def derived(root: Path = ROOT) -> dict[str, str]:
    """Every derived file: path relative to ``root`` -> its text."""
    import make_fixtures

    exercises = load_all(root / "exercises" / "src")
    grouped = _by_notebook(exercises)
    out: dict[str, str] = {}
    sources: dict[str, nbformat.NotebookNode] = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        mine = grouped.pop(path.name, [])
        course = read_notebook(path)
        new = rebuild(course, mine)
        problems = collisions(new)
        if problems:
            raise ValueError(f"{path.name}: " + "; ".join(problems))
        out[f"notebooks/{path.name}"] = dumps_notebook(new)
        if not mine:
            continue
        a = mine[0].assignment
        out[f"notebooks/solutions/{solutions_name(path.name)}"] = solutions_markdown(path.name, mine, course)
        sources[a] = source_notebook(a, mine, course)
        out[f"exercises/source/{a}/{a}.ipynb"] = nbformat.writes(sources[a]) + "\n"
    if grouped:
        raise ValueError(f"exercises for notebooks that do not exist: {sorted(grouped)}")
    out["flowkit/course/checks/catalog.py"] = catalog_module(exercises)
    out.update(make_fixtures.fixtures(sources, {ex.key: ex for ex in exercises}))
    return out


def stale(root: Path = ROOT, files: dict[str, str] | None = None) -> list[str]:
    """Derived files that differ from what is on disk, and generated files that should not exist."""
    files = derived(root) if files is None else files
    bad = [rel for rel, text in files.items()
           if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text]
    for d in GENERATED_DIRS:
        for p in (root / d).rglob("*"):
            rel = p.relative_to(root).as_posix()
            if p.is_file() and rel not in files and "/.ipynb_checkpoints/" not in f"/{rel}":
                bad.append(f"{rel} (no longer generated: delete it)")
    return sorted(bad)


def write(root: Path, files: dict[str, str]) -> list[str]:
    changed = []
    for rel, text in files.items():
        path = root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(rel)
    for d in GENERATED_DIRS:
        for p in sorted((root / d).rglob("*"), reverse=True):
            rel = p.relative_to(root).as_posix()
            if p.is_file() and rel not in files:
                p.unlink()
                changed.append(f"{rel} (deleted)")
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    return changed


def write_answered(root: Path, dest: Path) -> list[Path]:
    """The course notebooks with every stub replaced by its model answer, into ``dest`` (for nbval)."""
    grouped = _by_notebook(load_all(root / "exercises" / "src"))
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        target = dest / path.name
        target.write_text(dumps_notebook(answered(read_notebook(path), grouped.get(path.name, []))), encoding="utf-8")
        out.append(target)
    return out


def release(root: Path) -> None:
    """``nbgrader generate_assignment`` for every assignment (into ``exercises/release/``)."""
    course = root / "exercises"
    names = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, str(HERE / "nbgrader_steps.py"), "release", *names], cwd=course, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    print(f"released {len(names)} assignments into exercises/release/")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report derived files that are out of date")
    ap.add_argument("--answered", type=Path, help="write answered copies of the course notebooks here")
    ap.add_argument("--release", action="store_true", help="also run nbgrader generate_assignment (classroom)")
    ap.add_argument("--no-write", action="store_true", help="leave the derived files as they are (with --answered)")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale(ROOT)
        print("\n".join(["out of date (run `make exercises`):", *bad]) if bad else "derived exercise files are up to date")
        return 1 if bad else 0
    if not args.no_write:
        changed = write(ROOT, derived(ROOT))
        print("\n".join(f"wrote {c}" for c in changed) or "derived exercise files were already up to date")
    if args.answered:
        print(f"answered notebooks: {len(write_answered(ROOT, args.answered))} in {args.answered}")
    if args.release:
        release(ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
