"""The feedback of notebook 07's exercise (flowkit.course.at_work_exercise): specific messages, never a crash."""

from __future__ import annotations

import math

import pytest
import torch

from flowkit.course.at_work_exercise import check_free_energy


def _right(log_w, in_a, in_b):
    return float(torch.logsumexp(log_w[in_a], 0) - torch.logsumexp(log_w[in_b], 0))


WRONG = {
    "stub": (None, "not implemented yet"),
    "sign": (lambda lw, a, b: -_right(lw, a, b), "sign is flipped"),
    "counts": (lambda lw, a, b: -math.log(float(b.sum()) / float(a.sum())), "you counted samples"),
    "means": (lambda lw, a, b: -float(torch.log(lw[b].exp().mean() / lw[a].exp().mean())), "average the weights"),
    "overflow": (lambda lw, a, b: -float(torch.log(lw[b].exp().sum() / lw[a].exp().sum())), "logsumexp"),
    "complement": (lambda lw, a, b: float(torch.logsumexp(lw[a], 0) - torch.logsumexp(lw[~a], 0)), "not ~in_a"),
    "vector": (lambda lw, a, b: torch.zeros(2), "return one number"),
    "crash": (lambda lw, a, b: lw[10_000], "raised IndexError"),
}


def _stub(log_w, in_a, in_b):
    raise NotImplementedError


def test_a_correct_estimator_passes(capsys):
    assert check_free_energy(_right) is True
    assert capsys.readouterr().out.startswith("✓")
    assert check_free_energy(lambda lw, a, b: torch.tensor(_right(lw, a, b))) is True  # a 0-dim tensor is fine


@pytest.mark.parametrize("name", list(WRONG))
def test_each_typical_mistake_gets_its_own_message(name, capsys):
    fn, expected = WRONG[name]
    assert check_free_energy(fn or _stub) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and expected in out, out


def test_the_check_needs_a_function():
    with pytest.raises(TypeError, match="pass your function"):
        check_free_energy(3.0)
