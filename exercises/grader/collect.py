"""Find the submissions in a folder without trusting it: every student gets an entry.

Layout: ``folder/<student_id>/<assignment>/<assignment>.ipynb``. Nothing is followed: a
symbolic link anywhere below ``folder`` is reported, never read; directories, FIFOs, sockets
and device files in place of a notebook are reported; files are opened with ``O_NOFOLLOW |
O_NONBLOCK`` and checked to be regular files before a byte is read. Any student id (unicode,
spaces, control characters, bytes that are not UTF-8) is kept and escaped for display.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Submission", "collect", "read_regular_file", "JUNK"]

JUNK = {".ipynb_checkpoints", "__MACOSX", ".DS_Store", "Thumbs.db"}
MAX_BYTES = 40 << 20


@dataclass
class Submission:
    student: str                  # the folder name, as the file system gave it
    assignment: str               # "(none)" when the student has no assignment folder at all
    path: Path | None = None      # the notebook to grade, if any
    data: bytes | None = None
    problem: str = ""             # why it cannot be graded (empty: it can)
    note: str = ""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link (not followed)"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device file"),
                       (stat.S_ISBLK, "a device file"), (stat.S_ISREG, "a file")):
        if test(mode):
            return name
    return "an unknown kind of file"


def read_regular_file(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file (no link followed, no FIFO waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"it is {_kind(st.st_mode)}, not a notebook file")
        if st.st_size > limit:
            raise OSError(f"it is larger than {limit >> 20} MiB")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise OSError(f"it is larger than {limit >> 20} MiB")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _notebook(student: str, assignment: str, folder: Path) -> Submission:
    sub = Submission(student, assignment)
    target = folder / f"{assignment}.ipynb"
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        others = [e for e in _entries(folder) if e.name.endswith(".ipynb") and e.is_file(follow_symlinks=False)]
        if len(others) != 1:
            sub.problem = f"no {assignment}.ipynb in the folder"
            return sub
        target, sub.note = folder / others[0].name, f"graded {others[0].name!r} (renamed notebook)"
        mode = os.lstat(target).st_mode
    if not stat.S_ISREG(mode):
        sub.problem = f"{target.name} is {_kind(mode)}"
        return sub
    try:
        sub.path, sub.data = target, read_regular_file(target)
    except OSError as e:
        sub.problem = f"{target.name} cannot be read: {e.strerror or e}"
    return sub


def _student(entry: os.DirEntry, assignments: set[str]) -> list[Submission]:
    name = entry.name
    if entry.is_symlink():
        return [Submission(name, "(none)", problem="the student folder is a symbolic link (not followed)")]
    if not entry.is_dir(follow_symlinks=False):
        return [Submission(name, "(none)", problem=f"not a folder: it is {_kind(os.lstat(entry.path).st_mode)}")]
    out = []
    try:
        children = _entries(Path(entry.path))
    except OSError as e:
        return [Submission(name, "(none)", problem=f"the folder cannot be read: {e.strerror or e}")]
    for child in children:
        if child.name in JUNK:
            continue
        if child.name not in assignments:
            out.append(Submission(name, child.name, problem="not an assignment of this course"))
        elif child.is_symlink() or not child.is_dir(follow_symlinks=False):
            out.append(Submission(name, child.name, problem=f"the assignment folder is {_kind(os.lstat(child.path).st_mode)}"))
        else:
            try:
                out.append(_notebook(name, child.name, Path(child.path)))
            except OSError as e:
                out.append(Submission(name, child.name, problem=f"cannot be read: {e.strerror or e}"))
    return out or [Submission(name, "(none)", problem="no assignment folder")]


def collect(folder: Path, assignments: set[str]) -> list[Submission]:
    """One :class:`Submission` per (student, assignment folder) found, ungradable ones included."""
    subs: list[Submission] = []
    for entry in _entries(folder):
        if entry.name in JUNK:
            continue
        subs += _student(entry, assignments)
    return subs
