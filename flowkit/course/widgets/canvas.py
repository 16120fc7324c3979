"""The canvas an explorer draws on: ipympl in a Jupyter kernel (sending only changed pixels), Agg elsewhere.

Explorer figures live outside pyplot, so a notebook draws its static figures inline and its
explorers on interactive canvases. Importing ipympl switches pyplot's backend; :func:`import_ipympl`
gives the notebook its backend back.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

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
        _switch_back(previous)
    return nbagg


def _switch_back(backend: str) -> None:
    """Make ``backend`` pyplot's backend again; an inline one through IPython's own ``%matplotlib``.

    ``plt.switch_backend`` alone is not enough for the inline backend: switching to ipympl took
    IPython's PNG formatter away, so ``plt.show()`` would display only the figure's text repr.
    """
    shell = None
    if "inline" in backend:
        try:
            from IPython import get_ipython
            shell = get_ipython()
        except ImportError:  # pragma: no cover - ipympl without IPython
            shell = None
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")
    else:
        import matplotlib.pyplot as plt
        plt.switch_backend(backend)


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
