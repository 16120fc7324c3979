"""The :class:`Explorer` object behind every live slider figure, and the figure it draws on.

Rendering (measured in ``benchmarks/widget_latency.py``): a full Agg draw of a two-panel explorer
costs ~100 ms, almost all of it in the static parts (axes, ticks, labels, titles); the numbers an
update changes (a density raster, a scatter, a few texts) cost a few ms to draw. So an explorer
draws its changing artists *animated*: a full draw paints the static background, which is kept
(``draw_event``), and every update restores it, draws only the changing artists and sends the
difference (``canvas.blit``; ipympl ships the changed pixels as a PNG). A change of axis limits
falls back to a full draw.

A drag sends a burst of values. Changes that come from the browser (``from_frontend`` sliders of
:func:`~flowkit.course.widgets.slider`) redraw at most once per ``min_interval_s``; the rest are
coalesced into one redraw of the latest value on the kernel's event loop, so no queue of stale
frames builds up. Changes made by code (``update``, ``slider.value = …``) redraw at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch

from .sliders import on_grid

_FIGURE_NUMBERS = itertools.count(1000)


def figure(ncols: int = 1, figsize: tuple[float, float] = (8.0, 3.4), *,
           width_ratios: Sequence[float] | None = None, dpi: int = 100) -> tuple[Any, list[Any]]:
    """A figure for an explorer, outside pyplot: an ipympl canvas in a kernel, else Agg.

    The notebooks draw their static figures inline (``%matplotlib inline``); only explorers are
    interactive. Keep ``figsize[0] * dpi`` ≤ 820 px: ipympl keeps pixel sizes, and a notebook's
    output area is ~850 px wide at 1280 px with JupyterLab's file browser open.

    Returns:
        ``(fig, axes)`` with ``axes`` a list of ``ncols`` Axes in one row.

    Example:
        >>> fig, (ax1, ax2) = figure(2, (8.0, 3.4))
        >>> fig.canvas.get_width_height()
        (800, 340)
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    canvas = _ipympl_canvas(fig)
    if canvas is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False, width_ratios=width_ratios)
    return fig, list(axes[0])


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on ``threads`` torch threads, then give the process its own count back.

    An explorer's update is ~100 tiny tensor ops on a 40 000-point grid; with several threads each
    op pays thread wake-ups that cost more than its arithmetic (``benchmarks/README.md``). The
    setting is process-wide in torch, so it is changed only for the update: a training cell
    after an explorer keeps the notebook's thread count. ``None`` leaves the count alone.

    Example:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def diff_png(buff: Any, last: Any, compress_level: int = 1) -> bytes:
    """A frame as ipympl sends it: the pixels of ``buff`` that differ from ``last`` (others 0), as PNG.

    ``buff`` and ``last`` are the canvas's RGBA buffers viewed as ``uint32`` arrays of equal shape
    (pass ``last=None`` for a full frame). ``compress_level`` is zlib's (matplotlib uses PIL's
    default, 6; an explorer's frame is mostly zeros, and level 1 takes about half the time).
    """
    import io

    import numpy as np
    from PIL import Image

    output = buff if last is None else np.where(buff != last, buff, 0)
    with io.BytesIO() as png:
        Image.fromarray(output.view(np.uint8).reshape((*output.shape, 4))).save(
            png, format="png", compress_level=compress_level)
        return png.getvalue()


_CANVAS_CLASS: Any = None


def import_ipympl() -> Any:
    """``ipympl.backend_nbagg``, imported without changing pyplot's backend.

    Importing the ``ipympl`` package switches matplotlib to ipympl (``matplotlib.use``), which
    would turn every later static figure of a ``%matplotlib inline`` notebook into a widget. The
    previous backend is restored at once (``plt.switch_backend`` closes open figures, so this
    is called early: by :func:`flowkit.course.setup` and before the first explorer).

    Raises:
        ImportError: when ipympl is not installed.
    """
    import matplotlib

    previous = matplotlib.get_backend()
    import ipympl.backend_nbagg as nbagg

    if matplotlib.get_backend() != previous:
        import matplotlib.pyplot as plt
        plt.switch_backend(previous)
    return nbagg


