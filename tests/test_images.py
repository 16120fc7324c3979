"""The README pictures: ``images/make_images.py`` writes five small, valid SVGs with their text.

The script is run once (``--fast``: fewer training steps) into a temporary folder; the
committed files under ``images/`` are checked too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "images" / "make_images.py"
SVG = "{http://www.w3.org/2000/svg}"
MAX_BYTES = 1_000_000

# Strings each picture must contain as SVG <text> (i.e. readable, searchable text).
EXPECTED = {
    "flow_hero": ["flowkit — normalizing flows, hands on", "z ~ N(0, I)", "x = f(z)"],
    "likelihood_landscape": ["exact log p(x)", "Normalizing flow", "VAE", "lower bound", "GAN",
                             "no density", "Diffusion"],
    "flow_transform": ["z ~ N(0, I)", "after 2 layers", "after 4 layers", "after 6 layers",
                       "x = f(z), 8 layers", "data (two moons)"],
    "flow_journey": ["Your flow journey", "01", "Fundamentals", "02", "Planar & radial", "03",
                     "Coupling layers", "04", "RealNVP", "05", "Glow", "06", "Evaluation"],
    "flow_family_tree": ["The flow family tree", "NICE", "RealNVP", "Glow", "Planar & radial flows",
                         "IAF", "MAF", "Neural spline flows", "Neural ODE (CNF)", "FFJORD",
                         "coupling", "autoregressive", "residual / planar", "continuous-time"],
}
# Pictures that do not depend on training: the --fast output must equal the committed file.
DIAGRAMS = ["flow_journey", "flow_family_tree"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("images")
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", FLOWKIT_PROGRESS="0")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--fast", "--out", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"make_images.py failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _size(root: ET.Element) -> tuple[float, float]:
    """(width, height) in user units, from the viewBox (else width/height)."""
    vb = root.get("viewBox")
    if vb:
        x0, y0, w, h = (float(v) for v in re.split(r"[ ,]+", vb.strip()))
        assert w > 0 and h > 0, vb
        return w, h
    w, h = root.get("width"), root.get("height")
    assert w and h, "SVG has neither a viewBox nor width/height"
    return float(re.match(r"[\d.]+", w).group()), float(re.match(r"[\d.]+", h).group())


def _texts(el: ET.Element, inherited_transform: bool = False):
    """Yield (text, element, has_transformed_ancestor) for every <text> element."""
    for child in el:
        if child.tag == SVG + "text":
            yield "".join(child.itertext()), child, inherited_transform
        else:
            yield from _texts(child, inherited_transform or child.get("transform") is not None)


def _font_size(style: str) -> float:
    m = re.search(r"font-size:\s*([\d.]+)px", style or "")
    return float(m.group(1)) if m else 10.0


def _anchor(el: ET.Element) -> tuple[float, float] | None:
    if el.get("x") is not None and el.get("y") is not None:
        return float(el.get("x")), float(el.get("y"))
    m = re.match(r"\s*translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)", el.get("transform") or "")
    return (float(m.group(1)), float(m.group(2))) if m else None


def check_svg(path: Path, expected: list[str]) -> None:
    assert path.is_file(), f"missing {path}"
    size = path.stat().st_size
    assert 0 < size < MAX_BYTES, f"{path.name} is {size} bytes"
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg", f"{path.name}: root is {root.tag}"
    width, height = _size(root)

    texts = list(_texts(root))
    assert texts, f"{path.name} has no <text> (fonts must stay text: svg.fonttype='none')"
    content = [t for t, _, _ in texts]
    for want in expected:
        assert any(want in t for t in content), f"{path.name}: no text containing {want!r}"

    # Best effort: every text anchor, and a lower-bound estimate of its extent, lies in the
    # viewBox. (The script checks the exact extents with matplotlib before saving.)
    for text, el, transformed in texts:
        pos = _anchor(el)
        if pos is None or transformed:
            continue
        x, y = pos
        fs = _font_size(el.get("style"))
        est = 0.45 * fs * len(text)
        anchor = re.search(r"text-anchor:\s*(\w+)", el.get("style") or "")
        anchor = anchor.group(1) if anchor else "start"
        left, right = {"start": (x, x + est), "middle": (x - est / 2, x + est / 2),
                       "end": (x - est, x)}[anchor]
        assert 0 <= left and right <= width, f"{path.name}: {text!r} runs out of the picture ({left}, {right}, {width})"
        assert fs * 0.5 <= y <= height, f"{path.name}: {text!r} at y={y} outside 0..{height}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_script_writes_valid_svg(generated: Path, name: str) -> None:
    check_svg(generated / f"{name}.svg", EXPECTED[name])


def test_script_writes_exactly_the_five_pictures(generated: Path) -> None:
    assert sorted(p.stem for p in generated.glob("*.svg")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_images_are_valid_svg(name: str) -> None:
    check_svg(ROOT / "images" / f"{name}.svg", EXPECTED[name])


@pytest.mark.parametrize("name", DIAGRAMS)
def test_committed_diagrams_are_up_to_date(generated: Path, name: str) -> None:
    """The diagrams need no training, so the script reproduces them byte for byte."""
    fresh = (generated / f"{name}.svg").read_bytes()
    committed = (ROOT / "images" / f"{name}.svg").read_bytes()
    assert fresh == committed, f"images/{name}.svg is stale: run `make images`"


def test_readme_pictures_exist() -> None:
    """Every picture the README links to under images/ is there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for ref in re.findall(r"\]\(\.?/?(images/[^)\s]+)\)", readme):
        assert (ROOT / ref).is_file(), f"README links to missing {ref}"
