"""Settings shared by the whole suite."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests use tiny tensors: one thread avoids contention on small shared machines (2 cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# The exercise fixtures are student submissions (some loop forever on purpose); tests/test_exercises.py
# grades them, so nbval must not collect them as notebooks to run.
collect_ignore = ["exercise_submissions"]
