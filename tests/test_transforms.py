"""Exactness of every public transform: round trips, log-dets vs autograd, densities integrating to 1."""

from __future__ import annotations

import pytest
import torch

import flowkit as fk

from registry import REGISTRY, make, randomize

NAMES = sorted(REGISTRY)
DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("features", [2, 5])
@pytest.mark.parametrize("name", NAMES)
def test_check_passes(name: str, features: int, dtype: torch.dtype) -> None:
    t = make(name, features, dtype)
    x = torch.randn(32, features, generator=torch.Generator().manual_seed(1), dtype=dtype)
    report = fk.check(t, x, integrate=False)
    assert report.passed, str(report)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("Permute", "Reverse")])  # see test_permutations
def test_random_parameters_are_not_the_identity(name: str) -> None:
    t = make(name, 2)
    z = torch.randn(16, 2)
    x, ld = t.forward(z)
    assert (x - z).abs().max() > 1e-2, "registry parameters should give a non-identity map"


@pytest.mark.parametrize("name", NAMES)
def test_density_integrates_to_one(name: str) -> None:
    t = make(name, 2, torch.float64)
    flow = fk.Flow(t, fk.StandardNormal(2)).double()
    mass = fk.grid.integrate_on_grid(flow.log_prob, bounds=30.0, resolution=1500)
    assert abs(mass - 1.0) < 1e-3, f"{name}: ∫p = {mass}"


@pytest.mark.parametrize("name", NAMES)
def test_check_integrates_in_2d(name: str) -> None:
    t = make(name, 2, torch.float64)
    report = fk.check(t, torch.randn(8, 2, dtype=torch.float64), n_jacobian=2)
    assert report["density integrates to 1"].passed


@pytest.mark.parametrize("name", ["AdditiveCoupling", "AffineCoupling", "AffineCoupling-flipped", "AffineCoupling-alternating",
                                  "RQSplineCoupling"])
def test_coupling_jacobian_is_triangular(name: str) -> None:
    d = 6
    t = make(name, d, torch.float64)
    a, b = t.idx_a, t.idx_b
    order = torch.cat([a, b])
    z = torch.randn(d, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: t.forward(v.unsqueeze(0))[0].squeeze(0), z)
    jac = jac[order][:, order]  # rows: outputs [a, b]; cols: inputs [a, b]
    na = len(a)
    assert torch.equal(jac[:na, :na], torch.eye(na, dtype=torch.float64)), "x_a must equal z_a"
    assert torch.all(jac[:na, na:] == 0), "x_a must not depend on z_b (upper-right block)"
    assert torch.all(jac[na:, na:] - torch.diag(torch.diagonal(jac[na:, na:])) == 0), "x_b depends on z_b elementwise"
    _, ld = t.forward(z.unsqueeze(0))
    assert torch.allclose(ld[0], torch.log(torch.diagonal(jac).abs()).sum())
    assert jac[na:, :na].abs().max() > 0, "x_b should depend on z_a for random parameters"


def test_fresh_couplings_are_identity() -> None:
    for t in [fk.AffineCoupling(4), fk.AdditiveCoupling(4),
              fk.AffineCoupling(4, conditioner=torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                                                   torch.nn.Linear(8, 4)))]:
        z = torch.randn(10, 4)
        x, ld = t.forward(z)
        assert torch.equal(x, z) and torch.equal(ld, torch.zeros(10))


