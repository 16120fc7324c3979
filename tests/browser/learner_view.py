"""What the learner sees, measured on the live JupyterLab page (helpers of the browser tests).

* :func:`horizontal_overflow` — output areas (and the notebook) that scroll sideways;
* :func:`kernel_expression` — evaluate an expression in the notebook's kernel (``user_expressions``
  of a silent execute request: nothing is printed, nothing enters the history);
* :func:`last_updates` — the last ``NAME.update(...)`` call of each explorer in the notebook's code;
* :func:`explorer_values` — every ``Explorer``'s slider values and grids, read in the kernel;
* :func:`key_to_pixels_ms` — milliseconds from a key press on a slider to the first changed pixel
  of its canvas (``LATENCY_JS``, installed as an init script, hooks ``drawImage``).
"""

from __future__ import annotations

import ast
import json
import re
import statistics
import time

LATENCY_JS = r"""
(() => {
  // Latency probe: arm(canvas) keeps the canvas's pixels; the first keydown after it stamps t0;
  // the first drawImage on that canvas that changes a pixel stamps t1 (ipympl paints every frame
  // with drawImage). lastDraw: the time of the latest drawImage on the canvas (drag settling).
  const probe = {canvas: null, ref: null, t0: null, t1: null, lastDraw: null};
  window.__fkProbe = probe;
  const pixels = (c) => new Uint32Array(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.buffer.slice(0));
  window.__fkArm = (canvasDiv) => {
    const c = canvasDiv.querySelector('canvas');
    probe.canvas = c; probe.ref = pixels(c); probe.t0 = null; probe.t1 = null; probe.lastDraw = null;
  };
  document.addEventListener('keydown', () => {
    if (probe.canvas && probe.t0 === null) probe.t0 = performance.now();
  }, {capture: true});
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const out = draw.apply(this, args);
    if (probe.canvas && this.canvas === probe.canvas) {
      const now = performance.now();
      probe.lastDraw = now;
      if (probe.t0 !== null && probe.t1 === null) {
        const cur = pixels(this.canvas);
        if (cur.length !== probe.ref.length) { probe.t1 = now; }
        else { for (let i = 0; i < cur.length; i++) { if (cur[i] !== probe.ref[i]) { probe.t1 = now; break; } } }
      }
    }
    return out;
  };
})();
"""

_OVERFLOW_JS = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return {error: 'no notebook panel'};
  const out = [];
  const outer = panel.querySelector('.jp-WindowedPanel-outer');
  if (outer && outer.scrollWidth > outer.clientWidth + 1)
    out.push({where: 'notebook', scroll: outer.scrollWidth, client: outer.clientWidth});
  const width = (panel.querySelector('.jp-OutputArea-output') || {}).clientWidth || 0;
  panel.querySelectorAll('.jp-OutputArea-output').forEach((el) => {
    const cell = el.closest('.jp-CodeCell');
    const prompt = cell ? (cell.querySelector('.jp-InputArea-prompt') || {}).innerText : '?';
    const box = el.getBoundingClientRect();
    // scrolling inside the output, or content (figures, canvases) sticking out of it
    let widest = el.scrollWidth;
    el.querySelectorAll('canvas, img, svg, table').forEach((c) => {
      const r = c.getBoundingClientRect();
      if (r.width > 0) widest = Math.max(widest, Math.ceil(r.right - box.left));
    });
    if (widest > el.clientWidth + 1)
      out.push({where: `cell ${prompt}`, scroll: widest, client: el.clientWidth,
                what: el.getAttribute('data-mime-type') || el.className});
  });
  return {width, overflowing: out};
}"""


def horizontal_overflow(page) -> dict:
    """``{"width": output-area width px, "overflowing": [...]}`` for the notebook on screen."""
    return page.evaluate(_OVERFLOW_JS)


_EXPR_JS = r"""async (expr) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: '', silent: true, store_history: false,
                                        user_expressions: {r: expr}});
  const reply = await future.done;
  return reply.content.user_expressions.r;
}"""


def kernel_expression(page, expr: str):
    """The value of ``expr`` (which must evaluate to a JSON string) in the notebook's kernel."""
    r = page.evaluate(_EXPR_JS, expr)
    if r.get("status") != "ok":
        raise AssertionError(f"kernel could not evaluate {expr[:120]!r}: {r.get('ename')}: {r.get('evalue')}")
    return json.loads(ast.literal_eval(r["data"]["text/plain"]))


