"""Every course notebook, run in a real browser: JupyterLab + headless Chromium (Playwright).

For each ``notebooks/*.ipynb`` (discovered at collection time) the module-scoped ``run``
fixture opens the notebook in JupyterLab, waits for the kernel to be idle, clears the outputs,
runs all cells (``runmenu:run-all``) and waits until the kernel is idle again and every
non-empty code cell has an execution count. The tests then check, on that live page:

* no cell shows an error output (tracebacks; stderr warnings and tqdm bars are fine) and every
  widget rendered;
* after Run All every explorer holds, in the kernel, the values of the notebook's last
  ``update(...)`` (snapped onto the slider's grid as the browser computes it), and its sliders
  show them — the browser sends back nothing that overwrites them;
* at 1280 × 800 with the file browser open no output area scrolls sideways; static figures are
  inline images, the only ipympl canvases are the explorers';
* no matplotlib (ipympl) figure is blank at the end (a final ``plt.close("all")`` empties them);
* every slider explorer's plot is stable while idle (two screenshots a moment apart are equal);
* moving a slider with the keyboard and by a mouse drag changes its readout and redraws the plot;
  the drag test prints how long the plot keeps changing after the mouse is released;
* key press → first changed pixel of the canvas, per explorer: printed (median, p90), a benchmark
  figure for ``benchmarks/README.md``, not a timed assertion;
* the browser console logged no errors (minus the documented benign ones, ``BENIGN_CONSOLE``).

Screenshots go to ``tests/browser/screenshots/`` (gitignored) for a person to look at:
``<notebook>__notebook_pNN.png`` (the whole notebook after Run All, in pages) and
``<notebook>__e<i>_{keyboard,drag}_{before,after}.png`` (explorer i around each slider move).

All tests are in this one module so ``pytest -n 2 --dist loadfile`` runs them on one worker:
one JupyterLab server and one Chromium for the whole run (see conftest.py).

Environment knobs:
  FLOWKIT_BROWSER_NOTEBOOKS  directory to take notebooks from instead of ``notebooks/``
  FLOWKIT_BROWSER_RUN_TIMEOUT  seconds for one notebook's Run All (default 300)
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import learner_view as lv
import pytest

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = float(os.environ.get("FLOWKIT_BROWSER_RUN_TIMEOUT", "300"))
OPEN_TIMEOUT_S = 120  # page load + kernel start
REDRAW_TIMEOUT_S = 20  # a slider move -> kernel recompute -> new PNG in the canvas
SETTLE_TIMEOUT_S = 20
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen; the file browser stays open
KEY_PRESSES = 10
DRAG_PX = 60
LATENCY_PRESSES = int(os.environ.get("FLOWKIT_BROWSER_LATENCY_PRESSES", "21"))

# Browser-console errors that say nothing about the course. Each entry: (regex, why benign).
# Keep this list short and justified; an unexplained console error fails the test.
BENIGN_CONSOLE: list[tuple[str, str]] = []

REPO = Path(__file__).resolve().parents[2]
# same directory as conftest.lab_server copies (not imported: `conftest` is no importable name)
NOTEBOOKS = Path(os.environ.get("FLOWKIT_BROWSER_NOTEBOOKS") or REPO / "notebooks")
NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def pytest_generate_tests(metafunc):  # module-level hook: applies to this module only
    if "notebook_name" in metafunc.fixturenames:
        # scope="module": pytest groups the tests by notebook, so each notebook is opened and
        # run once and all its tests share the live page.
        metafunc.parametrize("notebook_name", NOTEBOOK_NAMES, scope="module")


# ---------------------------------------------------------------------------------------------
# Page helpers
# ---------------------------------------------------------------------------------------------
_STATE_JS = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const status = (document.querySelector('#jp-main-statusbar') || {}).innerText || '';
  if (!panel) return {status, ready: false};
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')].map((cell, i) => {
    const src = cell.querySelector('.jp-InputArea-editor .cm-content');
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    return {index: i, code: src ? src.innerText.trim() : '', prompt: prompt ? prompt.innerText.trim() : ''};
  });
  // Error outputs. JupyterLab 4 renders an error (traceback) with the *stderr* mime type, so
  // the DOM alone cannot tell it from a harmless warning or a tqdm bar: ask the notebook model
  // for outputs of type "error" (window.jupyterapp is exposed by the lab_server fixture).
  const errors = [];
  const app = window.jupyterapp;
  const nb = app && app.shell.currentWidget && app.shell.currentWidget.content;
  if (nb && nb.widgets) {
    nb.widgets.forEach((cell, i) => {
      if (cell.model.type !== 'code') return;
      const outs = cell.model.outputs;
      for (let j = 0; j < outs.length; j++) {
        const o = outs.get(j);
        if (o.type !== 'error') continue;
        const e = o.toJSON();
        const tb = (e.traceback || []).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
        errors.push(`cell ${i} [${cell.model.executionCount}]: ${e.ename}: ${e.evalue}\n${tb.slice(-1500)}`);
      }
    });
  }
  // DOM: the error mime type (older JupyterLab), or a traceback rendered as stderr when the app
  // is not exposed.
  for (const e of panel.querySelectorAll('.jp-OutputArea-output')) {
    const mime = e.getAttribute('data-mime-type');
    const isError = !nb && (mime === 'application/vnd.jupyter.error' ||
        (mime === 'application/vnd.jupyter.stderr' && /Traceback \(most recent call last\)/.test(e.innerText)));
    if (isError) errors.push(`(rendered) ${e.innerText.slice(-1500)}`);
  }
  const widgetProblems = [...panel.querySelectorAll('.jp-OutputArea-output')]
      .map(e => e.innerText)
      .filter(t => /Error displaying widget|Loading widget\.\.\./.test(t))
      .map(t => t.slice(0, 300));
  return {status, ready: true, cells, errors, widgetProblems};
}"""

