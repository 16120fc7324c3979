"""The CSV and the terminal table. Every student-controlled string is escaped before it is shown.

:func:`escape` turns control characters (C0, C1, DEL), Unicode format characters (bidi
overrides, zero-width joiners), line/paragraph separators and lone surrogates (bytes of a file
name that are not UTF-8) into visible ``\\xNN`` / ``\\uNNNN`` escapes, so a student id or a
message can neither move the cursor, clear the screen, nor fake a row.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
import unicodedata
from pathlib import Path

__all__ = ["escape", "COLUMNS", "write_csv", "print_table", "backup", "backup_name"]

COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "lost", "flagged", "flags", "notes",
           "mode", "graded_at"]


def escape(text: str, limit: int = 2000) -> str:
    out = []
    for ch in str(text)[:limit]:
        cat = unicodedata.category(ch)
        if ch == "\\":
            out.append("\\\\")
        elif cat in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") and ch != " ":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(str(text)) > limit else "")


def backup_name(path: Path) -> Path:
    """A free name ``path.bak-YYYYmmdd-HHMMSS[-n]`` next to ``path`` for a copy made before replacing it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest, n = path.with_name(f"{path.name}.bak-{stamp}"), 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    return dest


def backup(path: Path) -> Path | None:
    """Copy ``path`` to :func:`backup_name` before it is replaced; the copy's path (None: no file)."""
    if not path.exists():
        return None
    dest = backup_name(path)
    shutil.copy2(path, dest)
    return dest


def write_csv(rows: list[dict], path: Path) -> None:
    """This run's rows (ids and texts escaped; a cell starting with = + - @ gets a leading ')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            clean = {}
            for k in COLUMNS:
                v = row.get(k, "")
                v = escape(v) if isinstance(v, str) else v
                if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and k in ("student_id", "assignment"):
                    v = "'" + v
                clean[k] = v
            writer.writerow(clean)
    os.replace(tmp, path)
    os.chmod(path, 0o644)


def print_table(rows: list[dict], out=None) -> None:
    print_ = (lambda s: print(s, file=out)) if out else print
    head = f"{'student':<16} {'assignment':<16} {'score':>11}  {'flagged':<8} lost / notes"
    print_("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        score = f"{r['score']:g} / {r['max_score']:g}" if r["status"] == "graded" else "—"
        extra = "; ".join(x for x in (r["lost"], r["notes"]) if x)
        if r["status"] != "graded":
            extra = r["status"] + ("; " + extra if extra else "")
        print_(f"{escape(r['student_id'], 60):<16} {escape(r['assignment'], 40):<16} {score:>11}  "
               f"{r['flagged']:<8} {escape(extra, 400)}")
        for flag in filter(None, r["flags"].split(" | ")):
            print_(f"{'':<46}⚑ {escape(flag, 200)}")