def kernel_times(page, name: str) -> tuple[float, float]:
    """``(update_ms, render_ms)`` of the explorer in kernel variable ``name`` (its last refresh)."""
    return tuple(kernel_expression(page, f"__import__('json').dumps([{name}.state.get('update_ms', 0), "
                                         f"{name}.state.get('render_ms', 0)])"))


_VALUES_EXPR = (
    "__import__('json').dumps({k: {'values': v.values, 'grid': {n: [s.min, s.max, s.step] "
    "for n, s in v.sliders.items()}, 'readouts': {n: format(s.value, s.readout_format) "
    "for n, s in v.sliders.items()}} for k, v in list(globals().items()) "
    "if type(v).__name__ == 'Explorer' and not k.startswith('_')})"
)


def explorer_values(page) -> dict:
    """``{variable: {"values": …, "grid": {slider: [min, max, step]}, "readouts": …}}`` in the kernel."""
    return kernel_expression(page, _VALUES_EXPR)


def _call_arguments(source: str, start: int) -> str | None:
    """The text between the parenthesis at ``start`` and its partner (strings respected)."""
    depth, i, quote = 0, start, None
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return source[start + 1:i]
        i += 1
    return None


def last_updates(code_cells: list[str], names: list[str]) -> dict[str, str]:
    """For each explorer variable, the argument text of its last ``NAME.update(...)`` in the code."""
    found: dict[str, str] = {}
    for src in code_cells:
        for name in names:
            for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\.update\(", src):
                args = _call_arguments(src, m.end() - 1)
                if args is not None:
                    found[name] = args
    return found


def explorer_names_in_order(code_cells: list[str], names: list[str]) -> list[str]:
    """Explorer variables in the order the notebook first assigns them (= their order on the page)."""
    first = {}
    for k, src in enumerate(code_cells):
        for name in names:
            if name not in first and re.search(rf"^{re.escape(name)}\s*=", src, re.M):
                first[name] = k
    return sorted(first, key=first.get)


def requested_values(page, args: str) -> dict:
    """Evaluate ``dict(<args>)`` in the kernel (the values a notebook's update call asked for)."""
    return kernel_expression(page, f"__import__('json').dumps(dict({args}))")


def key_to_pixels_ms(page, canvas_div, handle, presses: int, timeout_s: float = 10.0,
                     kernel_name: str | None = None, kernel_ms: list | None = None) -> list[float]:
    """Press ArrowRight/ArrowLeft alternately on ``handle``; per press, ms from keydown to the
    first changed pixel of the canvas in ``canvas_div`` (waits for the canvas to settle between).
    With ``kernel_name``, appends the explorer's kernel-side (compute + render) ms to ``kernel_ms``."""
    out = []
    handle.focus()
    for k in range(presses):
        settle(page, canvas_div)
        canvas_div.evaluate("d => window.__fkArm(d)")
        handle.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
        deadline = time.monotonic() + timeout_s
        while True:
            t0, t1 = page.evaluate("() => [window.__fkProbe.t0, window.__fkProbe.t1]")
            if t0 is not None and t1 is not None:
                out.append(t1 - t0)
                if kernel_name is not None and kernel_ms is not None:
                    settle(page, canvas_div)
                    kernel_ms.append(sum(kernel_times(page, kernel_name)))
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"press {k}: the canvas did not change within {timeout_s:.0f}s")
            time.sleep(0.02)
    return out


def drag_settle_ms(page, t_up: float) -> float:
    """ms from ``t_up`` (page clock) to the canvas's last frame (0 if none came after it)."""
    last = page.evaluate("() => window.__fkProbe.lastDraw")
    return max(0.0, (last or t_up) - t_up)


def settle(page, canvas_div, quiet_ms: float = 250, timeout_s: float = 20.0) -> float:
    """Wait until the canvas has not been drawn for ``quiet_ms`` (arming the probe on it if it
    watches another canvas); returns ms since its last draw."""
    deadline = time.monotonic() + timeout_s
    canvas_div.evaluate("d => { if (window.__fkProbe.canvas !== d.querySelector('canvas')) window.__fkArm(d); }")
    while True:
        since = page.evaluate("() => window.__fkProbe.lastDraw === null ? 1e9 : performance.now() - window.__fkProbe.lastDraw")
        if since >= quiet_ms or time.monotonic() > deadline:
            return since
        time.sleep(0.05)


def summary(ms: list[float]) -> str:
    if not ms:
        return "no presses"
    s = sorted(ms)
    p90 = s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]
    return f"median {statistics.median(s):.0f} ms, p90 {p90:.0f} ms, min {s[0]:.0f}, max {s[-1]:.0f} (n = {len(s)})"
