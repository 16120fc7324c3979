"""Image grids for the digits notebooks: one mosaic function, one colour map, one way to draw.

Notebooks 04–06 all show batches of 8×8 digits. They use :func:`show_digits`, so every digit in
the course is drawn the same way: white strokes on black (``gray``: 0 = black, the top level =
white), tiles separated by light-blue gaps (``DIGITS_CMAP``'s "bad" colour for the NaN gaps).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["DIGITS_CMAP", "FIG_WIDTH", "digit_mosaic", "show_digits"]

# Figures keep their pixel size in JupyterLab; at 1280 px with the file browser open a notebook's
# output area is ~850 px wide, so course figures are at most 8.2 in wide at 100 dpi.
FIG_WIDTH = 8.2
_GAP_COLOUR = "#c9d6e8"


def _digits_cmap() -> Any:
    import matplotlib

    return matplotlib.colormaps["gray"].with_extremes(bad=_GAP_COLOUR)


DIGITS_CMAP = _digits_cmap()


def digit_mosaic(images: Any, ncol: int = 8, pad: int = 1) -> np.ndarray:
    """Tile a batch of square images into one 2-D array, ``ncol`` per row, gaps of NaN.

    Args:
        images: ``(N, 1, H, W)``, ``(N, H, W)`` or flattened ``(N, H·W)`` with ``H = W``
            (tensor or array; any dtype).
        ncol: tiles per row (the last row may be incomplete; its empty tiles are NaN).
        pad: gap in pixels between tiles.

    Returns:
        a float array of shape ``(nrow·(H + pad) − pad, ncol·(W + pad) − pad)``.

    Raises:
        ValueError: for images that are not square or ``ncol``/``pad`` out of range.

    Example:
        >>> import torch
        >>> digit_mosaic(torch.arange(2 * 64).reshape(2, 1, 8, 8), ncol=2).shape
        (8, 17)
    """
    arr = images.detach().cpu().double().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        side = math.isqrt(arr.shape[1])
        if side * side != arr.shape[1]:
            raise ValueError(f"digit_mosaic: flattened images need a square number of pixels, got {arr.shape[1]}")
        arr = arr.reshape(len(arr), side, side)
    if arr.ndim != 3:
        raise ValueError(f"digit_mosaic: images must be (N, 1, H, W), (N, H, W) or (N, H·W), got shape {arr.shape}")
    if isinstance(ncol, bool) or not isinstance(ncol, int) or ncol < 1:
        raise ValueError(f"digit_mosaic: ncol must be a positive int, got {ncol!r}")
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise ValueError(f"digit_mosaic: pad must be an int >= 0, got {pad!r}")
    n, h, w = arr.shape
    nrow = max(1, math.ceil(n / ncol))
    out = np.full((nrow * (h + pad) - pad, ncol * (w + pad) - pad), np.nan)
    for k in range(n):
        r, c = divmod(k, ncol)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = arr[k]
    return out


def show_digits(ax: Any, images: Any, title: str | None = None, *, ncol: int = 8, vmax: float = 16.0,
                xlabel: str | None = None) -> Any:
    """Draw a batch of digits as one mosaic on ``ax`` (``DIGITS_CMAP``, levels ``0..vmax``).

    ``vmax`` is the top intensity: 16 for the integer digits, 1 for images in ``[0, 1]``.
    Returns the ``AxesImage``.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt, torch
        >>> fig, ax = plt.subplots()
        >>> show_digits(ax, torch.zeros(4, 1, 8, 8), "blank", ncol=2).get_array().shape
        (17, 17)
        >>> plt.close(fig)
    """
    image = ax.imshow(digit_mosaic(images, ncol), cmap=DIGITS_CMAP, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=8)
    return image
