"""The explorers of notebook 07 (flowkit.widgets.posterior_explorer, class_explorer), headless, against known answers."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("ipywidgets")

import flowkit as fk  # noqa: E402
from flowkit import widgets  # noqa: E402
from flowkit.data.simulators import LinearGaussian, TwoMoonsSimulator, posterior_flow  # noqa: E402

A_DIAG, NOISE = (1.0, 2.0), 0.5


@pytest.fixture
def make():
    made = []

    def _make(factory, *args, **kwargs):
        ex = factory(*args, **kwargs)
        made.append(ex)
        return ex

    yield _make
    for ex in made:
        ex.close()


def exact_posterior_flow(shift: tuple[float, float] = (0.0, 0.0)) -> fk.Flow:
    """A conditional flow equal to the posterior of the diagonal linear Gaussian model (means moved by ``shift``).

    With A = diag(a), prior N(0, I) and noise σ: p(θ_i | x) = N(v_i a_i x_i / σ², v_i), v_i = 1 / (1 + a_i² / σ²).
    """
    a = torch.tensor(A_DIAG)
    v = 1.0 / (1.0 + a**2 / NOISE**2)
    net = torch.nn.Linear(2, 4)
    with torch.no_grad():
        net.weight.zero_()
        net.weight[:2] = torch.diag(v * a / NOISE**2)
        net.bias.zero_()
        net.bias[:2] = torch.tensor(shift)
        net.bias[2:] = 0.5 * torch.log(v)
    return fk.Flow(fk.Affine(2), fk.ConditionalDiagNormal(2, context_features=2, net=net))


def linear_log_posterior(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return LinearGaussian(torch.diag(torch.tensor(A_DIAG)), noise=NOISE).log_posterior(theta, x)


def test_posterior_explorer_contract_and_size(make):
    import ipywidgets as W

    ex = make(widgets.posterior_explorer, exact_posterior_flow(), linear_log_posterior, bounds=(-3.0, 3.0),
              resolution=60)
    assert isinstance(ex, widgets.Explorer)
    assert set(ex.sliders) == {"x1", "x2"} and all(isinstance(s, W.FloatSlider) for s in ex.sliders.values())
    assert isinstance(ex.widget, W.Box)
    width, _ = ex.fig.get_size_inches()
    assert width * ex.fig.dpi <= 850, f"figure is {width * ex.fig.dpi:.0f} px wide; the output area holds ~850"


def test_posterior_explorer_exact_flow_has_zero_kl(make):
    ex = make(widgets.posterior_explorer, exact_posterior_flow(), linear_log_posterior, bounds=(-3.0, 3.0),
              resolution=120)
    state = ex.update(x1=0.6, x2=-0.4)
    sim = LinearGaussian(torch.diag(torch.tensor(A_DIAG)), noise=NOISE)
    mean, _ = sim.posterior(torch.tensor([[0.6, -0.4]]))
    assert state["possible"] and abs(state["q_mass"] - 1.0) < 1e-3, state["q_mass"]
    assert abs(state["kl"]) < 1e-5, f"q equals the posterior, KL(p||q) should be 0, got {state['kl']}"
    assert np.allclose(state["q_mean"], state["p_mean"], atol=1e-5)
    assert np.allclose(state["p_mean"], mean[0].numpy(), atol=2e-3), (state["p_mean"], mean)


def test_posterior_explorer_kl_of_a_shifted_flow_is_the_gaussian_kl(make):
    """Moving q's mean by δ gives KL(p‖q) = ½ δᵀ Σ⁻¹ δ for Gaussians with the same covariance."""
    delta = torch.tensor([0.1, -0.05])
    ex = make(widgets.posterior_explorer, exact_posterior_flow(tuple(delta.tolist())), linear_log_posterior,
              bounds=(-3.0, 3.0), resolution=200)
    state = ex.update(x1=-0.3, x2=0.2)
    a = torch.tensor(A_DIAG, dtype=torch.float64)
    v = 1.0 / (1.0 + a**2 / NOISE**2)
    expected = float(0.5 * (delta.double() ** 2 / v).sum())
    assert state["kl"] == pytest.approx(expected, rel=0.02), (state["kl"], expected)


