"""One sandboxed IPython kernel for one submission: start, run code, answer check requests, stop.

The kernel runs inside :mod:`.sandbox` and talks ZMQ over Unix sockets in a private folder (the
sandbox has no network, not even loopback). :meth:`SandboxKernel.stop` kills the sandbox — its
PID namespace goes with it, so every process the submission started, double-forked daemons
included, is gone — and then checks that no process of that namespace is left.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from flowkit.course.checks.agent import REPLY_MIME

from .outputs import OutputSink
from .sandbox import SOCKET_DIR, Isolation, Limits, kernel_uid, sandbox_argv, write_etc

__all__ = ["SandboxKernel", "KernelDied", "KernelTimeout"]

MAX_MESSAGE = 96 << 20


class KernelDied(Exception):
    pass


class KernelTimeout(Exception):
    pass


class SandboxKernel:
    def __init__(self, isolation: Isolation, limits: Limits, env: dict[str, str], workdir: Path) -> None:
        self.isolation, self.limits, self.env, self.workdir = isolation, limits, env, workdir
        self.proc: subprocess.Popen | None = None
        self.kc: BlockingKernelClient | None = None
        self.private: Path | None = None
        self.pidns: str | None = None
        self.log = bytearray()
        self.running: str | None = None

    # ------------------------------------------------------------------------------- start
    def start(self, timeout: float = 120) -> None:
        self.private = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.workdir))
        os.chmod(self.private, 0o711)
        sock = self.private / "sock"
        sock.mkdir()
        inside = SOCKET_DIR if self.isolation.sandboxed else str(sock)
        key = os.urandom(32).hex().encode()
        _, info = write_connection_file(str(sock / "connection.json"), transport="ipc", ip=f"{inside}/k", key=key)
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", f"{inside}/connection.json"]
        if self.isolation.sandboxed:
            limits = replace(self.limits, uid=kernel_uid(self.limits)) if os.geteuid() == 0 else self.limits
            write_etc(self.private, limits.uid or 65534)
            if os.geteuid() == 0:
                for p in (sock, sock / "connection.json"):
                    os.chown(p, limits.uid, limits.uid)
            argv = sandbox_argv(self.private, command, self.env, limits)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:
            home = self.private / "home"
            home.mkdir()
            argv, env = command, dict(self.env, HOME=str(home), TMPDIR=str(home))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                     cwd=str(self.private))
        threading.Thread(target=self._drain, daemon=True).start()
        ctx = zmq.Context()
        ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.kc = BlockingKernelClient(context=ctx)
        self.kc.load_connection_info(dict(info, ip=str(sock / "k")))
        self.kc.start_channels()
        self._wait_ready(timeout)
        if self.isolation.sandboxed and os.geteuid() == 0:
            os.chown(sock, 0, 0)             # from now on the kernel cannot write there
            os.chmod(sock, 0o755)
        self.pidns = self._namespace()

    def _drain(self) -> None:
        """Keep the first 16 KiB of the kernel process's own output (for start-up errors)."""
        assert self.proc is not None and self.proc.stdout is not None
        for chunk in iter(lambda: self.proc.stdout.read(4096), b""):
            if len(self.log) < 16384:
                self.log += chunk[: 16384 - len(self.log)]

    def _wait_ready(self, timeout: float) -> None:
        deadline, sent = time.monotonic() + timeout, 0.0
        while time.monotonic() < deadline:
            if not self.alive():
                raise KernelDied("the kernel did not start: " + self.log.decode("utf-8", "replace")[-600:])
            if time.monotonic() - sent > 5:      # ask again now and then; any reply will do
                self.kc.kernel_info()
                sent = time.monotonic()
            try:
                reply = self.kc.get_shell_msg(timeout=0.5)
            except queue.Empty:
                continue
            if reply.get("msg_type") == "kernel_info_reply":
                while True:     # drain the start-up status messages
                    try:
                        self.kc.get_iopub_msg(timeout=0.2)
                    except queue.Empty:
                        return
        raise KernelTimeout(f"the kernel did not start within {timeout:.0f} s: "
                            + self.log.decode("utf-8", "replace")[-600:])

    def _namespace(self) -> str | None:
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            return os.readlink(f"/proc/{children[0]}/ns/pid") if children and self.isolation.sandboxed else None
        except OSError:
            return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------------------- run
    def execute(self, code: str, timeout: float, sink: OutputSink | None = None, *, silent: bool = False,
                nonce: str | None = None) -> tuple[str, str | None]:
        """Run ``code``; ``(status, reply)`` with status ``ok``/``error`` and the agent's reply text.

        Raises :class:`KernelTimeout` (still running after ``timeout`` s) or :class:`KernelDied`.
        """
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                                 stop_on_error=False)
        self.running = msg_id
        deadline = time.monotonic() + timeout
        reply_text, idle = None, False
        while not idle:
            if time.monotonic() > deadline:
                raise KernelTimeout(f"still running after {timeout:.0f} s")
            try:
                msg = self.kc.get_iopub_msg(timeout=0.25)
            except queue.Empty:
                if not self.alive():
                    raise KernelDied("the kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif nonce is not None and kind == "display_data" and reply_text is None:
                meta = content.get("metadata", {}).get(REPLY_MIME, {})
                if isinstance(meta, dict) and meta.get("nonce") == nonce:
                    reply_text = content.get("data", {}).get(REPLY_MIME)
            elif sink is not None:
                sink.add(kind, content)
        return self._reply_status(msg_id, deadline), reply_text

    def _reply_status(self, msg_id: str, deadline: float) -> str:
        while True:
            try:
                reply = self.kc.get_shell_msg(timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            except queue.Empty:
                return "error"
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return "ok" if reply.get("content", {}).get("status") == "ok" else "error"

    def interrupt(self, wait: float = 5.0) -> bool:
        """Send an interrupt; True if the kernel went idle again within ``wait`` seconds."""
        msg = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(msg)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self.alive():
            try:
                m = self.kc.get_iopub_msg(timeout=0.25)
            except queue.Empty:
                continue
            if (m.get("msg_type") == "status" and m["content"].get("execution_state") == "idle"
                    and m.get("parent_header", {}).get("msg_id") == self.running):
                return True
        return False

    # ------------------------------------------------------------------------------- stop
    def stop(self) -> list[str]:
        """Kill the sandbox and everything in it; notes if anything had to be killed by hand."""
        notes: list[str] = []
        if self.kc is not None:
            try:
                self.kc.stop_channels()
                self.kc.context.destroy(linger=0)
            except Exception:  # noqa: BLE001 - closing a client whose kernel is gone
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    self.proc.kill()
            self.proc.wait()
        if self.pidns is not None:
            left = _wait_namespace_empty(self.pidns)
            if left:
                notes.append(f"{len(left)} process(es) outlived the kernel and were killed")
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
        if not self.isolation.sandboxed:
            notes += _unsafe_leftovers(self.proc)
        return notes


def _pids_in(ns: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == ns:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _wait_namespace_empty(ns: str, wait: float = 10.0) -> list[int]:
    """Processes of PID namespace ``ns`` still there after ``wait`` s; SIGKILL each such one."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        left = _pids_in(ns)
        if not left:
            return []
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def _unsafe_leftovers(proc: subprocess.Popen | None) -> list[str]:
    """Without a sandbox, a daemon that left the process group cannot be found: say so."""
    return [] if proc is None else ["no sandbox: processes that left the kernel's session may survive"]