# Installed in every page (init script). An explorer = an ipywidgets VBox holding sliders and an
# ipympl canvas (flowkit.widgets). A figure is "blank" when its image canvas has one colour
# everywhere: not drawn yet, or closed (plt.close / explorer.close empties a live canvas).
_FIND_EXPLORERS_JS = r"""
window.__fkBlank = (canvasDiv) => {
  const c = canvasDiv && canvasDiv.querySelector('canvas');
  if (!c || !c.width || !c.height) return true;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let k = 4; k < d.length; k += 4) {
    if (d[k] !== d[0] || d[k + 1] !== d[1] || d[k + 2] !== d[2] || d[k + 3] !== d[3]) return false;
  }
  return true;
};
window.__fkFigures = () => [...document.querySelectorAll('.jp-NotebookPanel .jupyter-matplotlib')]
  .map((fig, i) => {
    const cell = fig.closest('.jp-CodeCell');
    const prompt = cell ? cell.querySelector('.jp-InputArea-prompt').innerText.trim() : '?';
    return {i, prompt, blank: window.__fkBlank(fig.querySelector('.jupyter-matplotlib-canvas-div'))};
  });
window.__fkExplorers = () => {
  const found = [];
  for (const fig of document.querySelectorAll('.jp-NotebookPanel .jupyter-matplotlib')) {
    const box = fig.parentElement && fig.parentElement.closest('.widget-vbox');
    const canvas = fig.querySelector('.jupyter-matplotlib-canvas-div');
    if (box && canvas && box.querySelector('.widget-slider')) found.push([box, canvas]);
  }
  return found;
};
// Most explorers on the page at any moment: a notebook may close its explorers itself
// (plt.close("all"), explorer.close()) before Run All ends; they still count as rendered.
window.__fkExplorersSeen = 0;
new MutationObserver(() => {
  window.__fkExplorersSeen = Math.max(window.__fkExplorersSeen, window.__fkExplorers().length);
}).observe(document, {childList: true, subtree: true});
"""

_TAG_EXPLORERS_JS = r"""() => {
  // the live ones: a closed explorer may leave its sliders and an empty canvas behind
  const found = window.__fkExplorers().filter(([box, canvas]) => !window.__fkBlank(canvas));
  found.forEach(([box, canvas], n) => {
    box.setAttribute('data-fk-explorer', String(n));
    canvas.setAttribute('data-fk-canvas', String(n));
  });
  return [found.length, Math.max(found.length, window.__fkExplorersSeen)];
}"""


