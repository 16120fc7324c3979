"""Sliders whose values set from code stay where the code put them.

Why this module exists
----------------------
An ipywidgets ``FloatSlider`` is drawn in the browser by noUiSlider. When the kernel sets
``slider.value = v``, the browser moves the handle with noUiSlider's own arithmetic (value →
percentage → nearest step → value) and, if the value it ends up with differs from ``v`` by even
one unit in the last place, it sends that value back to the kernel as if the user had moved the
slider. The message is answered only after the kernel has finished the cells queued after it, so
under *Run All* a stale echo (say ``1.7999999999999998`` for a ``1.8`` set three cells earlier)
overwrites the value the notebook set last. With ``min=0.6, max=2, step=0.01`` noUiSlider
returns ``1.8`` as ``1.7999999999999998`` but ``0.8`` as ``0.8``: it depends on the value.

The cure is to only ever send values that noUiSlider maps onto themselves: :func:`on_grid`
reproduces its arithmetic (ipywidgets 8 ``FloatSliderView``: ``Spectrum.toStepping``,
``getStep``, ``fromStepping`` of noUiSlider 15 on a two-point range, in IEEE doubles, as the
browser computes them) and iterates to a fixed point. :meth:`flowkit.course.widgets.Explorer.update`
snaps every value with it. The browser tests check the result: after *Run All* every explorer's
kernel-side values equal the notebook's last ``update(...)``.

:func:`slider` also builds a ``FloatSlider`` that knows whether a change came from the browser
(``from_frontend``), so an explorer can coalesce a drag's burst of browser events into one
redraw of the latest value while changes made by code stay synchronous.

Example:
    >>> on_grid(1.8, 0.6, 2.0, 0.01)          # noUiSlider's value for 1.8 on this slider
    1.7999999999999998
    >>> on_grid(0.8, 0.6, 2.0, 0.01)          # 0.8 is already a fixed point
    0.8
    >>> on_grid(1.234, 0.6, 2.0, 0.01)        # snapped to the nearest step
    1.23
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["on_grid", "slider"]


def _js_round(x: float) -> int:
    """JavaScript's ``Math.round``: halves go up (towards +∞), unlike Python's ``round``."""
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def _nouislider(value: float, lo: float, hi: float, step: float) -> float:
    """The value noUiSlider shows after ``set(value)`` on the range ``[lo, hi]`` with ``step``."""
    if value >= hi:
        return hi
    span = hi - lo
    pct = 100 * (value + abs(lo) if lo < 0 else value - lo) / span  # toStepping
    n = 100 * step / span                                              # the step in percent
    pct = min(max(_js_round(pct / n) * n, 0.0), 100.0)               # getStep, then clamp
    if pct >= 100:
        return hi
    return ((pct * 1.0) * span) / 100 + lo                            # fromStepping


def on_grid(value: float, lo: float, hi: float, step: float, direction: int = 0) -> float:
    """``value`` moved onto the slider's grid *as the browser computes it* (a fixed point).

    Args:
        value: the wanted value (clipped to ``[lo, hi]``).
        lo, hi, step: the slider's ``min``, ``max`` and ``step``.
        direction: ``0`` the nearest grid value; ``+1`` the smallest grid value ≥ ``value``;
            ``-1`` the largest ≤ ``value`` (for constraints such as ``β > −α``).

    Returns:
        a float ``v`` with ``noUiSlider(v) == v``, so setting it from the kernel never makes
        the browser send a different value back.

    Raises:
        ValueError: for a non-finite value or a slider with ``step <= 0`` or ``hi <= lo``.

    Example:
        >>> on_grid(-0.506, -2.0, 2.0, 0.01)             # the nearest grid value
        -0.51
        >>> on_grid(-0.506, -2.0, 2.0, 0.01, direction=+1)   # the smallest grid value >= -0.506
        -0.5
        >>> on_grid(5.0, 0.6, 2.0, 0.01)                 # clipped to the slider's range
        2.0
    """
    if not (math.isfinite(value) and math.isfinite(lo) and math.isfinite(hi) and step > 0 and hi > lo):
        raise ValueError(f"on_grid: need a finite value and a slider with lo < hi, step > 0; "
                         f"got value={value!r}, lo={lo!r}, hi={hi!r}, step={step!r}")
    v = min(max(float(value), lo), hi)
    target = v
    for _ in range(20):
        w = _nouislider(v, lo, hi, step)
        if w == v:
            break
        v = w
    slack = 1e-9 * step  # a grid value within rounding of the target counts as on its side
    if direction > 0 and v < target - slack and v < hi:
        return on_grid(min(v + step, hi), lo, hi, step)
    if direction < 0 and v > target + slack and v > lo:
        return on_grid(max(v - step, lo), lo, hi, step)
    return v


_SLIDER_CLASS: Any = None


def _slider_class() -> Any:
    """A ``FloatSlider`` subclass with ``from_frontend``: True while a browser change is applied."""
    global _SLIDER_CLASS
    if _SLIDER_CLASS is None:
        import ipywidgets as W

        class FrontendAwareSlider(W.FloatSlider):
            from_frontend = False

            def set_state(self, sync_data: dict) -> None:  # called for changes sent by the browser
                self.from_frontend = True
                try:
                    super().set_state(sync_data)
                finally:
                    self.from_frontend = False

        _SLIDER_CLASS = FrontendAwareSlider
    return _SLIDER_CLASS


def slider(description: str, value: float, lo: float, hi: float, step: float = 0.01, *,
           width: str = "300px", readout_format: str = ".2f") -> Any:
    """A ``FloatSlider`` for an :class:`~flowkit.course.widgets.Explorer`, its value on the grid.

    ``continuous_update=True`` (the figure follows the handle while dragging); the explorer
    coalesces the browser's burst of drag events into redraws of the latest value.

    Example:
        >>> s = slider("tail δ", 1.8, 0.6, 2.0)
        >>> s.value, s.min, s.max, s.step, s.description
        (1.7999999999999998, 0.6, 2.0, 0.01, 'tail δ')
        >>> s.from_frontend                              # True only while a browser change is applied
        False
    """
    import ipywidgets as W

    cls = _slider_class()
    return cls(value=on_grid(value, lo, hi, step), min=lo, max=hi, step=step, description=description,
               continuous_update=True, readout_format=readout_format,
               style={"description_width": "70px"}, layout=W.Layout(width=width))
