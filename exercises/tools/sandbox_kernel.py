"""Start the grading kernel (an ipykernel) so that student code cannot reach the grader's files.

``tools/grade.py`` installs a kernel spec whose argv is
``[python, sandbox_kernel.py, -f, {connection_file}]``; jupyter_client runs this script as the
grading user (root in CI). When it runs as root it:

1. enters a private mount namespace (when the system allows it) and mounts empty, read-only
   tmpfs over the paths in ``FLOWKIT_SANDBOX_HIDE`` (the course repository's ``exercises/``,
   ``tests/``, ``.git``, the grading copy) and a fresh tmpfs over ``/tmp`` (unless the Python
   installation lives there): hidden tests, solutions, fixtures and the gradebook are not there;
2. makes a fresh home folder owned by the sandbox user (``FLOWKIT_SANDBOX_USER``, default
   ``nobody``), copies the connection file into it, and chdirs there;
3. sets resource limits (processes, file size, no core dumps) and a minimal environment;
4. execs ``setpriv`` to drop to the sandbox user (no supplementary groups, no new privileges) and
   exec the kernel. The kernel keeps this process id, so nbclient's interrupt and kill reach it.

The grading copy itself is a 0700 folder of root, so even without the mount namespace the
unprivileged kernel can neither read ``source/`` nor read or write ``gradebook.db``.
Not root (a learner grading their own work): the kernel runs as the caller, in a fresh home
folder and with the same minimal environment, without those protections.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import resource
import shutil
import sys
import tempfile

PASS_ENV = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "FLOWKIT_FAST",
            "JPY_PARENT_PID", "PYTHONHASHSEED")
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 1, 2, 4, 16384, 1 << 18


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def private_mounts(hide: list[str]) -> bool:
    """Enter a new mount namespace and hide ``hide`` (and /tmp); False if not allowed here."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    if libc.unshare(CLONE_NEWNS) != 0:
        return False
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    ok = True
    for path in hide:
        if os.path.isdir(path) and libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                                              b"size=16k,mode=0555") != 0:
            ok = False
    runtime = [sys.prefix, os.path.realpath(sys.executable), os.path.dirname(os.path.abspath(__file__))]
    if not any(_inside(p, "/tmp") for p in runtime):
        if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=1777,size=512m") != 0:
            ok = False
    return ok


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "-f":
        sys.exit("usage: sandbox_kernel.py -f CONNECTION_FILE [kernel args]")
    conn, extra = argv[1], argv[2:]
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    kernel = [sys.executable, "-m", "ipykernel_launcher"]
    base = os.environ.get("FLOWKIT_SANDBOX_TMP") or None
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv and os.environ.get("FLOWKIT_SANDBOX", "1") != "0":
        pw = pwd.getpwnam(os.environ.get("FLOWKIT_SANDBOX_USER", "nobody"))
        hide = [p for p in os.environ.get("FLOWKIT_SANDBOX_HIDE", "").split(os.pathsep) if p]
        with open(conn, "rb") as fh:            # read before /tmp may be replaced
            conn_bytes = fh.read()
        namespaced = private_mounts(hide)
        home = tempfile.mkdtemp(prefix="flowkit-kernel-", dir=None if namespaced else base)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        conn2 = os.path.join(home, "connection.json")
        with open(conn2, "wb") as fh:
            fh.write(conn_bytes)
        os.chown(conn2, pw.pw_uid, pw.pw_gid)
        os.chmod(conn2, 0o600)
        os.chdir(home)
        for lim, val in ((resource.RLIMIT_NPROC, 1024), (resource.RLIMIT_FSIZE, 256 << 20),
                         (resource.RLIMIT_CORE, 0)):
            try:
                resource.setrlimit(lim, (val, val))
            except (ValueError, OSError):
                pass
        env.update(HOME=home, USER=pw.pw_name, TMPDIR=home, IPYTHONDIR=os.path.join(home, ".ipython"),
                   MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
                   FLOWKIT_SANDBOXED=f"user={pw.pw_name},mount_namespace={'yes' if namespaced else 'no'}")
        os.execve(setpriv, [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
                            "--no-new-privs", "--", *kernel, "-f", conn2, *extra], env)
    home = tempfile.mkdtemp(prefix="flowkit-kernel-", dir=base)
    os.chdir(home)
    env.update(HOME=home, TMPDIR=home, IPYTHONDIR=os.path.join(home, ".ipython"),
               MPLCONFIGDIR=os.path.join(home, ".matplotlib"), FLOWKIT_SANDBOXED="no")
    os.execve(sys.executable, [*kernel, "-f", conn, *extra], env)


if __name__ == "__main__":
    main(sys.argv[1:])
