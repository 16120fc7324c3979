"""Where a submission's code runs: a bubblewrap sandbox of its own, or (explicitly) nothing.

Each kernel gets, from one ``bwrap`` call: its own PID, mount, IPC, network and UTS namespaces;
a root file system that holds **only** read-only binds of the system (``/usr`` and its
symlinks), the Python installation, the course venv and the ``flowkit`` package, plus a tiny
``/etc``; private size-limited tmpfs for ``/tmp``, ``/var/tmp``, ``/dev/shm`` and the home
folder; and one private folder for the kernel's sockets. Nothing else of the machine is there
(no course sources, no other checkout, no gradebook): paths are bound in, not hidden.

* As root, bwrap runs without a user namespace and the kernel drops to an unprivileged uid
  (``setpriv``, no capabilities, ``no_new_privs``) with ``prlimit`` bounds on processes, memory,
  file size and core dumps.
* As another user, bwrap uses a user namespace (the kernel keeps the caller's uid outside).
* Without bwrap (or where namespaces are refused) grading refuses to start unless the teacher
  passes ``--unsafe-no-sandbox``; the CSV and the summary then say so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "Isolation", "detect", "sandbox_argv", "write_etc", "kernel_uid", "SOCKET_DIR"]

SOCKET_DIR = "/run/flowkit"      # where the kernel sees its private socket folder
HOME = "/home/student"


@dataclass(frozen=True)
class Limits:
    memory: int = 6 << 30        # address space of each process (bytes)
    nproc: int = 256             # processes of the sandbox uid
    file_size: int = 64 << 20    # largest file
    tmpfs: int = 128 << 20       # each of /tmp, /var/tmp, /dev/shm
    home: int = 256 << 20        # the working folder
    uid: int = 0                 # 0: a fresh unused uid for each kernel (see kernel_uid)


@dataclass(frozen=True)
class Isolation:
    mode: str                    # "bwrap" (root: setpriv to an unprivileged uid), "bwrap-userns", "UNSAFE"
    detail: str

    @property
    def sandboxed(self) -> bool:
        return self.mode != "UNSAFE"


def _tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/bin/{name}", f"/bin/{name}") if os.access(p, os.X_OK)), None)


def _probe(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if out.returncode == 0 else (out.stderr.strip() or f"exit status {out.returncode}")[:300]


def detect(allow_unsafe: bool, limits: Limits = Limits()) -> Isolation:
    """The isolation this machine gives; SystemExit with what is missing, unless ``allow_unsafe``."""
    missing = []
    bwrap = _tool("bwrap")
    if bwrap is None:
        missing.append("bubblewrap (`bwrap`; Debian/Ubuntu: apt-get install bubblewrap)")
    root = os.geteuid() == 0
    if root:
        missing += [f"`{t}` (util-linux)" for t in ("setpriv", "prlimit") if _tool(t) is None]
    if not missing:
        with tempfile.TemporaryDirectory() as tmp:
            error = _probe(sandbox_argv(Path(tmp), ["/bin/true"], {}, limits, probe=True))
        if error is None:
            mode = "bwrap" if root else "bwrap-userns"
            how = ("a fresh unprivileged uid, no capabilities" if root else "a user namespace (the caller's uid)")
            return Isolation(mode, f"bubblewrap: own PID/mount/IPC/network namespaces, {how}, private tmpfs, "
                                   "only the venv and flowkit bound read-only")
        missing.append(f"a working bubblewrap sandbox ({'root' if root else 'unprivileged user namespaces'}): "
                       f"{error}")
    reason = "; ".join(missing)
    if not allow_unsafe:
        raise SystemExit(
            "make grade: cannot isolate the submissions, so it will not run student code.\nMissing: " + reason +
            "\nInstall what is missing (as root, or where user namespaces are allowed), or pass --unsafe-no-sandbox "
            "to run every submission as yourself with no isolation (only for your own work).")
    return Isolation("UNSAFE", f"no sandbox: student code ran as the calling user with no isolation ({reason})")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "lib", "lib64", "lib32", "sbin"):
        p = Path("/") / top
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    return args


def _parents(paths: list[str]) -> list[str]:
    """``--dir`` with mode 0755 for every ancestor of ``paths`` (bwrap makes them 0700)."""
    seen, args = {"/"}, []
    for path in paths:
        for parent in reversed(Path(path).parents):
            if str(parent) not in seen:
                seen.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def runtime_paths() -> list[str]:
    """What the kernel needs to read: the Python installation, the venv, the flowkit package."""
    import flowkit

    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             str(Path(flowkit.__file__).resolve().parent)}
    return sorted(p for p in paths if not p.startswith("/usr/") and p != "/usr")


def sandbox_argv(private: Path, command: list[str], env: dict[str, str], limits: Limits,
                 probe: bool = False) -> list[str]:
    """The bwrap command line that runs ``command`` in a fresh sandbox.

    ``private`` holds ``sock/`` (bound at :data:`SOCKET_DIR`) and ``etc/`` (passwd, group).
    """
    root = os.geteuid() == 0
    ro = runtime_paths()
    args = [_tool("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    uid = limits.uid or 65534
    if not root:
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += _system_binds() + _parents([*ro, HOME, SOCKET_DIR, "/var/tmp", "/etc/x"])
    for p in ro:
        args += ["--ro-bind", p, p]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for name in ("passwd", "group"):
        if (private / "etc" / name).exists():
            args += ["--ro-bind", str(private / "etc" / name), f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for path, size in (("/tmp", limits.tmpfs), ("/var/tmp", limits.tmpfs), ("/dev/shm", limits.tmpfs),
                       (HOME, limits.home)):
        args += ["--perms", "1777", "--size", str(size), "--tmpfs", path]
    if not probe:
        args += ["--bind", str(private / "sock"), SOCKET_DIR]
    args += ["--chdir", HOME, "--clearenv"]
    for k, v in env.items():
        args += ["--setenv", k, v]
    args.append("--")
    if root:
        args += [_tool("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                 "--bounding-set=-all", "--inh-caps=-all", "--"]
    args += [_tool("prlimit") or "prlimit", f"--nproc={limits.nproc}", f"--as={limits.memory}", f"--fsize={limits.file_size}",
             "--core=0", "--"]
    return args + command


def kernel_uid(limits: Limits) -> int:
    """The uid a kernel runs as (root grading): fresh per kernel, so that process limits and
    signals never cross between submissions graded at the same time."""
    return limits.uid or 1_900_000_000 + secrets.randbelow(100_000_000)


def write_etc(private: Path, uid: int) -> None:
    etc = private / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nstudent:x:{uid}:{uid}:student:{HOME}:/bin/sh\n")
    (etc / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\n")
    for f in ("passwd", "group"):
        os.chmod(etc / f, 0o644)
