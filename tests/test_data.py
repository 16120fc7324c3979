"""Tests for flowkit.data: toy datasets and Rezende & Mohamed (2015) energies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowkit import data
from flowkit.data import (
    DATASETS,
    ENERGIES,
    U1,
    U2,
    U3,
    U4,
    log_density,
    log_normalizer,
    sample,
    train_val_test,
)

torch.set_num_threads(1)

NAMES = sorted(DATASETS)
ENERGY_NAMES = ["U1", "U2", "U3", "U4"]


# --------------------------------------------------------------------------- #
# Datasets
# --------------------------------------------------------------------------- #


def test_registry_contents() -> None:
    assert set(DATASETS) == {
        "two_moons",
        "circles",
        "rings",
        "eight_gaussians",
        "pinwheel",
        "checkerboard",
        "swiss_roll",
        "two_spirals",
    }
    for name, fn in DATASETS.items():
        assert getattr(data, name) is fn
        assert fn.__doc__ and "[-4, 4]" in fn.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_finite(name: str) -> None:
    x = DATASETS[name](37)
    assert isinstance(x, torch.Tensor)
    assert x.shape == (37, 2)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("name", NAMES)
def test_seed_reproducible_and_distinct(name: str) -> None:
    fn = DATASETS[name]
    a, b = fn(200, seed=3), fn(200, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, fn(200, seed=4))
    # seed=None draws fresh entropy
    assert not torch.equal(fn(200, seed=None), fn(200, seed=None))


@pytest.mark.parametrize("name", NAMES)
def test_global_rng_untouched(name: str) -> None:
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    DATASETS[name](50, seed=1)
    DATASETS[name](50, seed=None)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_kwarg(name: str) -> None:
    fn = DATASETS[name]
    x64 = fn(100, seed=5, dtype=torch.float64)
    x32 = fn(100, seed=5)
    assert x64.dtype == torch.float64
    assert torch.equal(x64.float(), x32)  # same numbers, only the dtype differs


@pytest.mark.parametrize("name", NAMES)
def test_scaled_to_box(name: str) -> None:
    x = DATASETS[name](4000, seed=0).double()
    inside = (x.abs() <= 4.0).all(dim=1).double().mean()
    assert inside > 0.99
    assert x.abs().max() < 6.0
    std = x.std(dim=0)
    assert ((std > 0.7) & (std < 2.6)).all(), std
    assert x.mean(dim=0).abs().max() < 0.25  # centred


@pytest.mark.parametrize("name", NAMES)
def test_noise_kwarg(name: str) -> None:
    fn = DATASETS[name]
    assert torch.isfinite(fn(50, noise=0.0)).all()
    assert not torch.equal(fn(50, noise=0.0), fn(50, noise=0.3))


def test_circles_and_rings_radii() -> None:
    r = torch.linalg.vector_norm(data.circles(500, noise=0.0, dtype=torch.float64), dim=1)
    assert torch.allclose(torch.minimum((r - 3).abs(), (r - 1.5).abs()), torch.zeros_like(r), atol=1e-9)
    assert ((r - 3).abs() < 1e-9).any() and ((r - 1.5).abs() < 1e-9).any()
    r = torch.linalg.vector_norm(data.rings(800, noise=0.0, dtype=torch.float64), dim=1)
    radii = torch.tensor([0.75, 1.5, 2.25, 3.0], dtype=torch.float64)
    d = (r[:, None] - radii[None, :]).abs()
    assert (d.min(dim=1).values < 1e-9).all()
    assert (d < 1e-9).any(dim=0).all()  # every ring is populated


def test_eight_gaussians_centres() -> None:
    x = data.eight_gaussians(400, noise=0.0, dtype=torch.float64)
    r = torch.linalg.vector_norm(x, dim=1)
    assert torch.allclose(r, torch.full_like(r, 2 * math.sqrt(2)))
    angle = torch.atan2(x[:, 1], x[:, 0]) / (math.pi / 4)
    assert torch.allclose(angle, angle.round(), atol=1e-9)
    assert len(set(angle.round().remainder(8).tolist())) == 8


def test_checkerboard_parity() -> None:
    x = data.checkerboard(2000, dtype=torch.float64)
    assert (x.abs() <= 4.0).all()
    cell = torch.floor(x / 2.0)  # integer cell index in {-2,..,1}
    assert ((cell[:, 0] + cell[:, 1]).remainder(2) == 0).all()


def test_two_moons_on_arcs() -> None:
    x = data.two_moons(500, noise=0.0, dtype=torch.float64).numpy() / 2.0 + [0.5, 0.25]
    on_upper = np.abs(np.hypot(x[:, 0], x[:, 1]) - 1) < 1e-9
    on_lower = np.abs(np.hypot(x[:, 0] - 1, x[:, 1] - 0.5) - 1) < 1e-9
    assert (on_upper | on_lower).all() and on_upper.any() and on_lower.any()


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_n_value(bad: int) -> None:
    for fn in DATASETS.values():
        with pytest.raises(ValueError, match=r"\bn\b"):
            fn(bad)


@pytest.mark.parametrize("bad", [2.0, True, "10", None])
def test_bad_n_type(bad: object) -> None:
    for fn in DATASETS.values():
        with pytest.raises(TypeError, match=r"\bn\b"):
            fn(bad)


def test_numpy_int_n_accepted() -> None:
    assert data.two_moons(np.int64(5)).shape == (5, 2)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_noise_value(bad: float) -> None:
    for fn in DATASETS.values():
        with pytest.raises(ValueError, match="noise"):
            fn(10, noise=bad)


def test_bad_noise_type_seed_dtype() -> None:
    with pytest.raises(TypeError, match="noise"):
        data.circles(10, noise="a")
    with pytest.raises(ValueError, match="seed"):
        data.circles(10, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        data.circles(10, seed=1.5)
    with pytest.raises(ValueError, match="dtype"):
        data.circles(10, dtype=torch.int64)
    with pytest.raises(TypeError, match="dtype"):
        data.circles(10, dtype="float32")


def test_sample_by_name() -> None:
    assert torch.equal(sample("pinwheel", 64, seed=9), data.pinwheel(64, seed=9))
    x = sample("rings", 10, seed=1, noise=0.0, dtype=torch.float64)
    assert x.dtype == torch.float64
    with pytest.raises(ValueError) as info:
        sample("banana", 10)
    msg = str(info.value)
    assert "banana" in msg
    for name in DATASETS:
        assert name in msg


def test_train_val_test() -> None:
    tr, va, te = train_val_test("two_spirals", 300, 100, 50, seed=7)
    assert tr.shape == (300, 2) and va.shape == (100, 2) and te.shape == (50, 2)
    tr2, va2, te2 = train_val_test("two_spirals", 300, 100, 50, seed=7)
    assert torch.equal(tr, tr2) and torch.equal(va, va2) and torch.equal(te, te2)
    # no shared rows between the splits
    rows = [set(map(tuple, t.tolist())) for t in (tr, va, te)]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])
    # different seed -> different split
    assert not torch.equal(tr, train_val_test("two_spirals", 300, 100, 50, seed=8)[0])
    # forwards kwargs, allows empty val/test
    tr, va, te = train_val_test("circles", 5, 0, 0, seed=0, dtype=torch.float64)
    assert tr.dtype == va.dtype == torch.float64 and va.shape == (0, 2) and te.shape == (0, 2)
    with pytest.raises(ValueError, match="n_train"):
        train_val_test("circles", 0, 1, 1)
    with pytest.raises(TypeError, match="n_val"):
        train_val_test("circles", 3, 1.0, 1)
    with pytest.raises(ValueError, match="nope"):
        train_val_test("nope", 3, 1, 1)


# --------------------------------------------------------------------------- #
# Energies: independent NumPy reference implementation of Table 1
# --------------------------------------------------------------------------- #


def _np_energy(name: str, z: np.ndarray) -> np.ndarray:
    z1, z2 = z[:, 0], z[:, 1]
    w1 = np.sin(2 * np.pi * z1 / 4)
    w2 = 3 * np.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 / (1 + np.exp(-(z1 - 1) / 0.3))
    if name == "U1":
        return 0.5 * ((np.linalg.norm(z, axis=1) - 2) / 0.4) ** 2 - np.log(
            np.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + np.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)
        )
    if name == "U2":
        return 0.5 * ((z2 - w1) / 0.4) ** 2
    if name == "U3":
        return -np.log(
            np.exp(-0.5 * ((z2 - w1) / 0.35) ** 2)
            + np.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2)
        )
    return -np.log(
        np.exp(-0.5 * ((z2 - w1) / 0.4) ** 2)
        + np.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2)
    )


SPOTS = np.array(
    [[0.0, 0.0], [2.0, 0.0], [0.3, -0.7], [1.0, -2.0], [2.5, 1.2], [-1.7, 0.4], [3.0, -3.5]]
)


def test_energy_registry() -> None:
    assert ENERGIES == {"U1": U1, "U2": U2, "U3": U3, "U4": U4}


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_spot_values(name: str) -> None:
    expected = _np_energy(name, SPOTS)
    got64 = ENERGIES[name](torch.tensor(SPOTS, dtype=torch.float64))
    np.testing.assert_allclose(got64.numpy(), expected, rtol=1e-12, atol=1e-12)
    got32 = ENERGIES[name](torch.tensor(SPOTS, dtype=torch.float32))
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_hand_computed_values() -> None:
    # U2 at (1, 1): w1 = sin(pi/2) = 1, so U2 = 0.
    assert U2(torch.tensor([[1.0, 1.0]])).item() == pytest.approx(0.0, abs=1e-7)
    # U1 at (2, 0): ring term 0; lobes -ln(1 + exp(-0.5 (4/0.6)^2)).
    expected = -math.log(1 + math.exp(-0.5 * (4 / 0.6) ** 2))
    assert U1(torch.tensor([[2.0, 0.0]], dtype=torch.float64)).item() == pytest.approx(expected)


@pytest.mark.parametrize("name", ENERGY_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_energy_shape_dtype_grad(name: str, dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(0)
    z = (3 * torch.randn(64, 2, generator=g)).to(dtype)
    z = torch.cat([z, torch.zeros(1, 2, dtype=dtype)])  # include the origin
    z.requires_grad_(True)
    u = ENERGIES[name](z)
    assert u.shape == (65,) and u.dtype == dtype
    assert torch.isfinite(u).all()
    (grad,) = torch.autograd.grad(u.sum(), z)
    assert grad.shape == z.shape and torch.isfinite(grad).all()


def test_energy_stable_far_out() -> None:
    z = torch.tensor([[30.0, -30.0], [-50.0, 40.0]])  # exp terms underflow in float32
    for fn in ENERGIES.values():
        u = fn(z)
        assert torch.isfinite(u).all()


def test_energy_gradcheck() -> None:
    z = torch.tensor([[0.3, -0.7], [2.5, 1.2], [-1.1, 0.2]], dtype=torch.float64, requires_grad=True)
    for fn in ENERGIES.values():
        assert torch.autograd.gradcheck(fn, (z,))


def test_u1_ring_at_radius_two() -> None:
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]], dtype=torch.float64)
    p = torch.exp(-U1(z))
    assert p[1] > p[0] and p[1] > p[2]
    # along the z1 axis the mode is close to radius 2
    t = torch.linspace(0.0, 4.0, 4001, dtype=torch.float64)
    zz = torch.stack([t, torch.zeros_like(t)], dim=1)
    assert abs(t[torch.argmin(U1(zz))].item() - 2.0) < 0.1


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_log_density_is_minus_u(name: str) -> None:
    z = torch.tensor(SPOTS)
    f = log_density(name)
    assert torch.equal(f(z), -ENERGIES[name](z))
    fn = log_density(name, normalize=True)
    assert torch.allclose(fn(z), -ENERGIES[name](z) - log_normalizer(name))


def test_unknown_energy_name() -> None:
    with pytest.raises(ValueError, match="U5") as info:
        log_density("U5")
    assert "U1" in str(info.value)
    with pytest.raises(ValueError, match="U5"):
        log_normalizer("U5")


@pytest.mark.parametrize(
    "shape", [(2,), (5, 3), (5, 1), (4, 2, 2), ()]
)
def test_bad_z_shape(shape: tuple[int, ...]) -> None:
    for fn in ENERGIES.values():
        with pytest.raises(ValueError, match=r"\(batch, 2\)"):
            fn(torch.zeros(shape))


def test_bad_z_type() -> None:
    for fn in ENERGIES.values():
        with pytest.raises(TypeError, match="Tensor"):
            fn([[0.0, 0.0]])
        with pytest.raises(TypeError, match="floating"):
            fn(torch.zeros(3, 2, dtype=torch.int64))


# --------------------------------------------------------------------------- #
# Normalising constants
# --------------------------------------------------------------------------- #

_BOUNDS = {"U1": (-6.0, 6.0), "U2": (-4.0, 4.0), "U3": (-4.0, 4.0), "U4": (-4.0, 4.0)}


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_normalised_density_integrates_to_one(name: str) -> None:
    """Midpoint rule on a 700x700 grid (the function uses a 1001^2 trapezoid grid)."""
    lo, hi = _BOUNDS[name]
    m = 700
    h = (hi - lo) / m
    c = lo + h * (np.arange(m) + 0.5)
    g1, g2 = np.meshgrid(c, c, indexing="ij")
    z = np.stack([g1.ravel(), g2.ravel()], axis=1)
    log_z = log_normalizer(name)
    mass = np.exp(-_np_energy(name, z) - log_z).sum() * h * h
    assert mass == pytest.approx(1.0, abs=2e-5)


def test_log_normalizer_analytic_u2_u3() -> None:
    # On [-4, 4]^2 the z2-integral of exp(-U2) is (up to ~1e-13) a full Gaussian
    # integral 0.4 sqrt(2 pi) for every z1, so Z = 8 * 0.4 sqrt(2 pi).
    assert log_normalizer("U2") == pytest.approx(math.log(8 * 0.4 * math.sqrt(2 * math.pi)), abs=1e-8)
    # U3: two full Gaussian branches of width 0.35 for every z1.
    assert log_normalizer("U3") == pytest.approx(math.log(8 * 2 * 0.35 * math.sqrt(2 * math.pi)), abs=1e-8)


def test_integrability() -> None:
    # U1 is integrable on R^2: widening the box does not change log Z.
    assert log_normalizer("U1", bounds=(-10.0, 10.0), n=801) == pytest.approx(log_normalizer("U1"), abs=1e-6)
    # U2 is not: Z grows in proportion to the z1-width of the box.
    wide = log_normalizer("U2", bounds=(-8.0, 8.0), n=801)
    assert wide == pytest.approx(log_normalizer("U2") + math.log(2.0), abs=1e-3)


def test_log_normalizer_validation() -> None:
    with pytest.raises(ValueError, match="bounds"):
        log_normalizer("U1", bounds=(3.0, -3.0))
    with pytest.raises(TypeError, match="bounds"):
        log_normalizer("U1", bounds=3.0)
    with pytest.raises(ValueError, match=r"\bn\b"):
        log_normalizer("U1", n=1)


def test_log_density_wall_makes_u2_normalisable() -> None:
    plain = data.log_density("U2")
    walled = data.log_density("U2", wall=0.05)
    inside = torch.tensor([[0.0, 0.5], [3.9, -3.9], [-2.0, 1.0]], dtype=torch.float64)
    assert torch.equal(walled(inside), plain(inside))
    outside = torch.tensor([[4.1, 0.0], [-5.0, 4.2]], dtype=torch.float64)
    expected = plain(outside) - 0.5 * torch.tensor([(0.1 / 0.05) ** 2, (1.0 / 0.05) ** 2 + (0.2 / 0.05) ** 2],
                                                   dtype=torch.float64)
    assert torch.allclose(walled(outside), expected)
    # the plain target's mass grows with the box; the walled one's does not
    from flowkit.grid import integrate_on_grid

    z5, z8 = (integrate_on_grid(walled, b, 1200) for b in (5.0, 8.0))
    assert abs(math.log(z8) - math.log(z5)) < 1e-6
    assert 0 <= math.log(z5) - data.log_normalizer("U2") < 0.03
    assert integrate_on_grid(plain, 8.0, 600) > 1.8 * integrate_on_grid(plain, 4.0, 300)


def test_log_density_wall_arguments() -> None:
    with pytest.raises(ValueError, match="wall must be a finite positive width"):
        data.log_density("U3", wall=0.0)
    with pytest.raises(ValueError, match="pass one of normalize or wall"):
        data.log_density("U3", wall=0.05, normalize=True)
