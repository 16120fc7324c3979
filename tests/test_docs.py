"""Every ``Example:`` in flowkit's docstrings runs (doctest), so the documentation cannot go stale."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import flowkit

matplotlib.use("Agg")

MODULES = sorted(m.name for m in pkgutil.walk_packages(flowkit.__path__, "flowkit.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed (run pytest --doctest-modules {module.__file__})"
