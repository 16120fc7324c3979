"""Notebooks are committed without outputs, import flowkit instead of defining it, and follow the course rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_flow_fundamentals.ipynb",
    "02_planar_and_radial_flows.ipynb",
    "03_coupling_layers.ipynb",
    "04_realnvp.ipynb",
    "05_glow.ipynb",
    "06_flow_evaluation.ipynb",
]


def test_course_notebooks_exist() -> None:
    names = [p.name for p in NOTEBOOKS]
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, f"missing notebooks: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_style(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    text = "\n".join(code)
    assert "import flowkit" in text, f"{path.name} must import flowkit"
    course = "\n".join("".join(c["source"]) for c in nb["cells"]
                       if c["cell_type"] == "code" and "flowkit" not in c.get("metadata", {}))  # not "Your turn" cells
    for m in re.finditer(r"^class (\w+)\((fk\.|flowkit\.)?Transform\):\n((?:[ \t]+.*\n|[ \t]*\n)*)", course + "\n", re.M):
        body = [line for line in m.group(3).splitlines() if line.strip()]
        assert len(body) <= 20, (
            f"{path.name} defines the Transform {m.group(1)} inline in {len(body)} lines; an inline version of an "
            "idea stays short (<= 20 lines), the library lives in flowkit/")
    for i, src in enumerate(code):
        for line in src.splitlines():
            stripped = line.split("#")[0].rstrip()
            assert not (stripped.endswith(";") and not stripped.startswith("%")), \
                f"{path.name} cell {i}: a trailing ';' does not hide output under nbval; use `_ = ...`"
    md = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert len(md) >= len(code) // 3, f"{path.name}: too little explanation between code cells"
