"""Flow and base distributions: the change of variables, sampling, persistence, dtypes."""

from __future__ import annotations

import io
import math

import pytest
import torch

import flowkit as fk

from registry import make


def _flow(dtype=torch.float32) -> fk.Flow:
    return fk.Flow(make("Compose(couplings)", 2, dtype), fk.StandardNormal(2)).to(dtype)


def test_log_prob_is_change_of_variables() -> None:
    flow = _flow(torch.float64)
    x = torch.randn(7, 2, dtype=torch.float64)
    z, ld = flow.transform.inverse(x)
    expected = -0.5 * (z ** 2).sum(1) - math.log(2 * math.pi) + ld
    assert torch.allclose(flow.log_prob(x), expected)


def test_sample_and_log_prob_agrees_with_log_prob() -> None:
    flow = _flow(torch.float64)
    x, lp = flow.sample_and_log_prob(50)
    assert x.shape == (50, 2) and lp.shape == (50,)
    assert torch.allclose(lp, flow.log_prob(x), atol=1e-10)


def test_same_generator_same_samples() -> None:
    flow = _flow()
    a = flow.sample(5, generator=torch.Generator().manual_seed(3))
    b = flow.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_temperature_zero_gives_the_image_of_the_mode() -> None:
    flow = _flow()
    x = flow.sample(3, temperature=0.0)
    x0, _ = flow.transform.forward(torch.zeros(1, 2))
    assert torch.allclose(x, x0.expand(3, 2))


def test_save_load_round_trip(tmp_path) -> None:
    flow = _flow()
    x = torch.randn(10, 2)
    path = tmp_path / "flow.pt"
    torch.save(flow.state_dict(), path)
    fresh = fk.Flow(fk.Compose([fk.AffineCoupling(2, hidden=(16,)), fk.Reverse(2), fk.AffineCoupling(2, hidden=(16,))]),
                    fk.StandardNormal(2))
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(fresh.log_prob(x), flow.log_prob(x))
    buf = io.BytesIO()
    torch.save(flow, buf)
    buf.seek(0)
    whole = torch.load(buf, weights_only=False)
    assert torch.equal(whole.log_prob(x), flow.log_prob(x))


def test_dtype_agnostic() -> None:
    flow = _flow().double()
    x = flow.sample(4)
    assert x.dtype == torch.float64
    assert flow.log_prob(x).dtype == torch.float64
    assert flow.base.sample(2).dtype == torch.float64


def test_device_agnostic_on_meta() -> None:
    """Moving to another device moves base samples too (checked on the 'meta' device, no GPU needed)."""
    flow = _flow().to("meta")
    assert flow.sample(3).device.type == "meta"


def test_diag_normal() -> None:
    d = fk.DiagNormal(3)
    with torch.no_grad():
        d.loc.copy_(torch.tensor([1.0, -2.0, 0.5]))
        d.log_scale.copy_(torch.tensor([0.1, -0.3, 0.7]))
    z = torch.randn(20, 3)
    ref = torch.distributions.Normal(d.loc, d.log_scale.exp()).log_prob(z).sum(1)
    assert torch.allclose(d.log_prob(z), ref, atol=1e-6)
    s = d.sample(20000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(s.mean(0), d.loc, atol=0.05)
    assert torch.allclose(s.std(0), d.log_scale.exp(), rtol=0.03)


def test_standard_normal_images() -> None:
    d = fk.StandardNormal((1, 4, 4))
    z = d.sample(3)
    assert z.shape == (3, 1, 4, 4)
    assert torch.allclose(d.log_prob(torch.zeros(2, 1, 4, 4)), torch.full((2,), -8 * math.log(2 * math.pi)))


def test_flow_requires_matching_shapes() -> None:
    with pytest.raises(ValueError, match="event_shape"):
        fk.Flow(fk.Affine(3), fk.StandardNormal(2))


def test_calling_flow_directly_explains() -> None:
    with pytest.raises(TypeError, match="log_prob"):
        _flow()(torch.randn(2, 2))
