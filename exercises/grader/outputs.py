"""Collect a cell's outputs from kernel messages, with hard caps on what is kept.

Only plain data is kept (text, images as base64 strings, HTML text that the feedback page
sanitises later); everything a student's code prints is bounded per cell and per submission,
so a flood of output costs memory only up to the caps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["OutputSink", "Budget", "strip_ansi"]

KEEP = {"image/png": 2 << 20, "image/jpeg": 2 << 20, "image/svg+xml": 1 << 20, "text/html": 256 << 10,
        "text/markdown": 64 << 10, "text/latex": 64 << 10, "text/plain": 64 << 10}
STREAM_CAP = 64 << 10
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass
class Budget:
    """What one submission may keep in total (bytes of output)."""

    left: int = 16 << 20
    dropped: int = 0

    def take(self, n: int) -> bool:
        if n > self.left:
            self.dropped += n
            return False
        self.left -= n
        return True


@dataclass
class OutputSink:
    budget: Budget
    outputs: list[dict] = field(default_factory=list)
    stream_bytes: int = 0
    truncated: bool = False

    def _stream(self, name: str, text: str) -> None:
        room = STREAM_CAP - self.stream_bytes
        if len(text) > room:
            text, self.truncated = text[:max(room, 0)], True
        if not text or not self.budget.take(len(text)):
            self.truncated = self.truncated or bool(text)
            return
        self.stream_bytes += len(text)
        if self.outputs and self.outputs[-1]["output_type"] == "stream" and self.outputs[-1]["name"] == name:
            self.outputs[-1]["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def _data(self, kind: str, data: dict) -> None:
        kept = {}
        for mime, cap in KEEP.items():
            value = data.get(mime)
            if isinstance(value, list):
                value = "".join(v for v in value if isinstance(v, str))
            if isinstance(value, str) and len(value) <= cap and self.budget.take(len(value)):
                kept[mime] = value
            elif value is not None:
                self.truncated = True
        if kept:
            self.outputs.append({"output_type": kind, "data": kept})

    def add(self, msg_type: str, content: dict) -> None:
        """Take one iopub message (``msg_type``, ``content``) of the cell being run."""
        if not isinstance(content, dict):
            return
        if msg_type == "stream":
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            text = content.get("text")
            if isinstance(text, str):
                self._stream(name, text)
        elif msg_type in ("display_data", "execute_result", "update_display_data") and isinstance(content.get("data"), dict):
            self._data("execute_result" if msg_type == "execute_result" else "display_data", content["data"])
        elif msg_type == "error":
            self.add_error(str(content.get("ename", "Error")), str(content.get("evalue", "")),
                           content.get("traceback") if isinstance(content.get("traceback"), list) else [])
        elif msg_type == "clear_output":
            self.outputs.clear()
            self.stream_bytes = 0

    def add_error(self, ename: str, evalue: str, traceback: list | None = None) -> None:
        tb = strip_ansi("\n".join(t for t in (traceback or []) if isinstance(t, str)))[-8000:]
        entry = {"output_type": "error", "ename": ename[:200], "evalue": evalue[:2000], "traceback": tb}
        if self.budget.take(len(tb) + len(evalue)):
            self.outputs.append(entry)
