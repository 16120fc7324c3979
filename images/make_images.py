#!/usr/bin/env python
"""Regenerate the five README pictures under ``images/``.

    python images/make_images.py                 # writes images/*.svg
    python images/make_images.py --out DIR       # writes DIR/*.svg instead
    python images/make_images.py --png DIR       # also a PNG copy of each figure in DIR
    python images/make_images.py --fast          # fewer training steps (for tests)

Three pictures (``flow_hero``, ``likelihood_landscape``, ``flow_transform``) are computed
with a real flowkit flow: eight affine coupling layers trained by maximum likelihood on
``flowkit.data.two_moons``. The other two (``flow_journey``, ``flow_family_tree``) are
diagrams. Everything is seeded and the SVGs are written deterministically (fixed
``svg.hashsalt``, no date), so rerunning the script on the same machine and package
versions reproduces the same files.

Style: every picture sits on a rounded light "card", so it reads on both GitHub's light
and dark themes; categories use the Okabe–Ito palette and densities viridis (both
colour-blind safe); text stays text (``svg.fonttype = 'none'``, DejaVu Sans first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flowkit as fk  # noqa: E402

# ---------------------------------------------------------------------------------------
# style
# ---------------------------------------------------------------------------------------
CARD = "#f7f8fa"        # light card behind everything (reads on white and on dark pages)
CARD_EDGE = "#d3d8df"
PANEL = "#ffffff"
INK = "#1d2330"         # main text
MUTED = "#566072"       # secondary text, arrows
FAINT = "#c9ced6"       # grid lines, paths

# Okabe & Ito (2008), colour-blind safe categorical palette.
OI = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}

STYLE = {
    "svg.fonttype": "none",              # keep text as <text> (searchable, small)
    "svg.hashsalt": "flowkit-images",    # deterministic ids
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica"],
    "font.size": 11,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": CARD_EDGE,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.unicode_minus": True,
    "image.interpolation": "nearest",
    # Unhinted glyph metrics: hinting changes text widths by up to ±5 % depending on the
    # dpi, while browsers lay out the SVG text with the unhinted advance widths.
    "text.hinting": "no_hinting",
}

SVG_DPI = 150   # resolution of the rasterized parts (scatter clouds, heat maps) inside the SVGs
PNG_DPI = 110


def tint(color: str, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with white (``amount`` = share of the colour), as an opaque RGB."""
    rgb = np.array(matplotlib.colors.to_rgb(color))
    return tuple(amount * rgb + (1 - amount) * np.ones(3))


def text_on(color: str) -> str:
    """Black or white, whichever reads better on ``color``."""
    r, g, b = matplotlib.colors.to_rgb(color)
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return INK if lum > 0.45 else "#ffffff"


def new_canvas(width: float, height: float):
    """A figure with a full-size, invisible 'canvas' axes in inches and a rounded card."""
    fig = plt.figure(figsize=(width, height))
    fig.patch.set_facecolor("none")
    ax = fig.add_axes((0, 0, 1, 1), zorder=-10)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    card = FancyBboxPatch((0.03, 0.03), width - 0.06, height - 0.06,
                          boxstyle="round,pad=0,rounding_size=0.18",
                          facecolor=CARD, edgecolor=CARD_EDGE, lw=1.0, zorder=-10)
    ax.add_patch(card)
    fig._flowkit_card = card  # type: ignore[attr-defined]
    fig._flowkit_pairs = []   # type: ignore[attr-defined]
    return fig, ax