def _status(page) -> str:
    """The kernel part of the status bar, e.g. 'Python 3 (ipykernel) | Idle'."""
    text = page.evaluate("() => (document.querySelector('#jp-main-statusbar') || {}).innerText || ''")
    m = re.search(r"[^\n]*\|\s*(Idle|Busy|Starting|Restarting|Dead|Unknown|Connecting|"
                  r"Disconnected|Initializing|Terminating|No Kernel)[^\n]*", text)
    return m.group(0).strip() if m else text.replace("\n", " ")


def _kernel_state(page) -> str:
    m = re.search(r"\|\s*(\w[\w ]*)$", _status(page))
    return m.group(1) if m else "?"


def _wait_kernel_idle(page, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while _kernel_state(page) != "Idle":
        state = _kernel_state(page)
        if state in ("Dead",):
            pytest.fail(f"{what}: kernel is {state} (status bar: {_status(page)!r})")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: kernel not idle after {timeout:.0f}s (status bar: {_status(page)!r})")
        time.sleep(0.25)


def _command(page, command: str, menu: tuple[str, str], wait: bool = True) -> None:
    """Run a JupyterLab command: via window.jupyterapp if exposed, else by menu clicks.

    ``wait=False`` does not wait for the command's promise (Run All's resolves only when the
    last cell finishes; the caller polls instead, with its own timeout).
    """
    if page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.commands)"):
        if wait:
            page.evaluate("c => window.jupyterapp.commands.execute(c)", command)
        else:
            page.evaluate("c => { window.jupyterapp.commands.execute(c); }", command)
        return
    top, item = menu
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(rf"^{top}$")).click()
    page.locator(".lm-Menu-item", has_text=item).first.click()


def _unexecuted(state: dict) -> list[str]:
    return [f"code cell {c['index']} {c['prompt']}" for c in state["cells"]
            if c["code"] and not re.fullmatch(r"\[\d+\]:", c["prompt"])]


def _png_pixels(png: bytes):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _changed_fraction(a: bytes, b: bytes) -> float:
    if a == b:
        return 0.0
    pa, pb = _png_pixels(a), _png_pixels(b)
    if pa.shape != pb.shape:
        return 1.0
    return float((pa != pb).any(axis=-1).mean())


def _wait_settled(locator, what: str, timeout: float = SETTLE_TIMEOUT_S, gap: float = 0.4) -> bytes:
    """Screenshot until two consecutive shots are equal; return the settled shot."""
    deadline = time.monotonic() + timeout
    prev = locator.screenshot(animations="disabled")
    while True:
        time.sleep(gap)
        cur = locator.screenshot(animations="disabled")
        if cur == prev:
            return cur
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: plot still changing after {timeout:.0f}s "
                        f"({_changed_fraction(prev, cur):.2%} of pixels between the last two shots)")
        prev = cur


def _wait_redrawn(locator, before: bytes, what: str) -> bytes:
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    while True:
        cur = locator.screenshot(animations="disabled")
        if cur != before and _changed_fraction(before, cur) > 0:
            return _wait_settled(locator, what)
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: the plot did not change within {REDRAW_TIMEOUT_S:.0f}s")
        time.sleep(0.2)