def test_affine_coupling_scale_is_bounded() -> None:
    t = fk.AffineCoupling(2, hidden=(8,), scale_bound=2.0)
    randomize(t, std=50.0)
    z = torch.randn(1000, 2) * 10
    x, ld = t.forward(z)
    assert torch.isfinite(x).all() and ld.abs().max() <= 2.0 + 1e-5


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("cls", [fk.Planar, fk.Radial])
def test_constraints_keep_maps_invertible(cls, seed: int) -> None:
    """For any raw parameters (even huge ones) the constrained map is invertible with a positive det."""
    t = cls(3)
    randomize(t, std=5.0, seed=seed).double()
    if isinstance(t, fk.Planar):
        assert float((t.w @ t.u_hat()).detach()) >= -1.0 + 0.9 * t.MARGIN
    else:
        alpha, beta = t.alpha_beta()
        assert alpha > 0 and beta > -alpha
    z = torch.randn(200, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 3
    x, ld = t.forward(z)
    assert torch.isfinite(ld).all()
    z2, ld2 = t.inverse(x)
    assert torch.allclose(z2, z, atol=1e-7), f"max round-trip error {(z2 - z).abs().max():.2e}"
    assert torch.allclose(ld + ld2, torch.zeros_like(ld), atol=1e-7)


def test_planar_constraint_is_needed() -> None:
    """Without û the raw u can make wᵀu < -1: the map then folds (non-invertible)."""
    t = fk.Planar(2)
    with torch.no_grad():
        t.w.copy_(torch.tensor([1.0, 0.0]))
        t.u.copy_(torch.tensor([-3.0, 0.0]))
        t.b.zero_()
    assert float(t.w @ t.u) < -1
    assert float(t.w @ t.u_hat()) > -1  # the constrained map is still invertible
    z = torch.linspace(-3, 3, 101).unsqueeze(1) * torch.tensor([[1.0, 0.0]])
    x, _ = t.forward(z)
    assert torch.all(torch.diff(x[:, 0]) > 0), "constrained planar map must be monotone along w"


def test_inverse_of_inverse_round_trip() -> None:
    t = make("Planar", 2, torch.float64)
    inv = fk.Inverse(t)
    z = torch.randn(5, 2, dtype=torch.float64)
    assert torch.allclose(inv.forward(z)[0], t.inverse(z)[0])
    assert torch.allclose(inv.inverse(z)[0], t.forward(z)[0])


def test_compose_order_is_generative() -> None:
    a = fk.Affine(2, shift=1.0)
    s = fk.Affine(2, log_scale=torch.log(torch.tensor(2.0)))
    z = torch.zeros(1, 2) + 1.0
    x, ld = fk.Compose([a, s]).forward(z)  # s(a(z)) = 2·(z + 1)
    assert torch.allclose(x, torch.full((1, 2), 4.0))
    assert torch.allclose(ld, torch.tensor([2 * torch.log(torch.tensor(2.0))]))


def test_permutations() -> None:
    p = fk.Permute(4, [2, 0, 3, 1])
    z = torch.arange(4.0).unsqueeze(0)
    x, ld = p.forward(z)
    assert x.tolist() == [[2.0, 0.0, 3.0, 1.0]] and ld.item() == 0
    assert torch.equal(p.inverse(x)[0], z)
    assert fk.Reverse(3).forward(torch.tensor([[1.0, 2.0, 3.0]]))[0].tolist() == [[3.0, 2.0, 1.0]]
    with pytest.raises(ValueError, match="rearrangement"):
        fk.Permute(3, [0, 0, 1])


# ---------------------------------------------------------------------------------------------- conditional
from registry import CONDITIONAL, IMAGE, make_conditional, make_image  # noqa: E402


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_conditional_check_passes(name: str, dtype: torch.dtype) -> None:
    t = make_conditional(name, 4, 3, dtype)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, generator=g, dtype=dtype)
    c = torch.randn(16, 3, generator=g, dtype=dtype)
    report = fk.check(t, x, context=c)
    assert report.passed, str(report)


@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_conditional_transforms_use_their_context(name: str) -> None:
    t = make_conditional(name, 4, 3, torch.float64)
    z = torch.randn(8, 4, dtype=torch.float64)
    c1, c2 = torch.zeros(8, 3, dtype=torch.float64), torch.ones(8, 3, dtype=torch.float64)
    x1, ld1 = t.forward(z, c1)
    x2, ld2 = t.forward(z, c2)
    assert (x1 - x2).abs().max() > 1e-3, "the context should change the map"
    flow = fk.Flow(t, fk.StandardNormal(4)).double()
    assert torch.allclose(flow.log_prob(x1, c1), flow.base.log_prob(z) - ld1, atol=1e-9)


def test_conditional_density_integrates_to_one_for_each_context() -> None:
    t = make_conditional("Compose(conditional, plain)|c", 2, 1, torch.float64)
    flow = fk.Flow(t, fk.StandardNormal(2)).double()
    for value in (-1.0, 0.0, 1.0):
        ctx = torch.full((1, 1), value, dtype=torch.float64)
        mass = fk.grid.integrate_on_grid(lambda p: flow.log_prob(p, ctx.expand(len(p), 1)), bounds=30.0,
                                         resolution=1500, dtype=torch.float64)
        assert abs(mass - 1) < 1e-3, f"context {value}: ∫p = {mass}"


def test_conditional_transform_asks_for_its_context() -> None:
    t = make_conditional("AffineCoupling|c", 4, 3)
    with pytest.raises(ValueError, match="context"):
        t.forward(torch.randn(2, 4))
    with pytest.raises(ValueError, match="rows"):
        t.forward(torch.randn(2, 4), torch.randn(3, 3))


# ---------------------------------------------------------------------------------------------- images, shape changes
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(IMAGE))
def test_image_transform_check_passes(name: str, dtype: torch.dtype) -> None:
    t, shape = make_image(name, dtype)
    x = torch.randn(6, *shape, generator=torch.Generator().manual_seed(2), dtype=dtype)
    if name == "ActNorm":  # data-dependent init on a batch with a constant channel, then check
        t.train()
        batch = torch.randn(16, *shape, dtype=dtype)
        batch[:, 1] = 0.7
        t.inverse(batch)
        t.eval()
    report = fk.check(t, x, n_jacobian=3)
    assert report.passed, str(report)


# ---------------------------------------------------------------------------------------------- stressed inputs
@pytest.mark.parametrize("name", NAMES)
def test_check_passes_on_wide_inputs(name: str) -> None:
    t = make(name, 3, torch.float64)
    x = (torch.rand(64, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 20 - 10)  # |x| ≤ 10
    report = fk.check(t, x, integrate=False, n_jacobian=16)
    assert report.passed, str(report)


@pytest.mark.parametrize("name", ["RQSplineCoupling", "RQSplineCoupling-alternating"])
def test_spline_coupling_at_and_beyond_its_bound(name: str) -> None:
    t = make(name, 2, torch.float64)
    B = t.bound
    pts = torch.tensor([[B, B], [-B, -B], [B + 1e-12, -B - 1e-12], [B + 2.0, -B - 3.0], [0.3, B]], dtype=torch.float64)
    assert fk.check(t, pts, integrate=False).passed
