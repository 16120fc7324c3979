"""Bad input raises a TypeError/ValueError that names the problem — never a silent NaN."""

from __future__ import annotations

import pytest
import torch

import flowkit as fk

from registry import REGISTRY, make


def _flow() -> fk.Flow:
    return fk.Flow(make("Compose(couplings)", 2), fk.StandardNormal(2))


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_every_transform_rejects_bad_input(name: str, direction: str) -> None:
    t = make(name, 2)
    call = getattr(t, direction)
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        call(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        call(torch.randn(2))
    with pytest.raises(TypeError, match="floating-point"):
        call(torch.ones(4, 2, dtype=torch.long))
    if name not in ("Permute", "Reverse"):  # parameter-free layers accept any float dtype
        with pytest.raises(TypeError, match="float64"):
            call(torch.randn(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(torch.tensor([[0.0, 1.0], [float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(torch.tensor([[float("inf"), 1.0]]))
    with pytest.raises(ValueError, match="empty batch"):
        call(torch.zeros(0, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        call([[0.0, 1.0]])


def test_flow_log_prob_bad_input() -> None:
    flow = _flow()
    with pytest.raises(ValueError, match=r"Flow.log_prob must have shape \(batch, 2\), got \(5, 3\)"):
        flow.log_prob(torch.randn(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        flow.log_prob(torch.full((2, 2), float("nan")))
    with pytest.raises(TypeError, match="dtype torch.float64"):
        flow.log_prob(torch.randn(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="empty batch"):
        flow.log_prob(torch.zeros(0, 2))


def test_flow_without_inverse_refuses_density() -> None:
    class ForwardOnly(fk.Affine):
        has_inverse = False

    flow = fk.Flow(ForwardOnly(2), fk.StandardNormal(2))
    with pytest.raises(ValueError, match="cannot evaluate"):
        flow.log_prob(torch.randn(3, 2))
    x, lp = flow.sample_and_log_prob(3)  # the density of its own samples is still available
    assert torch.isfinite(lp).all()


def test_sampling_arguments() -> None:
    flow = _flow()
    with pytest.raises(TypeError, match="int"):
        flow.sample(2.5)
    with pytest.raises(ValueError, match=">= 0"):
        flow.sample(-1)
    with pytest.raises(ValueError, match="temperature"):
        flow.sample(3, temperature=float("nan"))
    assert flow.sample(0).shape == (0, 2)


@pytest.mark.parametrize("bad, exc", [((0,), ValueError), ((2.0,), TypeError), (("a",), TypeError), ((), ValueError)])
def test_bad_event_shapes(bad, exc) -> None:
    with pytest.raises(exc, match="event_shape"):
        fk.StandardNormal(bad)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="features"):
        fk.Planar(0)
    with pytest.raises(ValueError, match="features"):
        fk.Radial(-2)
    with pytest.raises(ValueError, match="scale_bound"):
        fk.AffineCoupling(2, scale_bound=0.0)
    with pytest.raises(ValueError, match="mask must keep"):
        fk.AffineCoupling(2, mask=torch.tensor([True, True]))
    with pytest.raises(ValueError, match="mask must have the event shape"):
        fk.AffineCoupling(4, mask=torch.tensor([True, False]))
    with pytest.raises(TypeError, match="not a flowkit.Transform"):
        fk.Compose([fk.Affine(2), torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="at least one"):
        fk.Compose([])


def test_conditioner_with_wrong_output_is_named() -> None:
    t = fk.AffineCoupling(4, conditioner=torch.nn.Linear(2, 3), zero_init=False)
    with pytest.raises(ValueError, match=r"conditioner returned shape \(5, 3\), expected \(5, 4\)"):
        t.forward(torch.randn(5, 4))


@pytest.mark.parametrize("values, finite", [
    ([1.0, -2.0], True),
    ([3e38, 3e38, 3e38], True),                       # the sum overflows; every entry is finite
    ([-3e38, -3e38, 1.0], True),
    ([1.0, float("nan")], False),
    ([float("inf"), 1.0], False),
    ([float("inf"), float("-inf")], False),           # the sum is NaN
    ([3e38, 3e38, float("nan")], False),
])
def test_all_finite_agrees_with_the_elementwise_test(values, finite) -> None:
    from flowkit.validation import all_finite

    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(values, dtype=dtype)
        assert all_finite(x) == bool(torch.isfinite(x).all()) == finite


def test_all_finite_when_a_half_precision_sum_overflows() -> None:
    from flowkit.validation import all_finite

    assert all_finite(torch.tensor([6e4, 6e4], dtype=torch.float16))


def test_log_prob_names_the_non_finite_row() -> None:
    x = torch.zeros(4, 2)
    x[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"rows \[2\]"):
        _flow().log_prob(x)