def check_layout(fig, name: str, slack: float = 2.0) -> None:
    """Fail loudly if a text leaves the card, overlaps another text, or leaves its box.

    Extents are measured with the font matplotlib uses (DejaVu Sans, unhinted); each text
    gets an extra 2 % of its width on both sides, for viewers that substitute a slightly
    wider font. ``slack`` is in pixels at the figure dpi.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    card = fig._flowkit_card.get_window_extent(renderer)
    problems = []
    def extent(t):
        bb = t.get_window_extent(renderer)
        return bb.expanded(1.04, 1.0)

    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        bb = extent(t)
        if (bb.x0 < card.x0 + slack or bb.x1 > card.x1 - slack
                or bb.y0 < card.y0 + slack or bb.y1 > card.y1 - slack):
            problems.append(f"text {t.get_text()!r} leaves the card: {bb.bounds} vs {card.bounds}")
    boxes = [(t, extent(t)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    for i, (ta, ba) in enumerate(boxes):
        for tb, bb in boxes[i + 1:]:
            w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
            h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
            if w > slack and h > slack:
                problems.append(f"texts {ta.get_text()!r} and {tb.get_text()!r} overlap")
    for t, box in fig._flowkit_pairs:
        bb = extent(t)
        bx = box.get_window_extent(renderer)
        if bb.x0 < bx.x0 + slack or bb.x1 > bx.x1 - slack or bb.y0 < bx.y0 or bb.y1 > bx.y1:
            problems.append(f"text {t.get_text()!r} leaves its box: {bb.bounds} vs {bx.bounds}")
    if problems:
        raise AssertionError(f"{name}: layout problems:\n  " + "\n  ".join(problems))


def save(fig, name: str, out: Path, png: Path | None) -> Path:
    check_layout(fig, name)
    path = out / f"{name}.svg"
    fig.savefig(path, format="svg", dpi=SVG_DPI, facecolor="none",
                bbox_inches="tight", pad_inches=0.02, metadata={"Date": None})
    if png is not None:
        fig.savefig(png / f"{name}.png", dpi=PNG_DPI, facecolor="none",
                    bbox_inches="tight", pad_inches=0.02)
    plt.close(fig)
    return path


def boxed_text(ax, fig, x, y, w, h, lines, *, face, edge, lw=1.2, rounding=0.12, zorder=3):
    """A rounded box centred at (x, y) with lines [(text, kwargs), ...] stacked inside."""
    box = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                         boxstyle=f"round,pad=0,rounding_size={rounding}",
                         facecolor=face, edgecolor=edge, lw=lw, zorder=zorder)
    ax.add_patch(box)
    n = len(lines)
    step = h / (n + 0.6)
    for i, (s, kw) in enumerate(lines):
        yy = y + h / 2 - step * (i + 0.8)
        t = ax.text(x, yy, s, ha="center", va="center", zorder=zorder + 1, **kw)
        fig._flowkit_pairs.append((t, box))
    return box


def arrow(ax, a, b, *, color=MUTED, lw=1.4, rad=0.0, style="-|>", ls="-", patchA=None, patchB=None,
          shrink=4.0, mutation=12, zorder=2):
    p = FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=mutation, color=color, lw=lw,
                        linestyle=ls, connectionstyle=f"arc3,rad={rad}", patchA=patchA,
                        patchB=patchB, shrinkA=shrink, shrinkB=shrink, zorder=zorder)
    ax.add_patch(p)
    return p


# ---------------------------------------------------------------------------------------
# the trained flow
# ---------------------------------------------------------------------------------------
N_LAYERS = 8


def train_flow(steps: int):
    """Eight affine couplings on two moons, trained by maximum likelihood.

    The masks alternate (first / second coordinate fixed) instead of a ``Reverse`` between
    layers: the same family of maps, but every intermediate value stays in the same
    coordinate frame, so the layer-by-layer pictures show a continuous deformation rather
    than reflections across the diagonal.
    """
    torch.manual_seed(0)
    layers = [fk.AffineCoupling(2, mask=fk.split_mask(2, flip=bool(i % 2)), hidden=(64, 64))
              for i in range(N_LAYERS)]
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(2))
    data = fk.data.two_moons(4000, seed=0)
    hist = fk.fit(flow, data, steps=steps, seed=0, lr=2e-3, progress=False)
    flow.eval()
    return flow, data, hist


@torch.no_grad()
def base_samples(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g)


@torch.no_grad()
def steps_of(flow, z: torch.Tensor) -> list[np.ndarray]:
    return [s.numpy() for s in flow.transform.forward_steps(z)]


def window(points: np.ndarray, min_half: float, q: float = 0.002, margin: float = 1.08):
    """A square window (x-range, y-range) that holds all but a ``q`` tail of ``points``."""
    lo, hi = np.quantile(points, [q, 1 - q], axis=0)
    c = (lo + hi) / 2
    half = max(min_half, margin * float(np.max(hi - lo)) / 2)
    return (c[0] - half, c[0] + half), (c[1] - half, c[1] + half)


# ---------------------------------------------------------------------------------------
# 1. hero banner
# ---------------------------------------------------------------------------------------
def density_cmap():
    """viridis whose low end fades into the card (transparent)."""
    base = plt.get_cmap("viridis")
    cols = base(np.linspace(0, 1, 256))
    cols[:, 3] = np.clip(np.linspace(0, 1, 256) * 3.0, 0, 1)
    return LinearSegmentedColormap.from_list("viridis_fade", cols)


@torch.no_grad()
def make_hero(flow, out, png):
    W, H = 10.0, 3.3
    fig, ax = new_canvas(W, H)
    ax.text(0.35, H - 0.42, "flowkit — normalizing flows, hands on", ha="left", va="center",
            fontsize=22, fontweight="bold", color=INK)
    ax.text(0.35, H - 0.86,
            "Invertible maps push N(0, I) onto the data — and give the exact log-likelihood of every point.",
            ha="left", va="center", fontsize=11.5, color=MUTED)

    z = base_samples(60000, seed=1)
    st = steps_of(flow, z)
    stages = [(0, "z ~ N(0, I)"), (2, "2 layers"), (4, "4 layers"), (6, "6 layers"), (N_LAYERS, "x = f(z)")]
    cmap = density_cmap()
    pw, gap = 1.62, 0.39          # panel width and gap, inches
    x0 = (W - (5 * pw + 4 * gap)) / 2
    y0, ph = 0.42, 1.62
    for k, (idx, label) in enumerate(stages):
        left = x0 + k * (pw + gap)
        pax = fig.add_axes((left / W, y0 / H, pw / W, ph / H))
        (xa, xb), (ya, yb) = window(st[idx], 3.4)   # each stage zoomed to fit
        h2, _, _ = np.histogram2d(st[idx][:, 0], st[idx][:, 1],
                                  bins=[np.linspace(xa, xb, 121), np.linspace(ya, yb, 121)])
        h2 = np.sqrt(h2 / h2.max())
        pax.imshow(h2.T, origin="lower", extent=(xa, xb, ya, yb), cmap=cmap, vmin=0, vmax=1,
                   interpolation="bilinear", rasterized=True)
        pax.set_xlim(xa, xb)
        pax.set_ylim(ya, yb)
        pax.axis("off")
        ax.text(left + pw / 2, y0 - 0.16, label, ha="center", va="center", fontsize=10.5, color=MUTED)
        if k < 4:
            a = left + pw - 0.02
            arrow(ax, (a, y0 + ph / 2), (a + gap + 0.04, y0 + ph / 2), color=MUTED, lw=1.4, shrink=0)
    return save(fig, "flow_hero", out, png)


# ---------------------------------------------------------------------------------------
# 2. likelihood landscape
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def make_landscape(flow, data, out, png):
    W, H = 10.0, 4.6
    fig, ax = new_canvas(W, H)
    ax.text(0.35, H - 0.4, "The probability problem: which models can tell you log p(x)?",
            ha="left", va="center", fontsize=15, fontweight="bold")

    # left: the flow's exact log-density on a grid
    xl, yl = (-3.6, 3.6), (-2.2, 2.2)
    nx, ny = 240, 150
    gx = torch.linspace(*xl, nx)
    gy = torch.linspace(*yl, ny)
    X, Y = torch.meshgrid(gx, gy, indexing="xy")
    logp = flow.log_prob(torch.stack([X.reshape(-1), Y.reshape(-1)], 1)).reshape(ny, nx).numpy()
    vmin, vmax = -9.0, float(np.ceil(logp.max() * 2) / 2)
    hax = fig.add_axes((0.42 / W, 0.42 / H, 3.95 / W, 3.0 / H))
    im = hax.imshow(np.clip(logp, vmin, vmax), origin="lower", extent=(*xl, *yl), cmap="viridis",
                    vmin=vmin, vmax=vmax, aspect="auto", interpolation="bilinear", rasterized=True)
    hax.contour(gx.numpy(), gy.numpy(), logp, levels=[-6, -4, -2], colors="white", linewidths=0.6,
                linestyles="solid", alpha=0.6)
    hax.set_xticks([])
    hax.set_yticks([])
    for s in hax.spines.values():
        s.set_color(CARD_EDGE)
    hax.set_title("a trained flowkit flow on two moons", fontsize=10.5, color=MUTED, pad=6)
    cax = fig.add_axes((4.45 / W, 0.42 / H, 0.13 / W, 3.0 / H))
    cb = fig.colorbar(im, cax=cax, extend="min")
    cb.set_label("exact log p(x)  (nats)", fontsize=10.5)
    cb.ax.tick_params(labelsize=9, color=MUTED)
    cb.outline.set_edgecolor(CARD_EDGE)

    # three probe points, with their exact log-density
    # (-1, 1.5) is the top of the upper moon, (0, 0) lies between the two moons' tips and
    # (0, 2) about 0.7 above the upper moon. (Much further out, a stack of affine couplings
    # gives absurdly small densities, e.g. log p ~ -1e5 two units off the data.)
    probes = [((-1.0, 1.5), "on a moon"), ((0.0, 0.0), "between the moons"), ((0.0, 2.0), "off the data")]
    pts = torch.tensor([p for p, _ in probes])
    lp = flow.log_prob(pts).numpy()
    offsets = [(-1.7, -0.75), (-0.9, -1.25), (1.6, -0.05)]
    for ((px, py), what), v, (dx, dy) in zip(probes, lp, offsets):
        hax.plot(px, py, "o", ms=6, mfc="white", mec=INK, mew=1.2, zorder=5)
        hax.annotate(f"{what}\nlog p = {v:.1f}".replace("-", "−"), (px, py), (px + dx, py + dy), fontsize=8.5,
                     ha="center", va="center", color=INK, zorder=6,
                     bbox=dict(boxstyle="round,pad=0.25", fc="white", ec=CARD_EDGE, alpha=0.92),
                     arrowprops=dict(arrowstyle="-", color="white", lw=1.0))

    # right: what each model family gives you
    rows = [
        ("Normalizing flow", "exact", OI["green"], "✓",
         "log p_z(f⁻¹(x)) + log|det ∂f⁻¹/∂x|, one pass"),
        ("Autoregressive", "exact", OI["green"], "✓",
         "product of conditionals; sampling is sequential"),
        ("VAE", "lower bound", OI["orange"], "≤",
         "ELBO ≤ log p(x); the exact value is intractable"),
        ("Diffusion", "bound / many steps", OI["orange"], "≤",
         "ELBO, or an ODE estimate over many network calls"),
        ("GAN", "no density", OI["vermillion"], "✗",
         "an implicit sampler: nothing to evaluate at x"),
    ]
    x_left = 5.2
    top = H - 1.2
    row_h = 0.67
    for i, (fam, badge, col, sym, note) in enumerate(rows):
        yc = top - i * row_h - 0.26
        emph = i == 0
        if emph:
            hl = FancyBboxPatch((x_left - 0.12, yc - 0.33), W - x_left - 0.2, 0.66,
                                boxstyle="round,pad=0,rounding_size=0.1",
                                facecolor=tint(OI["green"], 0.10), edgecolor=tint(OI["green"], 0.55),
                                lw=1.0, zorder=1)
            ax.add_patch(hl)
        ax.text(x_left, yc + 0.12, fam, ha="left", va="center", fontsize=11.5,
                fontweight="bold", zorder=3)
        ax.text(x_left, yc - 0.16, note, ha="left", va="center", fontsize=9.5, color=MUTED, zorder=3)
        bw = 1.85
        bx = W - 0.38 - bw / 2
        b = FancyBboxPatch((bx - bw / 2, yc + 0.12 - 0.14), bw, 0.28,
                           boxstyle="round,pad=0,rounding_size=0.14", facecolor=col,
                           edgecolor="none", zorder=3)
        ax.add_patch(b)
        t = ax.text(bx, yc + 0.12, f"{sym} {badge}", ha="center", va="center", fontsize=9.5,
                    fontweight="bold", color=text_on(col), zorder=4)
        fig._flowkit_pairs.append((t, b))
    ax.text(x_left, 3.6, "what each model family gives you for a data point x",
            ha="left", va="center", fontsize=10.5, color=MUTED)
    return save(fig, "likelihood_landscape", out, png)


# ---------------------------------------------------------------------------------------
# 3. layer-by-layer transform
# ---------------------------------------------------------------------------------------
# Okabe–Ito without yellow (too pale on white) and black (reserved for the data).
SECTOR_COLOURS = [OI["blue"], OI["sky"], OI["green"], OI["orange"], OI["vermillion"], OI["purple"]]


@torch.no_grad()
def make_transform(flow, data, out, png):
    W, H = 10.0, 3.1
    fig, ax = new_canvas(W, H)
    ax.text(0.35, H - 0.36, "A trained coupling flow deforms N(0, I) into two moons, layer by layer",
            ha="left", va="center", fontsize=14, fontweight="bold")
    ax.text(0.35, H - 0.72,
            "8 flowkit AffineCoupling layers fitted by maximum likelihood. A base point keeps its "
            "colour (its angle in z); dashed panels are zoomed out.",
            ha="left", va="center", fontsize=9.5, color=MUTED)

    z = base_samples(2500, seed=2)
    ang = torch.atan2(z[:, 1], z[:, 0]).numpy()
    sector = np.floor((ang + np.pi) / (2 * np.pi) * len(SECTOR_COLOURS)).astype(int) % len(SECTOR_COLOURS)
    colours = np.array(SECTOR_COLOURS)[sector]
    st = steps_of(flow, z)

    # a z-space grid, pushed through the same layers
    ticks = np.linspace(-2.5, 2.5, 7)
    tt = torch.linspace(-2.5, 2.5, 160)
    lines = [torch.stack([torch.full_like(tt, c), tt], 1) for c in ticks]
    lines += [torch.stack([tt, torch.full_like(tt, c)], 1) for c in ticks]
    grid_steps = [steps_of(flow, ln) for ln in lines]

    panels = [(0, "z ~ N(0, I)"), (2, "after 2 layers"), (4, "after 4 layers"), (6, "after 6 layers"),
              (N_LAYERS, "x = f(z), 8 layers"), (None, "data (two moons)")]
    lim = 3.7   # z, x and data share this window; the middle panels are zoomed out to fit
    pw, gap = 1.42, 0.17
    x0 = (W - (6 * pw + 5 * gap)) / 2
    y0 = 0.42
    for k, (idx, label) in enumerate(panels):
        left = x0 + k * (pw + gap)
        pax = fig.add_axes((left / W, y0 / H, pw / W, pw / H))
        pax.set_facecolor(PANEL)
        if idx is None:
            d = data.numpy()[:2500]
            pax.scatter(d[:, 0], d[:, 1], s=1.2, c="#4d4d4d", lw=0, rasterized=True)
        else:
            for g in grid_steps:
                pax.plot(g[idx][:, 0], g[idx][:, 1], color="#b4bbc6", lw=0.55, zorder=1)
            pax.scatter(st[idx][:, 0], st[idx][:, 1], s=1.6, c=colours, lw=0, rasterized=True, zorder=2)
        if idx in (None, 0, N_LAYERS):
            xr, yr = (-lim, lim), (-lim, lim)
        else:
            xr, yr = window(st[idx], lim)
        pax.set_xlim(*xr)
        pax.set_ylim(*yr)
        pax.set_xticks([])
        pax.set_yticks([])
        for s in pax.spines.values():
            s.set_color(CARD_EDGE)
            if idx not in (None, 0, N_LAYERS):
                s.set_linestyle((0, (3, 2)))
        ax.text(left + pw / 2, y0 + pw + 0.14, label, ha="center", va="center", fontsize=9.5,
                fontweight="bold" if idx in (0, N_LAYERS) else "normal")
    # forward / inverse reminder under the panels
    y_arr = y0 - 0.17
    a0, a1 = x0 + pw / 2, x0 + 4 * (pw + gap) + pw / 2
    arrow(ax, (a0, y_arr), (a1, y_arr), color=MUTED, lw=1.1, shrink=0, mutation=10)
    ax.text((a0 + a1) / 2, y_arr, " forward f: z → x (generative);  inverse f⁻¹: x → z gives log p(x) ",
            ha="center", va="center", fontsize=8.5, color=MUTED,
            bbox=dict(boxstyle="square,pad=0.15", fc=CARD, ec="none"))
    return save(fig, "flow_transform", out, png)


# ---------------------------------------------------------------------------------------
# 4. the course as a path
# ---------------------------------------------------------------------------------------
NOTEBOOKS = [
    ("01", "Fundamentals", "change of variables, Jacobians"),
    ("02", "Planar & radial", "flows you can draw on paper"),
    ("03", "Coupling layers", "coupling: triangular Jacobians"),
    ("04", "RealNVP", "stacked couplings, multi-scale"),
    ("05", "Glow", "ActNorm, invertible 1×1 convs"),
    ("06", "Evaluation", "bits per dim, sample quality"),
]


def make_journey(out, png):
    W, H = 10.0, 3.55
    fig, ax = new_canvas(W, H)
    ax.text(0.35, H - 0.38, "Your flow journey: six notebooks", ha="left", va="center",
            fontsize=15, fontweight="bold")
    ax.text(W - 0.35, H - 0.38, "each one builds on the last", ha="right", va="center",
            fontsize=10, color=MUTED, style="italic")
    bw, bh = 2.95, 0.95
    xs = [1.7, 5.0, 8.3]
    y1, y2 = H - 1.4, H - 2.95
    centres = [(xs[0], y1), (xs[1], y1), (xs[2], y1), (xs[2], y2), (xs[1], y2), (xs[0], y2)]
    colours = [plt.get_cmap("viridis")(v) for v in np.linspace(0.05, 0.8, 6)]
    colours = [matplotlib.colors.to_hex(c) for c in colours]

    boxes = []
    for (num, title, sub), (cx, cy), col in zip(NOTEBOOKS, centres, colours):
        box = FancyBboxPatch((cx - bw / 2, cy - bh / 2), bw, bh,
                             boxstyle="round,pad=0,rounding_size=0.14", facecolor=PANEL,
                             edgecolor=col, lw=1.8, zorder=3)
        ax.add_patch(box)
        boxes.append(box)
        r = 0.25
        ccx = cx - bw / 2 + 0.36
        ax.add_patch(Circle((ccx, cy), r, facecolor=col, edgecolor="none", zorder=4))
        ax.text(ccx, cy, num, ha="center", va="center", fontsize=11.5, fontweight="bold",
                color=text_on(col), zorder=5)
        tx = ccx + r + 0.12
        t1 = ax.text(tx, cy + 0.16, title, ha="left", va="center", fontsize=12, fontweight="bold", zorder=5)
        t2 = ax.text(tx, cy - 0.19, sub, ha="left", va="center", fontsize=8.8, color=MUTED, zorder=5)
        fig._flowkit_pairs += [(t1, box), (t2, box)]
    for i in range(5):
        rad = -0.55 if i == 2 else 0.0
        arrow(ax, centres[i], centres[i + 1], patchA=boxes[i], patchB=boxes[i + 1], rad=rad,
              color=MUTED, lw=1.6, shrink=3, mutation=14, zorder=2)
    return save(fig, "flow_journey", out, png)


# ---------------------------------------------------------------------------------------
# 5. family tree
# ---------------------------------------------------------------------------------------
FAMILIES = [
    ("coupling", OI["blue"]),
    ("autoregressive", OI["orange"]),
    ("residual / planar", OI["purple"]),
    ("continuous-time", OI["green"]),
]

# key: (name, years, authors, one-liner, family column, row year, built in this course)
# Years are first arXiv / conference years. NSF has coupling and autoregressive variants,
# so it sits between those two columns.
PAPERS = {
    "NICE": ("NICE", "2014/15", "Dinh et al.", "additive coupling", 0, 2014, True),
    "RealNVP": ("RealNVP", "2016/17", "Dinh et al.", "affine coupling, multi-scale",
                0, 2016, True),
    "Glow": ("Glow", "2018", "Kingma & Dhariwal", "ActNorm, invertible 1×1 conv", 0, 2018, True),
    "NSF": ("Neural spline flows", "2019", "Durkan et al.", "rational-quadratic splines", 0.5,
            2019, False),
    "IAF": ("IAF", "2016", "Kingma et al.", "inverse autoregressive flow", 1, 2016, False),
    "MAF": ("MAF", "2017", "Papamakarios et al.", "masked autoregressive flow", 1, 2017, False),
    "Planar": ("Planar & radial flows", "2015", "Rezende & Mohamed", "flows for variational inference",
               2, 2015, True),
    "NODE": ("Neural ODE (CNF)", "2018", "Chen et al.", "continuous-time flows", 3, 2018, False),
    "FFJORD": ("FFJORD", "2018/19", "Grathwohl et al.", "free-form Jacobians, trace est.", 3, 2019,
               False),
}
# (from, to): "to" builds on "from"
EDGES = [("NICE", "RealNVP"), ("RealNVP", "Glow"), ("Glow", "NSF"), ("MAF", "NSF"),
         ("IAF", "MAF"), ("RealNVP", "MAF"), ("Planar", "IAF"), ("Planar", "NODE"), ("NODE", "FFJORD")]


def make_family_tree(out, png):
    W, H = 10.0, 7.65
    fig, ax = new_canvas(W, H)
    ax.text(0.35, H - 0.38, "The flow family tree", ha="left", va="center", fontsize=15,
            fontweight="bold")
    ax.text(0.35, H - 0.72, "arrow: “builds on”    ·    thick outline: built in this course (flowkit)",
            ha="left", va="center", fontsize=10, color=MUTED)

    year_w = 0.75
    years = list(range(2014, 2020))
    col_w = (W - year_w - 0.25) / len(FAMILIES)
    xcol = [year_w + col_w * (i + 0.5) for i in range(len(FAMILIES))]
    head_y = H - 1.18
    row_top, row_h = H - 1.45, 1.0
    yrow = {y: row_top - row_h * (i + 0.5) for i, y in enumerate(years)}
    bottom = row_top - row_h * len(years)

    for i, (fam, col) in enumerate(FAMILIES):
        x = xcol[i]
        ax.add_patch(FancyBboxPatch((x - col_w / 2 + 0.05, bottom + 0.02), col_w - 0.1, head_y + 0.22 - bottom,
                                    boxstyle="round,pad=0,rounding_size=0.1", facecolor=tint(col, 0.08),
                                    edgecolor="none", zorder=0))
        ax.add_patch(FancyBboxPatch((x - col_w / 2 + 0.05, head_y - 0.2), col_w - 0.1, 0.4,
                                    boxstyle="round,pad=0,rounding_size=0.1", facecolor=col,
                                    edgecolor="none", zorder=1))
        ax.text(x, head_y, fam, ha="center", va="center", fontsize=11, fontweight="bold",
                color=text_on(col), zorder=2)
    for y in years:
        ax.text(0.42, yrow[y], str(y), ha="center", va="center", fontsize=10.5, color=MUTED)
        ax.plot([year_w, W - 0.3], [yrow[y] + row_h / 2] * 2, color=FAINT, lw=0.6, ls=(0, (2, 3)),
                zorder=0.5)

    bw, bh = col_w - 0.2, 0.78
    boxes = {}
    for key, (name, yrs, authors, blurb, fam, year, ours) in PAPERS.items():
        if fam == 0.5:
            cx, col = (xcol[0] + xcol[1]) / 2, OI["blue"]
        else:
            cx, col = xcol[int(fam)], FAMILIES[int(fam)][1]
        box = boxed_text(ax, fig, cx, yrow[year], bw, bh, [
            (f"{name}", dict(fontsize=10.5, fontweight="bold")),
            (f"{authors}, {yrs}", dict(fontsize=8.8, color=MUTED)),
            (blurb, dict(fontsize=8.8, color=INK)),
        ], face=PANEL, edge=col, lw=2.8 if ours else 1.2, rounding=0.1, zorder=3)
        boxes[key] = box
    # Neural spline flows have coupling *and* autoregressive variants: a two-colour outline
    nsf = boxes["NSF"]
    ax.add_patch(FancyBboxPatch((nsf.get_x(), nsf.get_y()), nsf.get_width(), nsf.get_height(),
                                boxstyle="round,pad=0.05,rounding_size=0.14", facecolor="none",
                                edgecolor=OI["orange"], lw=1.4, zorder=2.9))

    def centre(b):
        return b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2

    for a, b in EDGES:
        fa, fb = PAPERS[a][4], PAPERS[b][4]
        same = fa == fb
        col = FAMILIES[int(fa)][1] if same else MUTED
        arrow(ax, centre(boxes[a]), centre(boxes[b]), patchA=boxes[a], patchB=boxes[b], color=col,
              lw=1.6, rad=0.0, shrink=2, mutation=14, zorder=2)
    return save(fig, "flow_family_tree", out, png)


# ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "images", help="folder for the SVGs")
    p.add_argument("--png", type=Path, default=None, help="also write PNG copies here")
    p.add_argument("--fast", action="store_true", help="train for fewer steps (tests)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default 1500, 300 with --fast)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.png is not None:
        args.png.mkdir(parents=True, exist_ok=True)
    steps = args.steps or (300 if args.fast else 1500)

    t0 = time.perf_counter()
    with plt.rc_context(STYLE):
        flow, data, hist = train_flow(steps)
        t1 = time.perf_counter()
        print(f"trained {N_LAYERS} coupling layers for {steps} steps in {t1 - t0:.1f} s "
              f"(final NLL {hist.final_loss:.3f} nats)")
        written = [
            make_hero(flow, args.out, args.png),
            make_landscape(flow, data, args.out, args.png),
            make_transform(flow, data, args.out, args.png),
            make_journey(args.out, args.png),
            make_family_tree(args.out, args.png),
        ]
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
