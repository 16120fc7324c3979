"""The repository builds on Binder (repo2docker) the way the README promises.

repo2docker conventions checked here:

* configuration lives at the top level: ``environment.yml`` (conda build pack). A ``binder/``
  or ``.binder/`` directory would be used *exclusively* and the top-level files ignored, so
  there must be none; ``requirements.txt`` / ``Pipfile`` next to ``environment.yml`` would be
  ignored too, so they must not exist either (the pins live in ``requirements.lock``);
* ``environment.yml`` uses conda-forge (not ``defaults``);
* a ``start`` script, if present, is executable, a shell script, and ends by handing over to the
  server with ``exec "$@"``; torch runs on one thread on Binder, via ``start``
  (``OMP_NUM_THREADS=1``) or via ``fk.course.setup(`` in every notebook's first code cell;
* the README has a Binder badge opening the first notebook in JupyterLab.

Already covered by tests/test_environment.py (not repeated here): ``python=3.11`` exactly,
the pip section installing the repo (``-e .``), and every conda pin agreeing with
``requirements.lock``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_YML = REPO / "environment.yml"
START = REPO / "start"
README = REPO / "README.md"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
FIRST_NOTEBOOK = "notebooks/01_flow_fundamentals.ipynb"

# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/OWNER/REPO/HEAD?urlpath=lab/tree/notebooks/01_flow_fundamentals.ipynb)
BADGE = re.compile(
    r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]"
    r"\(https://mybinder\.org/v2/gh/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)/HEAD"
    r"\?urlpath=lab/tree/(?P<path>[^)\s]+)\)"
)


def test_environment_yml_is_the_binder_config():
    assert ENV_YML.is_file(), "Binder needs a top-level environment.yml"
    for name in ("binder", ".binder"):
        assert not (REPO / name).exists(), (
            f"{name}/ exists: repo2docker would then read ONLY {name}/ and ignore the top-level "
            "environment.yml (and start); keep the Binder configuration at the top level")
    for name in ("requirements.txt", "Pipfile", "Pipfile.lock"):
        assert not (REPO / name).exists(), (
            f"{name} next to environment.yml is ignored by repo2docker (environment.yml wins); "
            "pins belong in requirements.lock, the conda side in environment.yml")


def test_environment_yml_uses_conda_forge():
    data = yaml.safe_load(ENV_YML.read_text())
    channels = data.get("channels") or []
    assert "conda-forge" in channels, f"environment.yml channels must include conda-forge, has {channels}"
    assert "defaults" not in channels, (
        f"environment.yml must not use the 'defaults' channel (licensing, mixing builds): {channels}")


def test_start_script_hands_over_to_the_server():
    if not START.exists():
        pytest.skip("no top-level start script (optional for repo2docker)")
    text = START.read_text()
    assert os.access(START, os.X_OK), "start must be executable (git update-index --chmod=+x start)"
    assert text.startswith("#!"), "start needs a shebang line (e.g. #!/bin/bash)"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert lines and lines[-1] == 'exec "$@"', (
        f"start must end with exec \"$@\" (repo2docker passes the server command), ends with {lines[-1:]}")


def _first_code_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next((c.source for c in nb.cells if c.cell_type == "code"), "")


def test_binder_runs_torch_on_one_thread():
    start_sets_it = START.exists() and re.search(r"(?m)^\s*export\s+OMP_NUM_THREADS=1\s*$", START.read_text())
    without_setup = [p.name for p in NOTEBOOKS if "fk.course.setup(" not in _first_code_cell(p)]
    assert start_sets_it or not without_setup, (
        "on Binder torch should use one thread: put `export OMP_NUM_THREADS=1` in the top-level "
        f"start script, or call fk.course.setup( in the first code cell of {without_setup}")


def test_readme_has_binder_badge_for_first_notebook():
    text = README.read_text()
    badges = list(BADGE.finditer(text))
    assert badges, (
        "README.md needs a Binder badge like\n"
        "[![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
        f"OWNER/REPO/HEAD?urlpath=lab/tree/{FIRST_NOTEBOOK})")
    paths = [m["path"] for m in badges]
    assert FIRST_NOTEBOOK in paths, f"the Binder badge should open {FIRST_NOTEBOOK}, opens {paths}"
    assert (REPO / FIRST_NOTEBOOK).is_file(), f"the Binder badge opens {FIRST_NOTEBOOK}, which does not exist"
