"""The README's links resolve and the numbers it states are the shipped checkpoints' numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _relative_links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [l for l in links if not re.match(r"^[a-z]+:", l) and not l.startswith("#")]


def test_every_relative_link_resolves() -> None:
    missing = [l for l in _relative_links(README) if not (ROOT / l.split("#")[0]).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_quick_start_is_the_two_commands() -> None:
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", README, re.S)
    assert block, "README needs a Quick start section with a bash block"
    commands = [l.split("#")[0].strip() for l in block.group(1).splitlines() if l.strip()]
    assert commands == ["make lab", "make test"]


def test_binder_badge_opens_the_first_notebook() -> None:
    m = re.search(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/HEAD\?urlpath=lab/tree/(notebooks/[\w.-]+\.ipynb)", README)
    assert m, "README needs a Binder badge that opens JupyterLab on a notebook"
    assert m.group(1) == "notebooks/01_flow_fundamentals.ipynb"
    assert (ROOT / m.group(1)).exists()


@pytest.mark.parametrize("name, label", [("realnvp_digits", "RealNVP"), ("glow_digits", "Glow")])
def test_results_table_matches_checkpoints(name: str, label: str) -> None:
    meta = json.loads((ROOT / "checkpoints" / f"{name}.json").read_text())
    row = re.search(rf"^\| {label} \| ([\d.]+) \| ([\d.]+) \| (\d+) k \|", README, re.M)
    assert row, f"README results table has no row for {label}"
    assert float(row.group(1)) == pytest.approx(meta["metrics"]["test_bpd"], abs=5e-4)
    assert float(row.group(2)) == pytest.approx(meta["metrics"]["test_bpd_iw"], abs=5e-4)
    assert int(row.group(3)) == round(meta["n_params"] / 1000)
    # the command in the row, parsed by today's CLI, is the run the checkpoint records
    import shlex

    from flowkit.train.cli import build_parser, canonical_command

    shown = re.search(rf"^\| {label} \|.*`(python -m flowkit\.train {meta['model']} [^`]+)` \|$", README, re.M)
    assert shown, f"README's {label} row should end with the command that trains it"
    args = build_parser().parse_args(shlex.split(shown.group(1))[3:])
    assert canonical_command(args, args.out) == meta["command"]
