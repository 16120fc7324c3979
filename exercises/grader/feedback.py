"""Per-student feedback pages: the notebook as graded, each test cell's verdict, sanitised.

The page is built from plain data (cell sources, captured outputs, check messages); every
piece that a student controls is escaped or passed through ``nh3`` (the Ammonia sanitiser):
no ``<script>``, no event-handler attributes, no ``style``, and images only as inline
``data:image/…`` URIs, so the page loads nothing from anywhere. A Content-Security-Policy
header repeats that for the browser. Plots (PNG/JPEG/SVG outputs) are kept as inline images;
math in Markdown is kept as its TeX source (``$…$``). Hidden checks appear only by their
messages — their source is never part of the page.
"""

from __future__ import annotations

import base64
import binascii
import html
import re

import nh3
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from .session import Graded

__all__ = ["render_page", "sanitize"]

TAGS = (set(nh3.ALLOWED_TAGS) - {"map", "area"}) | {"img"}
ATTRIBUTES = {"*": {"class", "title"}, "a": {"href"}, "img": {"src", "alt", "width", "height"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
_HEAD = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.45; }}
pre {{ background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }}
pre.stderr {{ background: #fff4e5; }} pre.error {{ background: #fdecea; }}
div.check {{ border-left: 4px solid #999; padding: .2rem .8rem; margin: 1rem 0; }}
div.pass {{ border-color: #2e7d32; }} div.fail {{ border-color: #c62828; }}
img {{ max-width: 100%; }}
</style></head><body>
"""


def _filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if _DATA_IMAGE.match(value) else None
    if tag == "a" and attr == "href":
        return value if value.startswith(("http://", "https://", "mailto:", "#")) else None
    return value


def sanitize(fragment: str) -> str:
    """Student-influenced HTML, reduced to safe markup (see the module doc)."""
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_filter,
                     url_schemes={"http", "https", "mailto", "data"}, strip_comments=True,
                     link_rel="noopener noreferrer nofollow")


def _pre(text: str, cls: str = "") -> str:
    return f'<pre class="{cls}">{html.escape(text)}</pre>' if text else ""


def _image(mime: str, value: str) -> str:
    if mime == "image/svg+xml":
        value = base64.b64encode(value.encode("utf-8", "replace")).decode()
    try:
        base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return ""
    return f'<img src="data:{mime};base64,{value.strip()}" alt="plot">'


def _output(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _pre(out.get("text", ""), "stderr" if out.get("name") == "stderr" else "")
    if kind == "error":
        return _pre(f"{out.get('ename')}: {out.get('evalue')}\n{out.get('traceback', '')}".strip(), "error")
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg", "image/svg+xml"):
        if mime in data:
            return _image(mime, data[mime])
    if "text/html" in data:
        return f"<div>{data['text/html']}</div>"
    if "text/markdown" in data:
        return markdown2html_mistune(data["text/markdown"])
    return _pre(data.get("text/latex") or data.get("text/plain", ""))


def _check(label: str, graded: Graded, titles: dict[str, str]) -> str:
    r = graded.checks.get(label)
    if r is None:
        return ""
    mark, cls = ("✓", "pass") if r.passed else ("✗", "fail")
    head = f"<p><strong>{mark} {html.escape(titles.get(label, label))}</strong> — {r.points:g} / {r.max_points:g} points</p>"
    lines = [o.message for o in r.outcomes if o.message and (not r.passed or o is r.outcomes[0])]
    body = _pre("\n".join(lines))
    return f'<div class="check {cls}">{head}{body}<p><small>checked with seed {r.seed}</small></p></div>'


def render_page(student: str, assignment: str, score: str, mode: str, graded: Graded | None,
                titles: dict[str, str], problem: str = "") -> str:
    """The whole feedback page (``student`` and ``problem`` are escaped here)."""
    parts = [f"<h1>{html.escape(assignment)}: feedback for {html.escape(student)}</h1>",
             f"<p>Score: <strong>{html.escape(score)}</strong>. Graded in mode: {html.escape(mode)}.</p>"]
    if problem:
        parts.append(_pre(problem, "error"))
    for step, outputs in (graded.steps if graded else []):
        if step.kind == "markdown":
            parts.append(markdown2html_mistune(step.source))
        elif step.kind == "code":
            who = "your cell" if step.origin == "student" else "given"
            parts.append(f"<p><small>{html.escape(who)} [{html.escape(step.label)}]</small></p>")
            parts.append(_pre(step.source) + "".join(_output(o) for o in outputs))
        elif step.kind == "check":
            parts.append(_check(step.label, graded, titles))
    if graded and graded.notes:
        parts.append("<h2>Notes</h2>" + _pre("\n".join(graded.notes)))
    return _HEAD.format(title=html.escape(f"{assignment} — {student}")) + sanitize("\n".join(parts)) + "\n</body></html>\n"
