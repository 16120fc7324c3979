"""flowkit.check must catch wrong log-dets, wrong inverses and unnormalised densities."""

from __future__ import annotations

import pytest
import torch

import flowkit as fk

from registry import make


class WrongLogDet(fk.Affine):
    """An affine map that forgets one dimension in its log-det — a typical student bug."""

    def forward(self, z):
        x, _ = super().forward(z)
        return x, self.log_scale[0].expand(z.shape[0])

    def inverse(self, x):
        z, _ = super().inverse(x)
        return z, -self.log_scale[0].expand(x.shape[0])


class WrongInverse(fk.Affine):
    def inverse(self, x):
        z, ld = super().inverse(x)
        return z + 1e-2, ld


class InconsistentLogDets(fk.Affine):
    def inverse(self, x):
        z, ld = super().inverse(x)
        return z, -ld  # sign error


def _params(t):
    with torch.no_grad():
        t.log_scale.copy_(torch.tensor([0.3, -0.7]))
        t.shift.copy_(torch.tensor([1.0, 2.0]))
    return t


def test_good_transform_report_is_readable() -> None:
    report = fk.check(make("Planar", 2), torch.randn(16, 2))
    text = str(report)
    assert report.passed and "all checks passed" in text
    for line in ["round trip z → x → z", "round trip x → z → x", "autograd slogdet", "density integrates to 1"]:
        assert line in text


def test_wrong_log_det_is_caught() -> None:
    with pytest.raises(fk.CheckError, match="forward log-det = autograd slogdet") as info:
        fk.check(_params(WrongLogDet(2)), torch.randn(8, 2))
    assert "✗" in str(info.value) and not info.value.report.passed


def test_wrong_inverse_is_caught() -> None:
    with pytest.raises(fk.CheckError, match="round trip"):
        fk.check(_params(WrongInverse(2)), torch.randn(8, 2))


def test_inconsistent_log_dets_are_caught() -> None:
    report = fk.check(_params(InconsistentLogDets(2)), torch.randn(8, 2), raise_on_fail=False)
    failed = {r.name for r in report.failures}
    assert "log|det J_f(z)| + log|det J_f⁻¹(f(z))| = 0" in failed
    assert "inverse log-det = autograd slogdet (float64)" in failed


def test_unnormalised_density_is_caught() -> None:
    """A log-det off by a constant passes nothing: the integral is e^{0.1} instead of 1."""

    class OffByConstant(fk.Affine):
        def inverse(self, x):
            z, ld = super().inverse(x)
            return z, ld + 0.1

    report = fk.check(_params(OffByConstant(2)), torch.randn(8, 2), raise_on_fail=False)
    assert not report["density integrates to 1"].passed
    assert abs(report["density integrates to 1"].error - (torch.e ** 0.1 - 1)) < 1e-3


def test_check_validates_its_input() -> None:
    with pytest.raises(TypeError, match="flowkit.Transform"):
        fk.check(torch.nn.Linear(2, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match="shape"):
        fk.check(fk.Affine(2), torch.randn(3, 5))


def test_check_restores_training_mode() -> None:
    t = make("AffineCoupling", 2)
    t.train()
    fk.check(t, torch.randn(4, 2))
    assert t.training