def _wait_readout_changed(readout, before: str, what: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        cur = readout.inner_text().strip()
        if cur != before:
            return cur
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: slider readout stayed at {before!r}")
        time.sleep(0.1)


def _notebook_screenshots(page, prefix: Path, tall: int = 4000, max_pages: int = 12) -> None:
    """The whole notebook as PNG pages ``<prefix>_p01.png``, ...: a tall viewport, scrolled."""
    scroller = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
    page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
    try:
        time.sleep(0.3)
        total, step = page.evaluate(f"() => {{ const s = {scroller}; return s ? [s.scrollHeight, s.clientHeight] : [0, 0]; }}")
        for k in range(max(1, min(max_pages, -(-total // max(step, 1))))):
            page.evaluate(f"y => {{ const s = {scroller}; if (s) s.scrollTop = y; }}", k * step)
            time.sleep(0.2)
            page.screenshot(path=f"{prefix}_p{k + 1:02d}.png", animations="disabled")
    finally:
        page.evaluate(f"() => {{ const s = {scroller}; if (s) s.scrollTop = 0; }}")
        page.set_viewport_size(VIEWPORT)
        time.sleep(0.3)


# ---------------------------------------------------------------------------------------------
# The executed notebook (one per notebook, shared by its tests)
# ---------------------------------------------------------------------------------------------
@dataclass
class NotebookRun:
    name: str
    page: object
    console_errors: list[str]
    state: dict
    run_s: float
    explorers: int  # live at the end of Run All (the ones the slider tests move)
    explorers_seen: int  # most rendered at any moment during Run All
    uses_explorers: bool
    shots: Path
    code_cells: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    def explorer(self, i: int):
        return self.page.locator(f'[data-fk-explorer="{i}"]')

    def canvas(self, i: int):
        return self.page.locator(f'[data-fk-canvas="{i}"]')

    def shot(self, label: str) -> Path:
        return self.shots / f"{self.stem}__{label}.png"


@pytest.fixture(scope="module")
def run(notebook_name, lab_server, browser, screenshot_dir):
    source = (lab_server.root / "notebooks" / notebook_name).read_text()
    uses_explorers = bool(re.search(r"\bwidgets\.\w+\(", source))

    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(_FIND_EXPLORERS_JS)
    context.add_init_script(lv.LATENCY_JS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console_errors: list[str] = []
    for old in screenshot_dir.glob(f"{Path(notebook_name).stem}__*.png"):  # from an earlier run
        old.unlink()

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            console_errors.append(f"console.error: {msg.text} [{loc.get('url', '')}:{loc.get('lineNumber', '')}]")

    page.on("console", on_console)
    page.on("pageerror", lambda err: console_errors.append(f"page error: {err}"))
    page.on("crash", lambda _: console_errors.append("page crashed"))

    marks = [("start", time.monotonic())]
    try:
        page.goto(lab_server.url(f"lab/tree/notebooks/{notebook_name}", reset=""))
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_TIMEOUT_S * 1000)
        _wait_kernel_idle(page, OPEN_TIMEOUT_S, f"{notebook_name}: opening")
        marks.append(("open", time.monotonic()))
        # the learner's layout: the file browser open next to the notebook
        page.evaluate("() => { try { window.jupyterapp.shell.activateById('filebrowser'); } catch (e) {} }")

        # Clear stale outputs/counts (so "every cell has a count" means *this* run), then Run All.
        _command(page, "notebook:clear-all-cell-outputs", ("Edit", "Clear Outputs of All Cells"))
        t0 = time.monotonic()
        _command(page, "runmenu:run-all", ("Run", "Run All Cells"), wait=False)

        # Done = kernel idle and every non-empty code cell numbered (or an error stopped the
        # run), twice in a row one poll apart (between two cells the kernel is briefly idle).
        deadline = t0 + RUN_TIMEOUT_S
        done_polls = 0
        while True:
            time.sleep(0.5)
            state = page.evaluate(_STATE_JS)
            idle = _kernel_state(page) == "Idle"
            if _kernel_state(page) == "Dead":
                pytest.fail(f"{notebook_name}: kernel died during Run All\n{lab_server.log_tail()}")
            finished = idle and state["ready"] and (not _unexecuted(state) or state["errors"])
            done_polls = done_polls + 1 if finished else 0
            if done_polls >= 3:
                break
            if time.monotonic() > deadline:
                pending = _unexecuted(state) if state["ready"] else ["notebook not shown"]
                page.screenshot(path=str(screenshot_dir / f"{Path(notebook_name).stem}__TIMEOUT.png"))
                pytest.fail(f"{notebook_name}: Run All not finished after {RUN_TIMEOUT_S:.0f}s; "
                            f"status {_status(page)!r}; not executed: {pending[:10]}")
        run_s = time.monotonic() - t0
        marks.append(("run", time.monotonic()))
        time.sleep(1.0)  # let widget views render
        state = page.evaluate(_STATE_JS)
        explorers, explorers_seen = page.evaluate(_TAG_EXPLORERS_JS)
        code_cells = ["".join(c["source"]) for c in json.loads(source)["cells"] if c["cell_type"] == "code"]
        result = NotebookRun(notebook_name, page, console_errors, state, run_s, explorers,
                             explorers_seen, uses_explorers, screenshot_dir, code_cells)
        marks.append(("render", time.monotonic()))
        _notebook_screenshots(page, screenshot_dir / f"{result.stem}__notebook")
        marks.append(("screenshots", time.monotonic()))
        result.notes.append(" ".join(f"{b[0]} {b[1] - a[1]:.1f}s" for a, b in zip(marks, marks[1:], strict=False)))
        yield result
    finally:
        context.close()
        lab_server.shutdown_kernels()


# ---------------------------------------------------------------------------------------------
# Tests (in this order for each notebook; the console test comes last to cover everything)
# ---------------------------------------------------------------------------------------------
def test_run_all_without_errors(run):
    state = run.state
    assert not state["errors"], (
        f"{run.name}: {len(state['errors'])} cell(s) show an error:\n\n" + "\n\n".join(state["errors"]))
    assert not _unexecuted(state), f"{run.name}: cells without an execution count: {_unexecuted(state)}"
    assert not state["widgetProblems"], f"{run.name}: widgets failed to render: {state['widgetProblems']}"
    if run.uses_explorers:
        assert run.explorers_seen > 0, (f"{run.name} creates slider explorers (flowkit.widgets) but "
                                        "no explorer (sliders + ipympl canvas) ever rendered")
    print(f"{run.name}: Run All took {run.run_s:.1f}s, {len(state['cells'])} code cells, "
          f"{run.explorers} explorer(s) live, {run.explorers_seen} seen; {'; '.join(run.notes)}")


def test_explorers_hold_the_last_update(run):
    """After Run All, each explorer's kernel-side values are those of the notebook's last
    ``update(...)``, on the slider's grid, and its sliders show them. (The browser answers a
    value off its grid with its own rounding after the kernel has moved on; that stale answer
    used to overwrite the last update: tail 1.8 instead of 0.8, T = 1.00 instead of 0.7.)"""
    if not run.uses_explorers:
        pytest.skip(f"{run.name} has no slider explorer")
    from flowkit.course.widgets import on_grid

    time.sleep(1.0)  # anything the browser sends back arrives now (the kernel is idle)
    _wait_kernel_idle(run.page, 60, f"{run.name}: before reading the explorers")
    found = lv.explorer_values(run.page)
    assert found, f"{run.name} creates explorers but none is a variable of the kernel's namespace"
    updates = lv.last_updates(run.code_cells, list(found))
    problems, lines = [], []
    for name, ex in found.items():
        for slider, value in ex["values"].items():
            lo, hi, step = ex["grid"][slider]
            if on_grid(value, lo, hi, step) != value:
                problems.append(f"{name}.{slider} = {value!r} is off the slider's grid (browser: {on_grid(value, lo, hi, step)!r})")
        if name not in updates:
            lines.append(f"{name}: no update() call, values {ex['values']}")
            continue
        wanted = lv.requested_values(run.page, updates[name])
        for slider, value in wanted.items():
            lo, hi, step = ex["grid"][slider]
            expected = on_grid(float(value), lo, hi, step)
            if ex["values"][slider] != expected:
                problems.append(f"{name}.{slider}: kernel holds {ex['values'][slider]!r}, the last "
                                f"{name}.update({updates[name]}) set {expected!r}")
        lines.append(f"{name}: last update({updates[name]}) → kernel {ex['values']}")
    # and the page shows them: every explorer slider's readout is its kernel value, formatted
    readouts = sorted(r for ex in found.values() for r in ex["readouts"].values())
    shown = sorted(t.replace("\u2212", "-") for t in run.page.evaluate(  # d3-format writes − (U+2212)
        "() => [...document.querySelectorAll('[data-fk-explorer] .widget-readout')].map(e => e.innerText.trim())"))
    if run.explorers == len(found) and shown != readouts:
        problems.append(f"slider readouts on the page {shown} differ from the kernel's values {readouts}")
    print(f"{run.name}: " + "; ".join(lines))
    assert not problems, f"{run.name}: explorers not where the code left them:\n" + "\n".join(problems)


def test_outputs_fit_and_static_figures_are_inline(run):
    """At 1280 × 800 with the file browser open nothing scrolls sideways; static figures are
    inline images (no ipympl "Figure N" widget); ipympl canvases belong to explorers only."""
    found = lv.horizontal_overflow(run.page)
    assert "error" not in found, found
    assert not found["overflowing"], (
        f"{run.name}: {len(found['overflowing'])} output(s) wider than the {found['width']} px output area "
        f"(ipympl keeps pixel sizes; keep explorers ≤ 820 px): {found['overflowing']}")
    figures = run.page.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel .jupyter-matplotlib')]
        .map(f => { const box = f.parentElement && f.parentElement.closest('.widget-vbox');
                    const cell = f.closest('.jp-CodeCell');
                    return {explorer: !!(box && box.querySelector('.widget-slider')),
                            prompt: cell ? cell.querySelector('.jp-InputArea-prompt').innerText.trim() : '?'}; })""")
    static = [f["prompt"] for f in figures if not f["explorer"]]
    assert not static, (f"{run.name}: static figures drawn as ipympl widgets in cells {static}; "
                        "use %matplotlib inline (explorers make their own canvases)")
    images = run.page.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel .jp-RenderedImage img')]
        .map(i => [i.naturalWidth, i.getBoundingClientRect().width])""")
    broken = [w for w in images if not w[0]]
    assert not broken, f"{run.name}: {len(broken)} inline image(s) did not load"
    print(f"{run.name}: output area {found['width']} px; {len(images)} inline figure(s), "
          f"{len(figures)} explorer canvas(es); widest inline image {max((w[1] for w in images), default=0):.0f} px")


def test_figures_are_drawn(run):
    """No ipympl figure is left blank after Run All (e.g. by a final plt.close("all"), which
    destroys every live figure of the notebook in JupyterLab, not just the last one)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:  # a figure shown by the last cells may still be drawing
        figures = run.page.evaluate("() => window.__fkFigures()")
        blank = [f"figure {f['i']} in cell {f['prompt']}" for f in figures if f["blank"]]
        if not blank or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not blank, (f"{run.name}: {len(blank)} of {len(figures)} matplotlib figure(s) are blank "
                       f"after Run All: {blank}. A cell calling plt.close('all') or "
                       "fig.canvas.close() / explorer.close() empties every live %matplotlib "
                       "widget figure it closes; close only what has to go, or nothing")


def _require_explorers(run) -> None:
    if run.explorers == 0 and run.explorers_seen > 0:
        pytest.skip(f"{run.name}: its {run.explorers_seen} explorer(s) rendered but the notebook "
                    "closed them before the end (plt.close / .close()), so none is left to move")
    if run.explorers == 0:
        pytest.skip(f"{run.name} has no slider explorer")


def test_idle_plots_are_stable(run):
    _require_explorers(run)
    run.page.mouse.move(0, 0)
    for i in range(run.explorers):
        canvas = run.canvas(i)
        first = _wait_settled(canvas, f"{run.name} explorer {i} (idle)")
        time.sleep(1.0)
        second = canvas.screenshot(animations="disabled")
        assert first == second, (f"{run.name} explorer {i}: idle plot changed by itself "
                                 f"({_changed_fraction(first, second):.2%} of pixels)")


def _pick_slider(run, i: int, nth: int):
    """The nth enabled slider of explorer i (wrapping), with its handle and readout."""
    sliders = run.explorer(i).locator(".widget-slider:not(.mod-disabled)")
    count = sliders.count()
    assert count > 0, f"{run.name} explorer {i}: no enabled slider"
    slider = sliders.nth(nth % count)
    handle = slider.locator(".noUi-handle")
    label = slider.locator(".widget-label").inner_text().strip()
    return slider, handle, slider.locator(".widget-readout"), label


def _room_to_the_right(handle) -> bool:
    now, lo, hi = (float(handle.get_attribute(a)) for a in
                   ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    return hi - now >= now - lo


def _check_slider_move(run, i: int, how: str, nth: int) -> None:
    page = run.page
    what = f"{run.name} explorer {i} ({how})"
    slider, handle, readout, label = _pick_slider(run, i, nth)
    what = f"{what}, slider {label!r}"
    slider.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    canvas = run.canvas(i)
    before = _wait_settled(canvas, what + " before")
    run.explorer(i).screenshot(path=str(run.shot(f"e{i}_{how}_before")), animations="disabled")
    value_before = readout.inner_text().strip()
    right = _room_to_the_right(handle)

    if how == "keyboard":
        handle.focus()
        for _ in range(KEY_PRESSES):
            handle.press("ArrowRight" if right else "ArrowLeft")
    else:
        box = handle.bounding_box()
        assert box, f"{what}: slider handle not visible"
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        canvas.evaluate("d => window.__fkArm(d)")
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + (DRAG_PX if right else -DRAG_PX), y, steps=10)
        page.mouse.up()
        t_up = page.evaluate("() => performance.now()")
        page.mouse.move(0, 0)

    if how == "drag":
        lv.settle(run.page, canvas, quiet_ms=400)
        run.notes.append(f"explorer {i} drag: last frame {lv.drag_settle_ms(run.page, t_up):.0f} ms after the mouse went up")
    value_after = _wait_readout_changed(readout, value_before, what)
    after = _wait_redrawn(canvas, before, what)
    run.explorer(i).screenshot(path=str(run.shot(f"e{i}_{how}_after")), animations="disabled")
    frac = _changed_fraction(before, after)
    assert frac > 0, f"{what}: readout {value_before} -> {value_after} but the plot did not change"
    print(f"{what}: {value_before} -> {value_after}, {frac:.1%} of plot pixels changed")


def test_slider_keyboard_moves_plot(run):
    _require_explorers(run)
    for i in range(run.explorers):
        _check_slider_move(run, i, "keyboard", nth=0)


def test_slider_mouse_drag_moves_plot(run):
    _require_explorers(run)
    for i in range(run.explorers):
        _check_slider_move(run, i, "drag", nth=1)
    _wait_kernel_idle(run.page, 60, f"{run.name}: after slider moves")


def test_slider_to_pixels_latency(run):
    """Key press → first changed pixel of the canvas, per explorer (a benchmark figure printed
    for benchmarks/README.md; the machine is shared, so no timed assertion)."""
    _require_explorers(run)
    rows = []
    names = lv.explorer_names_in_order(run.code_cells, list(lv.explorer_values(run.page)))
    for i in range(run.explorers):
        slider, handle, readout, label = _pick_slider(run, i, 0)
        slider.scroll_into_view_if_needed()
        run.page.mouse.move(0, 0)
        kernel_ms: list[float] = []
        name = names[i] if len(names) == run.explorers else None
        ms = lv.key_to_pixels_ms(run.page, run.canvas(i), handle, LATENCY_PRESSES, kernel_name=name,
                                 kernel_ms=kernel_ms)
        rows.append(f"{run.name} explorer {i} {name or ''} (slider {label!r}): key press → pixels {lv.summary(ms)}"
                    + (f"; in the kernel (compute + draw + send) {lv.summary(kernel_ms)}" if kernel_ms else ""))
        _LATENCIES.extend(ms)
        _KERNEL_MS.extend(kernel_ms)
    _wait_kernel_idle(run.page, 60, f"{run.name}: after the latency presses")
    print("\n".join(rows))
    print(f"all explorers so far: key press → pixels {lv.summary(_LATENCIES)}; kernel side {lv.summary(_KERNEL_MS)}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("; ".join(n for n in run.notes if "drag" in n))


_LATENCIES: list[float] = []
_KERNEL_MS: list[float] = []


def _benign(message: str) -> bool:
    return any(re.search(pattern, message) for pattern, _why in BENIGN_CONSOLE)


def test_browser_console_has_no_errors(run):
    errors = [m for m in run.console_errors if not _benign(m)]
    assert not errors, f"{run.name}: browser console errors:\n" + "\n".join(errors)