def _fast_canvas_class() -> Any:
    """ipympl's ``Canvas``, sending its frames through :func:`diff_png` at zlib level 1."""
    global _CANVAS_CLASS
    if _CANVAS_CLASS is None:
        import numpy as np
        Canvas = import_ipympl().Canvas

        class FastPngCanvas(Canvas):
            def get_diff_image(self) -> bytes | None:  # FigureCanvasWebAggCore's, at compress level 1
                if not self._png_is_old:
                    return None
                pixels = np.asarray(self.get_renderer().buffer_rgba())
                buff = pixels.view(np.uint32).squeeze(2)
                full = self._force_full or buff.shape != self._last_buff.shape or (pixels[:, :, 3] != 255).any()
                self.set_image_mode("full" if full else "diff")
                frame = diff_png(buff, None if full else self._last_buff)
                self._last_buff = buff.copy()
                self._force_full = False
                self._png_is_old = False
                return frame

        _CANVAS_CLASS = FastPngCanvas
    return _CANVAS_CLASS


def _ipympl_canvas(fig: Any) -> Any:
    """An ipympl canvas (a widget) for ``fig`` when running in a Jupyter kernel, else ``None``."""
    try:
        from IPython import get_ipython
        if getattr(get_ipython(), "kernel", None) is None:
            return None
        FigureManager = import_ipympl().FigureManager
        canvas = _fast_canvas_class()(fig)
    except ImportError:
        return None
    FigureManager(canvas, next(_FIGURE_NUMBERS))
    for attr, value in (("header_visible", False), ("footer_visible", False), ("toolbar_visible", False),
                        ("resizable", False), ("capture_scroll", False)):
        setattr(canvas, attr, value)
    return canvas


def _layout(sliders: Mapping[str, Any], readout: Any, fig: Any) -> Any:
    import ipywidgets as W
    controls = W.Box(list(sliders.values()), layout=W.Layout(flex_flow="row wrap"))
    if isinstance(fig.canvas, W.DOMWidget):  # ipympl: the canvas is itself a widget
        return W.VBox([controls, readout, fig.canvas])
    return W.VBox([controls, readout])


