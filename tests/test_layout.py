"""The package's shape: small modules, short functions, documented public names, old names still import."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import flowkit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flowkit"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(flowkit.__path__, "flowkit.") if not m.name.endswith("__main__"))


def _function_lengths(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                and isinstance(first.value.value, str)
            start = first.end_lineno + 1 if has_doc and len(node.body) > 1 else first.lineno
            yield node.name, node.lineno, node.end_lineno - start + 1


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {n} lines (limit {MAX_MODULE_LINES}): split it by role"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_short(path: Path) -> None:
    long = [f"{name} (line {line}): {n} lines" for name, line, n in _function_lengths(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def _public_objects():
    for name in _modules():
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == name:
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize("qualname,obj", list(_public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_docstring_has_a_runnable_example(qualname: str, obj) -> None:
    doc = inspect.getdoc(obj) or ""
    assert "Example:" in doc and ">>>" in doc, f"{qualname}: add an 'Example:' section with a doctest"


# Every name the 0.1 notebooks, exercises and README used must keep importing.
OLD_NAMES = [
    "check", "CheckError", "CheckReport", "Flow", "Transform", "Compose", "Inverse", "StandardNormal", "DiagNormal",
    "Affine", "Planar", "Radial", "Coupling", "AffineCoupling", "AdditiveCoupling", "RQSplineCoupling", "MAF", "MADE",
    "MaskedAffineAutoregressive", "Permute", "Reverse", "MLP", "split_mask", "alternating_mask", "fit", "fit_reverse_kl",
    "History", "course.setup", "course.budget", "course.fast_mode", "data.two_moons", "data.train_val_test",
    "data.log_density", "data.log_normalizer", "grid.integrate_on_grid", "grid.grid_points", "viz.plot_density",
    "viz.plot_samples", "viz.plot_energy", "viz.plot_grid_deformation", "viz.OKABE_ITO", "metrics.auroc",
    "metrics.anomaly_scores", "metrics.mmd", "metrics.mmd_test", "metrics.nll", "metrics.bits_per_dim",
    "metrics.typicality_test", "metrics.frechet_distance", "metrics.precision_recall", "metrics.memorization",
    "train.load_checkpoint", "train.evaluate", "train.main", "image.RealNVP", "image.Glow", "image.Logit",
    "image.ActNorm", "image.InvConv1x1", "image.Squeeze", "image.Split", "image.MultiScale", "image.bits_per_dim",
    "image.ImageFlow", "image.VariationalDequantization", "image.UniformDequantization", "widgets.Explorer",
    "widgets.planar_explorer", "Planar.MARGIN",
]
OLD_MODULES = ["flowkit.metrics", "flowkit.widgets", "flowkit.viz", "flowkit.training", "flowkit.train", "flowkit.digits",
               "flowkit.classifier", "flowkit.coupling", "flowkit.spline", "flowkit.autoregressive", "flowkit.base",
               "flowkit.planar", "flowkit.radial", "flowkit.permutation", "flowkit.elementwise", "flowkit.grid",
               "flowkit.checks", "flowkit.course", "flowkit.data", "flowkit.image"]


@pytest.mark.parametrize("name", OLD_NAMES)
def test_old_fk_names_still_resolve(name: str) -> None:
    obj = flowkit
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj is not None


@pytest.mark.parametrize("module", OLD_MODULES)
def test_old_module_names_still_import(module: str) -> None:
    assert importlib.import_module(module) is not None


_PRIVATE = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.\w+)*\.(_[a-z]\w*)")


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_read_no_private_attribute(path: Path) -> None:
    nb = json.loads(path.read_text())
    hits = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            code = line.split("#", 1)[0]
            hits += [f"cell {i}: {m.group(0)}" for m in _PRIVATE.finditer(code)]
    assert not hits, f"{path.name} reads private attributes: {hits}"
