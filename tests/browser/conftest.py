"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

* ``lab_server`` starts ``jupyter lab`` on 127.0.0.1 (free port, random token) serving a
  temporary copy of ``notebooks/`` and ``images/`` (the other top-level entries symlinked), so
  running the notebooks writes nothing into the repository's notebooks. Settings, workspaces, runtime and config dirs are isolated in tmp; the
  settings dir turns off the news/update pop-up and notebook windowing (so every cell is in the
  DOM). The server and its kernels run with ``FLOWKIT_FAST=1`` and ``OMP_NUM_THREADS=1``.
* ``browser`` launches Debian's Chromium (``/usr/bin/chromium``) through Playwright's sync API.
  Never run ``playwright install`` (it downloads a browser; it fails offline).

Missing Chromium or Playwright skips the tests locally (with how to install them) but FAILS
them in CI (``CI=true``), so CI cannot silently stop testing in a browser.

Both fixtures are session-scoped, i.e. one per pytest-xdist worker; all browser tests live in one
module so ``--dist loadfile`` keeps them on one worker (one server, one browser).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# FLOWKIT_BROWSER_NOTEBOOKS: test the notebooks of another directory (development aid).
NOTEBOOKS = Path(os.environ.get("FLOWKIT_BROWSER_NOTEBOOKS") or REPO / "notebooks")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

CHROMIUM = Path(os.environ.get("FLOWKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # Without these, Chromium keeps trying to reach Google services and floods the log with
    # refused connections (there is no network in CI).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAB_STARTUP_TIMEOUT_S = 120
SERVED_COPIES = {"images"}  # top-level dirs the browser loads files from (copied, not linked)

INSTALL_HINT = (
    "install with:\n"
    "    apt-get update && apt-get install -y chromium      # Debian/Ubuntu: /usr/bin/chromium\n"
    "    .venv/bin/python -m pip install -r requirements.lock   # or `make venv` (playwright)\n"
    "Do NOT run `playwright install`: the tests drive the system Chromium."
)

# JupyterLab user settings for the isolated settings dir.
LAB_SETTINGS = {
    # no "Would you like to receive official Jupyter news?" toast, no update check
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # render every cell (no virtual scrolling), so all prompts/outputs/widgets are in the DOM
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing_requirements() -> list[str]:
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium ({CHROMIUM} not found)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package `playwright`")
    return missing


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    """Skip (locally) or fail (CI=true) when Chromium or Playwright is missing."""
    missing = _missing_requirements()
    if not missing:
        return
    msg = f"browser tests need {' and '.join(missing)}; {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"CI=true: {msg}", pytrace=False)
    pytest.skip(msg)


# ---------------------------------------------------------------------------------------------
# JupyterLab server
# ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    base_url: str
    token: str
    root: Path  # served root: holds notebooks/ (a copy of the repo's)
    log: Path
    proc: subprocess.Popen

    def url(self, path: str = "lab", **query: str) -> str:
        q = "&".join([*(f"{k}={v}" if v else k for k, v in query.items()), f"token={self.token}"])
        return f"{self.base_url}/{path.lstrip('/')}?{q}"

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> tuple[int, object]:
        req = urllib.request.Request(f"{self.base_url}/api/{path.lstrip('/')}", method=method)
        req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read()
                return resp.status, json.loads(body) if body else None
        except urllib.error.HTTPError as err:
            return err.code, None

    def shutdown_kernels(self) -> None:
        """Delete every session and kernel (frees the memory of the notebook just tested).

        Best effort: on a loaded machine a shutdown can outlast the HTTP timeout; whatever is
        left dies with the server's process group at the end of the session.
        """
        for kind in ("sessions", "kernels"):
            try:
                status, items = self.api(kind)
                for item in (items or []) if status == 200 else []:
                    self.api(f"{kind}/{item['id']}", method="DELETE", timeout=60)
            except (urllib.error.URLError, OSError):  # TimeoutError is an OSError
                pass

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "<no log>"


def _kill_group(proc: subprocess.Popen, grace_s: float = 20) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    try:  # kernels are in the same group; make sure nothing outlives the session
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="session")
def lab_server(browser_requirements, tmp_path_factory) -> LabServer:
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    # The served root mirrors the repository: a *copy* of notebooks/ (running them saves
    # nothing into the repo) and of images/ (markdown shows ../images/*.svg; the server answers
    # 403 for files behind a symlink out of its root), next to symlinks to the other top-level
    # entries, which kernels read directly (e.g. checkpoints/, looked up from the notebook dir).
    root.mkdir()
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=ignore)
    for entry in REPO.iterdir():
        if entry.name.startswith(".") or entry.name == "notebooks":
            continue
        if entry.name in SERVED_COPIES and entry.is_dir():
            shutil.copytree(entry, root / entry.name, ignore=ignore)
        else:
            (root / entry.name).symlink_to(entry)

    settings = tmp / "settings"
    for rel, value in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2))
    dirs = {name: tmp / name for name in ("workspaces", "runtime", "config", "ipython")}
    for d in dirs.values():
        d.mkdir()

    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)
    env.pop("MPLBACKEND", None)  # `make test` sets Agg; the notebooks use %matplotlib widget
    # `make test` sets strict checks for the answered notebooks; the browser runs the learner's
    # notebooks, whose unfinished "Your turn" checks print a ✗ line and let Run All go on
    env.pop("FLOWKIT_STRICT_CHECKS", None)
    env.update(
        FLOWKIT_FAST="1",
        OMP_NUM_THREADS="1",
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),  # ignore the user's ~/.jupyter config
        IPYTHONDIR=str(dirs["ipython"]),
        PYTHONUNBUFFERED="1",
    )

    port = _free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, for commands
        "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")

    log = tmp / "lab.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, proc)
    try:
        deadline = time.monotonic() + LAB_STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with code {proc.returncode}:\n{server.log_tail()}")
            try:
                status, _ = server.api("status", timeout=5)
            except (urllib.error.URLError, OSError):
                status = None
            if status == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer /api/status within "
                            f"{LAB_STARTUP_TIMEOUT_S}s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _kill_group(proc)


# ---------------------------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser(browser_requirements):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
