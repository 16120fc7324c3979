"""Box-and-arrow diagrams of a flow's stages (notebook 04's multi-scale architecture)."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["shape_str", "plot_stage_diagram"]

_BOX, _SPLIT_BOX, _OUT = "#E8F1FA", "#FDEBD3", "#D55E00"


def shape_str(shape: Sequence[int]) -> str:
    """``(4, 4, 4)`` → ``"4 × 4 × 4"``.

    Example:
        >>> shape_str((1, 8, 8))
        '1 × 8 × 8'
    """
    return " × ".join(map(str, shape))


def plot_stage_diagram(rows: Sequence[tuple[str, Sequence[int], Sequence[int] | None]], ax: Any = None,
                       title: str | None = None) -> Any:
    """Draw stages top to bottom: one box per ``(label, output shape, factored-out shape or None)``.

    A stage with a factored-out shape (a multi-scale split) gets a second arrow to the right,
    labelled ``εk`` in order; the last stage's output is the final latent.

    Returns:
        the Axes.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> ax = plot_stage_diagram([("data", (1, 4, 4), None), ("Split", (2, 2, 2), (2, 2, 2))])
        >>> len(ax.texts)   # 2 boxes, 2 arrows (annotations), the split's label, the final latent
        6
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8.2, 0.62 * len(rows) + 0.8))
    n_eps = 0
    for r, (what, shape, out) in enumerate(rows):
        ax.text(0, -r, f"{what}\n{shape_str(shape)}", ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round,pad=0.35", "fc": _BOX if out is None else _SPLIT_BOX, "ec": "0.4"})
        if r + 1 < len(rows):
            ax.annotate("", xy=(0, -r - 0.72), xytext=(0, -r - 0.28), arrowprops={"arrowstyle": "-|>", "color": "0.3"})
        if out is not None:
            ax.annotate("", xy=(0.78, -r), xytext=(0.5, -r), arrowprops={"arrowstyle": "-|>", "color": _OUT})
            ax.text(0.82, -r, f"factored out: ε{n_eps}, {shape_str(out)}\n→ latent, N(0, I) base", ha="left",
                    va="center", fontsize=8, color=_OUT)
            n_eps += 1
    if rows:
        ax.text(0, -len(rows) + 0.4, f"z_final, {shape_str(rows[-1][1])} → latent", ha="center", va="center",
                fontsize=8, color=_OUT)
    ax.set_xlim(-1.0, 1.8)
    ax.set_ylim(-len(rows) + 0.2, 0.6)
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.axis("off")
    return ax
