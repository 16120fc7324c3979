"""Keep the three descriptions of the course environment consistent.

* ``requirements.lock``  - exact pins used by ``make lab`` / ``make test`` / CI
* ``environment.yml``    - Binder / repo2docker (conda-forge), MAJOR.MINOR pins
* ``pyproject.toml``     - ranges for people installing flowkit elsewhere

Every check collects all mismatches and reports them together, so one run
tells you everything that has to be updated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the course env is 3.11
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
REQ_IN = REPO / "requirements.in"
ENV_YML = REPO / "environment.yml"
PYPROJECT = REPO / "pyproject.toml"

# conda-forge name -> PyPI name, where they differ.
CONDA_TO_PYPI = {
    "pytorch-cpu": "torch",
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
    "py-opencv": "opencv-python",
}
# conda entries that are not Python packages from the lock
CONDA_NOT_IN_LOCK = {"python", "pip"}

_LOCK_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
_CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<op>==|=)?\s*(?P<version>[^\s=]*)$")


def _read_lock(path: Path = LOCK) -> dict[str, str]:
    pins: dict[str, str] = {}
    bad: list[str] = []
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _LOCK_LINE.match(line)
        if not m:
            bad.append(f"  line {lineno}: {raw!r}")
            continue
        pins[canonicalize_name(m["name"])] = m["version"]
    assert not bad, f"{path.name}: every line must be 'name==version':\n" + "\n".join(bad)
    return pins


def _read_env(path: Path = ENV_YML) -> tuple[list[str], list[str]]:
    """Return (conda specs, pip entries) of environment.yml."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} must be a mapping"
    conda: list[str] = []
    pip: list[str] = []
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"{path.name}: unexpected mapping entry {dep!r}"
            pip.extend(str(x) for x in dep["pip"])
        else:
            conda.append(str(dep))
    return conda, pip


def _version_prefix_matches(pin: str, version: str) -> bool:
    """conda's ``name=2.4`` means 2.4.*: match whole components only."""
    pin = pin.removesuffix(".*")
    return version == pin or version.startswith(pin + ".")


@pytest.fixture(scope="module")
def lock() -> dict[str, str]:
    return _read_lock()


def test_lock_pins_cpu_torch_exactly():
    lines = [ln.strip() for ln in LOCK.read_text().splitlines()]
    torch_lines = [ln for ln in lines if re.match(r"(?i)^torch\b", ln)]
    assert torch_lines == ["torch==2.13.0"], (
        "requirements.lock must pin exactly 'torch==2.13.0' (the local CPU wheel; any other "
        f"spec downloads multi-GB CUDA builds), found {torch_lines}"
    )


def test_lock_is_fully_pinned_and_excludes_flowkit(lock):
    assert lock, "requirements.lock is empty"
    assert "flowkit" not in lock, "requirements.lock must not contain flowkit itself"
    text = LOCK.read_text()
    assert "-e " not in text and " @ " not in text, "requirements.lock must not contain editable/URL lines"


def test_requirements_in_is_covered_by_lock(lock):
    missing = []
    for raw in REQ_IN.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name not in lock:
            missing.append(f"  {line}: not in requirements.lock")
        elif not req.specifier.contains(lock[name], prereleases=True):
            missing.append(f"  {line}: lock has {lock[name]}")
    assert not missing, "requirements.in and requirements.lock disagree (run `make lock`):\n" + "\n".join(missing)


def test_environment_yml_python_is_exactly_311():
    conda, _ = _read_env()
    pythons = [d for d in conda if re.match(r"^python\b", d)]
    assert pythons == ["python=3.11"], f"environment.yml must say exactly 'python=3.11', found {pythons}"


def test_environment_yml_installs_the_repo():
    conda, pip = _read_env()
    assert "pip" in conda, "environment.yml needs 'pip' as a conda dependency for its pip: section"
    assert any(p in (".", "-e .", "-e.") for p in pip), f"environment.yml pip: section must install the repo ('-e .'), has {pip}"


def test_environment_yml_matches_lock(lock):
    conda, _ = _read_env()
    problems = []
    for spec in conda:
        m = _CONDA_SPEC.match(spec)
        if not m:
            problems.append(f"  {spec!r}: cannot parse (expected 'name=MAJOR.MINOR')")
            continue
        name = m["name"].lower()
        if name in CONDA_NOT_IN_LOCK:
            continue
        pypi = canonicalize_name(CONDA_TO_PYPI.get(name, name))
        if not m["version"]:
            problems.append(f"  {spec!r}: unpinned; pin to MAJOR.MINOR of the lock")
            continue
        if pypi not in lock:
            problems.append(f"  {spec!r}: {pypi} is not in requirements.lock")
            continue
        locked = lock[pypi]
        ok = locked == m["version"] if m["op"] == "==" else _version_prefix_matches(m["version"], locked)
        if not ok:
            wanted = ".".join(locked.split(".")[:2])
            problems.append(f"  {spec!r}: lock has {pypi}=={locked} (use '{name}={wanted}')")
    assert not problems, "environment.yml disagrees with requirements.lock:\n" + "\n".join(problems)


def _pyproject_requirements() -> dict[str, list[str]]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    groups = {"dependencies": project.get("dependencies", [])}
    for extra, reqs in project.get("optional-dependencies", {}).items():
        groups[f"optional-dependencies.{extra}"] = reqs
    return groups


def test_pyproject_runtime_deps_present():
    names = {canonicalize_name(Requirement(r).name) for r in _pyproject_requirements()["dependencies"]}
    assert {"torch", "numpy", "matplotlib", "tqdm", "scipy"} <= names, f"runtime deps are {sorted(names)}"


@pytest.mark.parametrize("group", ["dependencies", "optional-dependencies.widgets",
                                   "optional-dependencies.course", "optional-dependencies.test"])
def test_pyproject_deps_satisfied_by_lock(lock, group):
    reqs = _pyproject_requirements().get(group)
    assert reqs is not None, f"pyproject.toml has no [project] {group}"
    problems = []
    for raw in reqs:
        req = Requirement(raw)
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"  {raw!r}: {name} is not in requirements.lock")
        elif not req.specifier.contains(Version(lock[name]), prereleases=True):
            problems.append(f"  {raw!r}: lock has {name}=={lock[name]}")
    assert not problems, f"pyproject.toml [{group}] not satisfied by requirements.lock:\n" + "\n".join(problems)


def test_pyproject_metadata():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert project["name"] == "flowkit"
    import flowkit

    assert project["version"] == flowkit.__version__, "pyproject.toml and flowkit.__version__ must agree"
    assert project["requires-python"] == ">=3.10"
