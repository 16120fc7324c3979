"""`make lab` really starts a JupyterLab server (the README's first command); `make teach` too.

Runs ``make -s lab LAB_ARGS=...`` from the repo root in its own process group,
waits for ``/api/status`` to answer with the token, then kills the whole group
and checks that the port is free again. The learner's lab hides nbgrader (no formgrader, no
assignment toolbar: its server extensions off, its lab extension disabled in the page config);
the teacher's (`make teach`) shows it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 90
ENV_TIMEOUT_S = 1800  # only matters if .venv is missing or stale


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str, token: str | None = None, timeout: float = 5) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "<no log>"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM the process group (make + jupyter); SIGKILL whatever outlives the grace."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()  # reap make so it does not keep the group alive as a zombie
        if not _group_alive(proc.pid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


def test_make_lab_serves_jupyter(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed, so `make lab` cannot be smoke-tested")

    env = dict(os.environ)
    # keep server runtime files (pid/url json) out of the user's ~/.local
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env.pop("JUPYTER_TOKEN", None)

    # Build/refresh the env first (a no-op under `make test`), so the startup
    # timeout below measures the server only.
    built = subprocess.run(
        ["make", "-s", "venv"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=ENV_TIMEOUT_S,
    )
    assert built.returncode == 0, f"`make venv` failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"

    port = _free_port()
    token = secrets.token_hex(16)
    lab_args = (
        f"--no-browser --port={port} --port-retries=0 "
        f"--IdentityProvider.token={token} --ServerApp.open_browser=False"
    )
    log = tmp_path / "lab.log"
    base = f"http://127.0.0.1:{port}"

    with log.open("wb") as fh:
        proc = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_ARGS={lab_args}"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg gets make + jupyter
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        status, body = None, b""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"`make lab` exited early with code {proc.returncode}:\n{_tail(log)}")
            try:
                status, body = _get(f"{base}/api/status", token)
            except (urllib.error.URLError, OSError):
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, (
            f"JupyterLab did not answer {base}/api/status within {STARTUP_TIMEOUT_S}s "
            f"(last status {status}):\n{_tail(log)}"
        )

        info = json.loads(body)
        assert isinstance(info, dict), info
        missing = {"started", "last_activity", "kernels", "connections"} - info.keys()
        assert not missing, f"/api/status lacks {missing}: {info}"

        code, body = _get(f"{base}/api", token)
        assert code == 200 and "version" in json.loads(body), body

        # the token from LAB_ARGS is really in force
        code, _ = _get(f"{base}/api/status", token=None)
        assert code == 403, f"unauthenticated /api/status answered {code}, expected 403"

        # lab is served, not just the bare server
        code, page = _get(f"{base}/lab?token={token}")
        assert code == 200, f"/lab answered {code}"
        # the learner's lab: nbgrader's authoring/formgrader UI is off, server side and in the page
        assert _nbgrader_visible(base, token, page) == (False, False), "make lab shows nbgrader's UI"
    finally:
        _kill_group(proc)

    for _ in range(20):
        if not _port_open(port):
            break
        time.sleep(0.5)
    assert not _port_open(port), f"something still listens on port {port} after killing `make lab`"


def _page_config(page: bytes) -> dict:
    m = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert m, "no page config in /lab"
    return json.loads(m.group(1))


def _nbgrader_visible(base: str, token: str, page: bytes) -> tuple[bool, bool]:
    """(formgrader served, nbgrader's lab extension enabled) for a running server."""
    code, _ = _get(f"{base}/formgrader?token={token}")
    config = _page_config(page)
    disabled = config.get("disabledExtensions", [])
    names = {e.get("name") for e in config.get("federated_extensions", [])}
    enabled = "@jupyter/nbgrader" in names and "@jupyter/nbgrader" not in disabled
    return code in (200, 302), enabled


def test_make_teach_shows_nbgrader(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env.pop("JUPYTER_TOKEN", None)
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = f"--no-browser --port={port} --port-retries=0 --IdentityProvider.token={token}"
    log = tmp_path / "teach.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as fh:
        proc = subprocess.Popen(["make", "-s", "teach", f"LAB_ARGS={lab_args}"], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status = time.monotonic() + STARTUP_TIMEOUT_S, None
        while time.monotonic() < deadline and status != 200:
            if proc.poll() is not None:
                pytest.fail(f"`make teach` exited early with code {proc.returncode}:\n{_tail(log)}")
            try:
                status, _ = _get(f"{base}/api/status", token)
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        assert status == 200, f"`make teach` did not start:\n{_tail(log)}"
        code, page = _get(f"{base}/lab?token={token}")
        assert code == 200
        assert _nbgrader_visible(base, token, page) == (True, True), "make teach should show nbgrader's UI"
        code, body = _get(f"{base}/api/contents/src", token)    # the teacher's lab opens exercises/
        assert code == 200 and b"01_fundamentals" in body, body[:300]
    finally:
        _kill_group(proc)
