"""The :class:`Explorer` object behind every live slider figure (its canvas: :mod:`.canvas`).

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
import time
from typing import Any, Callable, Iterator, Mapping

import torch

from .sliders import on_grid


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