def _readout_widget() -> Any:
    import ipywidgets as W
    return W.HTML(layout=W.Layout(min_height="1.6em", margin="0 0 0 8px"))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Explorer:
    """A figure whose artists follow a set of sliders.

    Attributes:
        name: the explorer's name (used in messages).
        fig: the matplotlib Figure (built once, updated in place).
        sliders: ``name → ipywidgets.FloatSlider``.
        artists: ``name → matplotlib artist`` updated in place by every refresh (drawn animated).
        state: the latest computed numbers (``integral``, ``det``, ``logdet``, …) plus
            ``values`` (the slider values used), ``update_ms`` (compute + artist updates) and
            ``render_ms`` (drawing and, under ipympl, encoding and sending the frame). A ``"readout"`` entry (HTML) is shown in :attr:`readout`, a line under the sliders:
            numbers that change with every update are cheaper there than as figure text, which
            Agg lays out and rasterises anew for every frame (~3 ms a line).
        readout: an ``ipywidgets.HTML`` showing ``state["readout"]``.
        widget: the ipywidgets container to display — sliders, readout and ``fig.canvas`` when
            the canvas is an ipympl widget, otherwise sliders and readout.
        renders: counts of ``"blit"`` and ``"full"`` redraws requested so far.
        threads: torch threads for an update (:func:`torch_threads`; the process's own count is
            restored after it), or ``None`` for the process's count.
    """

    def __init__(self, name: str, fig: Any, sliders: Mapping[str, Any], artists: Mapping[str, Any],
                 compute: Callable[[dict[str, float]], dict[str, Any]],
                 constrain: Callable[[dict[str, float]], dict[str, float]] | None = None, *,
                 min_interval_s: float = 0.04, threads: int | None = 1) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"{name}: threads must be a positive int or None, got {threads!r}")
        self.name = name
        self.threads = threads
        self.fig = fig
        self.sliders: dict[str, Any] = dict(sliders)
        self.artists: dict[str, Any] = dict(artists)
        self.state: dict[str, Any] = {}
        self.renders = {"blit": 0, "full": 0}
        self.min_interval_s = float(min_interval_s)
        self._compute = compute
        self._constrain = constrain
        self._holding = 0
        self._background: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_render = -float("inf")
        for artist in self.artists.values():
            artist.set_animated(True)
        self._draw_cid = fig.canvas.mpl_connect("draw_event", self._on_draw)
        with self._hold():  # values already on the slider's grid, as the browser will show them
            for s in self.sliders.values():
                s.value = self._snap(s, s.value)
        for s in self.sliders.values():
            s.observe(self._on_change, names="value")
        self.readout = _readout_widget()
        self.widget = _layout(self.sliders, self.readout, fig)
        self.refresh()

    # -- values -------------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """Current slider values."""
        return {k: float(s.value) for k, s in self.sliders.items()}

    @staticmethod
    def _snap(slider: Any, value: float, direction: int = 0) -> float:
        return on_grid(float(value), float(slider.min), float(slider.max), float(slider.step), direction)

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        """Set several sliders without one refresh per slider."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1

    def _on_change(self, change: Any) -> None:
        if self._holding:
            return
        if getattr(change.get("owner"), "from_frontend", False):
            self._schedule()
        else:
            self.refresh()

    def _schedule(self) -> None:
        """Redraw now, or once ``min_interval_s`` after the last redraw (the latest values)."""
        if self._timer is not None:
            return  # a redraw of the latest values is already due
        wait = self._last_render + self.min_interval_s - time.perf_counter()
        loop = _running_loop()
        if wait <= 0 or loop is None:
            self.refresh()
            return
        self._timer = loop.call_later(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        self.refresh()

    def update(self, **values: float) -> dict[str, Any]:
        """Set slider values and redraw once.

        Each value is clipped to its slider's range and moved onto the slider's grid as the
        browser computes it (:func:`~flowkit.course.widgets.sliders.on_grid`), so the browser
        never sends back a different value that would overwrite a later one.

        Raises:
            ValueError: for a name that is not one of this explorer's sliders.
        """
        unknown = sorted(set(values) - set(self.sliders))
        if unknown:
            raise ValueError(f"{self.name}: unknown slider name(s) {unknown}; "
                             f"valid names are {list(self.sliders)}")
        with self._hold():
            for k, v in values.items():
                self.sliders[k].value = self._snap(self.sliders[k], v)
        return self.refresh()

    def refresh(self) -> dict[str, Any]:
        """Recompute from the current slider values, update the artists in place, redraw."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        t0 = time.perf_counter()
        values = self.values
        if self._constrain is not None:
            fixed = self._constrain(values)
            if fixed:
                with self._hold():  # show the value actually used on the slider, without recursing
                    for k, (v, direction) in fixed.items():
                        self.sliders[k].value = self._snap(self.sliders[k], v, direction)
                values.update({k: float(self.sliders[k].value) for k in fixed})
        limits = [(ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes]
        with torch.no_grad(), torch_threads(self.threads):
            state = self._compute(values)
        state["values"] = values
        state["update_ms"] = 1e3 * (time.perf_counter() - t0)
        self.state = state
        if "readout" in state and self.readout.value != state["readout"]:
            self.readout.value = state["readout"]
        t1 = time.perf_counter()
        self._redraw(full=limits != [(ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes])
        self._last_render = time.perf_counter()
        state["render_ms"] = 1e3 * (self._last_render - t1)
        return state

    # -- drawing --------------------------------------------------------------------------------
    def _on_draw(self, event: Any) -> None:
        """After a full draw: keep the static background, then draw the changing artists."""
        canvas = self.fig.canvas
        try:
            if event.renderer is canvas.get_renderer():
                self._background = canvas.copy_from_bbox(self.fig.bbox)
        except AttributeError:  # a canvas without pixel buffers (e.g. a vector backend)
            self._background = None
        for artist in self.artists.values():
            if artist.get_visible() and artist.figure is self.fig:
                artist.draw(event.renderer)

    def _redraw(self, full: bool) -> None:
        canvas = self.fig.canvas
        if full or self._background is None:
            self.renders["full"] += 1
            canvas.draw_idle()
            return
        self.renders["blit"] += 1
        canvas.restore_region(self._background)
        for artist in self.artists.values():
            if artist.get_visible():
                self.fig.draw_artist(artist)
        canvas.blit(self.fig.bbox)

    # -- display --------------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def close(self) -> None:
        """Stop following the sliders and close them and the canvas (blanks a displayed figure)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.fig.canvas.mpl_disconnect(self._draw_cid)
        for s in self.sliders.values():
            s.unobserve(self._on_change, names="value")
            s.close()
        self.readout.close()
        close_canvas = getattr(self.fig.canvas, "close", None)
        if callable(close_canvas):
            close_canvas()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.3g}" for k, v in self.values.items())
        return f"<Explorer {self.name}: {vals}>"