def test_posterior_explorer_two_moons_symmetry_and_impossible_x(make):
    sim = TwoMoonsSimulator()
    flow = posterior_flow(2, 2, n_layers=2, hidden=(8,))
    ex = make(widgets.posterior_explorer, flow, sim.log_posterior, x_ranges=((-1.25, 0.4), (-1.2, 1.2)),
              bounds=(-1.0, 1.0), resolution=100)
    state = ex.update(x1=-0.2, x2=0.3)
    # the posterior is symmetric under θ → (−θ₂, −θ₁), so its mean lies on θ₁ + θ₂ = 0
    assert state["possible"] and abs(sum(state["p_mean"])) < 1e-6, state["p_mean"]
    # x₁ < 1/4 − √2 needs q₁ = x₁ − c₁(θ) − 1/4 > 0 with c₁ ≥ −√2: no θ in the box produces it
    far = ex.update(x1=-1.25, x2=1.2)
    assert not far["possible"] and math.isnan(far["kl"]), far
    assert ex.artists["text"].get_text().endswith("no θ in the box can produce this x")


def test_posterior_explorer_rejects_bad_input():
    with pytest.raises(TypeError, match="flowkit.Flow"):
        widgets.posterior_explorer(object(), linear_log_posterior)
    with pytest.raises(TypeError, match="log_posterior"):
        widgets.posterior_explorer(exact_posterior_flow(), None)


def test_class_explorer_untrained_model_is_undecided(make):
    model = fk.image.ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)  # zero-initialised: same p(x|y) for all y
    ex = make(widgets.class_explorer, model, n_samples=6, ncol=3)
    assert set(ex.sliders) == {"label", "T"}
    state = ex.update(label=4, T=0.5)
    assert state["label"] == 4 and state["images"].shape == (6, 1, 8, 8)
    assert np.allclose(state["posterior"], 0.1, atol=1e-6), state["posterior"]
    width, _ = ex.fig.get_size_inches()
    assert width * ex.fig.dpi <= 850


def test_class_explorer_zero_temperature_gives_the_class_mean_image(make):
    model = fk.image.ConditionalRealNVP(n_couplings=1, hidden=8, seed=0)
    with torch.no_grad():  # give every class its own base mean, so the classes differ
        model.base.net.bias[:64] = torch.linspace(-1, 1, 64)
        model.base.net.weight[:64] = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    ex = make(widgets.class_explorer, model, n_samples=5, ncol=5)
    s0 = ex.update(label=2, T=0.0)
    imgs = s0["images"]
    assert (imgs == imgs[:1]).all(), "at T = 0 every sample is the image of the class mean"
    s1 = ex.update(label=7)
    assert not torch.equal(s1["images"], imgs), "another class should give other images"
    assert abs(sum(s1["posterior"]) - 1.0) < 1e-6 and s1["agreement"] in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_class_explorer_rejects_a_plain_flow():
    with pytest.raises(TypeError, match="class-conditional"):
        widgets.class_explorer(fk.image.RealNVP(n_couplings=1, hidden=8, seed=0))


def test_explorer_canvas_is_an_ipympl_widget_in_a_kernel_and_pyplot_keeps_its_backend():
    """In a kernel the explorer gets its own ipympl canvas; importing ipympl must not switch pyplot
    away from the notebook's backend (``%matplotlib inline``: static figures stay inline images)."""
    import subprocess
    import sys

    code = """
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
import IPython, ipywidgets
class Events:
    def register(self, *args):
        pass
class FakeShell:
    kernel = object()
    events = Events()
IPython.get_ipython = lambda: FakeShell()
from flowkit import widgets
from tests.test_widgets_at_work import exact_posterior_flow, linear_log_posterior
ex = widgets.posterior_explorer(exact_posterior_flow(), linear_log_posterior, bounds=(-3.0, 3.0), resolution=20)
assert isinstance(ex.fig.canvas, ipywidgets.DOMWidget), type(ex.fig.canvas)
assert matplotlib.get_backend().lower() == "agg", matplotlib.get_backend()
print("ok")
"""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
