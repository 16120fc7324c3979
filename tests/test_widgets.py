"""The slider explorers of flowkit.widgets, headless (Agg backend, no browser)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("ipywidgets")

from flowkit import widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def make():
    made = []

    def _make(factory, **kwargs):
        ex = factory(**kwargs)
        made.append(ex)
        return ex

    yield _make
    for ex in made:
        ex.close()


def _image_integral(ex) -> float:
    img = ex.artists["density"]
    arr = np.asarray(img.get_array(), dtype=np.float64)
    x0, x1, y0, y1 = img.get_extent()
    return float(arr.sum() * (x1 - x0) * (y1 - y0) / arr.size)


def _shoelace(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


# -- the common Explorer contract ----------------------------------------------------------------
FACTORIES = {
    "change_of_variables_1d": widgets.change_of_variables_1d,
    "linear_map_2d": widgets.linear_map_2d,
    "planar_explorer": widgets.planar_explorer,
    "radial_explorer": widgets.radial_explorer,
    "coupling_explorer": widgets.coupling_explorer,
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_explorer_contract(name, make):
    import ipywidgets as W
    from matplotlib.figure import Figure

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        ex = make(FACTORIES[name])
        ex.update(**{k: float(s.min) for k, s in ex.sliders.items()})
        assert torch.get_num_threads() == 2, f"{name}: an explorer must not change the process's thread count"
    finally:
        torch.set_num_threads(before)
    assert isinstance(ex, widgets.Explorer)
    assert isinstance(ex.fig, Figure)
    assert ex.sliders and all(isinstance(s, W.FloatSlider) for s in ex.sliders.values())
    assert ex.artists
    # Under Agg the canvas is not a widget, so .widget holds the sliders and the readout line.
    assert isinstance(ex.widget, W.Box)
    controls, readout = ex.widget.children
    assert set(controls.children) == set(ex.sliders.values()) and readout is ex.readout
    assert ex.readout.value == ex.state["readout"] and "=" in ex.readout.value
    ex._ipython_display_()  # outside a notebook IPython's display() prints the widget's repr
    for ax in ex.fig.axes:
        assert ax.get_title(), f"{name}: every axes needs a title"
        assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: every axes needs x/y labels"
    for im in ex.fig.axes[0].images:
        assert im.get_cmap().name == "viridis"
    assert "update_ms" in ex.state and "values" in ex.state


@pytest.mark.parametrize("name", list(FACTORIES))
def test_unknown_slider_name_raises(name, make):
    ex = make(FACTORIES[name])
    with pytest.raises(ValueError) as err:
        ex.update(nope=1.0)
    msg = str(err.value)
    assert "nope" in msg
    for valid in ex.sliders:
        assert valid in msg


def test_update_redraws_once_and_in_place(make):
    ex = make(widgets.planar_explorer)
    ex.fig.canvas.draw()  # a full draw keeps the static background; updates then blit
    before = dict(ex.renders)
    image, scatter = ex.artists["density"], ex.artists["samples"]
    n_axes_artists = [len(ax.get_children()) for ax in ex.fig.axes]
    ex.update(u1=-0.5, w2=1.0, b=0.3)
    assert ex.renders == {"blit": before["blit"] + 1, "full": before["full"]}, \
        "update() with several values must redraw once, by blitting"
    assert ex.artists["density"] is image and ex.artists["samples"] is scatter
    assert [len(ax.get_children()) for ax in ex.fig.axes] == n_axes_artists, "no artists added"
    assert ex.state["values"]["u1"] == -0.5 and ex.state["values"]["b"] == pytest.approx(0.3, abs=1e-12)


BLIT_MOVES = {
    "change_of_variables_1d": dict(skew=-0.3, tail=1.3),
    "linear_map_2d": dict(a=0.7, b=-1.0),
    "planar_explorer": dict(u1=-2.0, w1=2.0, w2=1.0, b=0.5),
    "radial_explorer": dict(alpha=0.37, beta=-3.0),
    "coupling_explorer": dict(s0=0.4, t1=-1.0),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_blitted_update_equals_a_full_draw(name, make):
    """The blitted frame (background + changing artists) is pixel for pixel a full redraw."""
    ex = make(FACTORIES[name])
    canvas = ex.fig.canvas
    canvas.draw()
    ex.update(**BLIT_MOVES[name])
    blitted = np.array(canvas.buffer_rgba(), copy=True)
    canvas.draw()
    full = np.asarray(canvas.buffer_rgba())
    assert np.array_equal(blitted, full), f"{name}: {(blitted != full).any(-1).mean():.2%} of pixels differ"
    width, height = canvas.get_width_height()
    assert width <= 820, f"{name}: {width} px wide; the output area is ~850 px at 1280 px with the file browser open"


def test_changes_from_the_browser_are_coalesced(make):
    """A burst of browser events redraws at once, then once more with the latest value."""
    import asyncio

    ex = make(widgets.radial_explorer)
    slider = ex.sliders["beta"]
    assert hasattr(slider, "from_frontend")

    async def burst():
        await asyncio.sleep(2 * ex.min_interval_s)  # idle: the first event redraws at once
        for v in (0.1, 0.2, 0.3, 0.4, 0.5):
            slider.set_state({"value": v})  # what ipywidgets calls for a change sent by the browser
        first = ex.state["values"]["beta"]
        await asyncio.sleep(3 * ex.min_interval_s)
        return first

    computed = []
    compute = ex._compute
    ex._compute = lambda v: computed.append(v["beta"]) or compute(v)
    first = asyncio.run(burst())
    assert first == 0.1 and computed == [0.1, 0.5], f"expected one redraw now and one of the latest value, got {computed}"
    assert ex.state["values"]["beta"] == 0.5
    # Without an event loop (plain Python) every change redraws at once; code changes always do.
    slider.set_state({"value": 0.7})
    assert ex.state["values"]["beta"] == 0.7
    slider.value = 0.9
    assert ex.state["values"]["beta"] == 0.9


# -- values set from code sit on the slider's grid, as the browser computes it ------------------
def test_on_grid_reproduces_the_browser_and_is_a_fixed_point():
    from flowkit.course.widgets.sliders import _nouislider

    # the values the issue saw coming back from the browser (noUiSlider's arithmetic)
    assert widgets.on_grid(1.8, 0.6, 2.0, 0.01) == 1.7999999999999998
    assert widgets.on_grid(0.8, 0.6, 2.0, 0.01) == 0.8
    assert widgets.on_grid(1.0, 0.0, 1.2, 0.05) == 1.0000000000000002
    assert widgets.on_grid(0.7, 0.0, 1.2, 0.05) == 0.7
    rng = np.random.default_rng(0)
    for lo, hi, step in [(-3.0, 3.0, 0.01), (-2.0, 2.0, 0.01), (0.6, 2.0, 0.01), (0.05, 3.0, 0.01), (0.0, 1.2, 0.05)]:
        for v in rng.uniform(lo - 0.5, hi + 0.5, 300):
            g = widgets.on_grid(float(v), lo, hi, step)
            assert _nouislider(g, lo, hi, step) == g, (v, g)
            assert lo <= g <= hi and abs(g - min(max(v, lo), hi)) <= step / 2 + 1e-12
            up, down = widgets.on_grid(float(v), lo, hi, step, +1), widgets.on_grid(float(v), lo, hi, step, -1)
            assert up >= min(max(v, lo), hi) - 1e-9 * step and down <= max(min(v, hi), lo) + 1e-9 * step
    with pytest.raises(ValueError, match="step"):
        widgets.on_grid(1.0, 0.0, 1.0, 0.0)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_update_puts_values_on_the_slider_grid(name, make):
    from flowkit.course.widgets.sliders import _nouislider

    ex = make(FACTORIES[name])
    for key, s in ex.sliders.items():  # the initial values too
        assert _nouislider(s.value, s.min, s.max, s.step) == s.value, (key, s.value)
    wanted = {k: s.min + 0.37 * (s.max - s.min) + 0.0031 for k, s in ex.sliders.items()}
    ex.update(**wanted)
    for key, s in ex.sliders.items():
        assert _nouislider(s.value, s.min, s.max, s.step) == s.value, (key, s.value)
        if not (name == "radial_explorer" and key == "beta"):
            assert abs(s.value - wanted[key]) <= s.step / 2 + 1e-12
        assert ex.state["values"][key] == s.value


# -- 1. change of variables in 1-D ---------------------------------------------------------------
def test_change_of_variables_1d(make):
    ex = make(widgets.change_of_variables_1d)
    line, hist = ex.artists["density"], ex.artists["hist"]
    y0 = np.array(line.get_ydata(), copy=True)
    h0 = np.array(hist.get_data().values, copy=True)
    ex.sliders["skew"].value = -0.7  # the observer must fire
    assert ex.sliders["skew"].value == -0.7
    assert ex.state["values"]["skew"] == -0.7
    assert not np.allclose(line.get_ydata(), y0)
    assert not np.allclose(hist.get_data().values, h0)
    assert abs(ex.state["integral"] - 1.0) < 1e-3
    # The formula density matches an independent evaluation: p_z(f⁻¹(x)) |df⁻¹/dx| by finite differences.
    skew, tail, scale = (ex.state["values"][k] for k in ("skew", "tail", "scale"))
    x = np.asarray(line.get_xdata())
    inv = lambda x: np.sinh(tail * np.arcsinh(x / scale) - skew)  # noqa: E731
    h = 1e-5
    expected = np.exp(-0.5 * inv(x) ** 2) / math.sqrt(2 * math.pi) * (inv(x + h) - inv(x - h)) / (2 * h)
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-5, atol=1e-8)
    # The histogram (normalised by all samples) agrees with the formula within sampling noise.
    edges = np.asarray(hist.get_data().edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    formula = np.interp(centres, x, line.get_ydata())
    assert np.abs(np.asarray(hist.get_data().values) - formula).max() < 0.05
    ex.update(tail=1.7, scale=0.6)
    assert abs(ex.state["integral"] - 1.0) < 1e-3


# -- 2. linear maps ------------------------------------------------------------------------------
def test_linear_map_area_is_abs_det(make):
    ex = make(widgets.linear_map_2d)
    poly, scatter = ex.artists["square"], ex.artists["samples"]
    xy0 = np.array(poly.get_xy(), copy=True)
    off0 = np.array(scatter.get_offsets(), copy=True)
    ex.sliders["a"].value = -1.5
    assert ex.sliders["a"].value == -1.5
    assert not np.allclose(poly.get_xy(), xy0)
    assert not np.allclose(scatter.get_offsets(), off0)
    A = np.array(ex.state["matrix"])
    assert ex.state["det"] == pytest.approx(np.linalg.det(A))
    assert _shoelace(np.asarray(poly.get_xy())) == pytest.approx(abs(np.linalg.det(A)), rel=1e-9)
    assert ex.state["area"] == pytest.approx(abs(ex.state["det"]), rel=1e-9)
    assert ex.state["det"] < 0  # orientation flipped, area still |det|
    assert abs(ex.state["integral"] - 1.0) < 1e-2
    assert abs(_image_integral(ex) - ex.state["integral"]) < 1e-6
    # The samples are A z for the same fixed base samples: doubling A doubles every offset.
    before = np.array(scatter.get_offsets(), copy=True)
    v = ex.state["values"]
    ex.update(**{k: 0.5 * x for k, x in v.items()})
    np.testing.assert_allclose(scatter.get_offsets(), 0.5 * before, rtol=1e-6, atol=1e-9)
    assert ex.state["area"] == pytest.approx(0.25 * abs(np.linalg.det(A)), rel=1e-9)


def test_linear_map_not_invertible(make):
    ex = make(widgets.linear_map_2d)
    ex.update(a=1.0, b=1.0, c=0.5, d=0.5)  # det = 0
    assert ex.state["invertible"] is False
    assert ex.state["det"] == pytest.approx(0.0, abs=1e-12)
    assert ex.state["area"] == pytest.approx(0.0, abs=1e-12)
    assert "not invertible: the density is undefined" in ex.readout.value
    assert ex.artists["singular"].get_visible()
    assert math.isnan(ex.state["integral"]) and ex.state["logdet"] == -math.inf
    assert np.all(np.asarray(ex.artists["density"].get_array()) == 0)
    ex.fig.canvas.draw()  # renders without error
    ex.sliders["b"].value = 0.0  # and recovers
    assert ex.state["invertible"] is True
    assert "not invertible" not in ex.readout.value and not ex.artists["singular"].get_visible()
    assert abs(ex.state["integral"] - 1.0) < 1e-2


# -- 3. planar -----------------------------------------------------------------------------------
def test_planar_explorer(make):
    ex = make(widgets.planar_explorer)
    img0 = np.array(ex.artists["density"].get_array(), copy=True)
    off0 = np.array(ex.artists["samples"].get_offsets(), copy=True)
    line0 = np.array(ex.artists["line"].get_xydata(), copy=True)
    ex.sliders["w1"].value = 1.0
    assert ex.sliders["w1"].value == 1.0
    ex.sliders["w2"].value = 1.5
    assert ex.state["values"]["w2"] == 1.5
    assert not np.allclose(ex.artists["density"].get_array(), img0)
    assert not np.allclose(ex.artists["samples"].get_offsets(), off0)
    assert not np.allclose(ex.artists["line"].get_xydata(), line0)
    assert abs(ex.state["integral"] - 1.0) < 1e-3
    assert abs(_image_integral(ex) - ex.state["integral_grid"]) < 1e-4
    assert ex.state["grid_resolves"] is True
    assert ex.state["wu_hat"] > -1
    # The state is the constrained û of the flowkit.Planar with these raw parameters.
    from flowkit import Planar

    p = Planar(2)
    with torch.no_grad():
        p.u.copy_(torch.tensor([ex.state["values"]["u1"], ex.state["values"]["u2"]]))
        p.w.copy_(torch.tensor([1.0, 1.5]))
        assert ex.state["wu_hat"] == pytest.approx(float(p.w @ p.u_hat()), abs=1e-6)
    # A raw u that would break invertibility (wᵀu < -1) is constrained, density still integrates.
    ex.update(u1=-0.6, u2=-0.3, b=0.5)  # wᵀu = -1.05
    assert -1 < ex.state["wu_hat"] < 0
    assert abs(ex.state["integral"] - 1.0) < 1e-3
    # Points on wᵀx + b = 0 are fixed by the map: the plotted line satisfies the equation.
    (x0, x1), (y0, y1) = ex.artists["line"].get_data()
    for px, py in ((x0, y0), (x1, y1)):
        assert 1.0 * px + 1.5 * py + 0.5 == pytest.approx(0.0, abs=1e-9)


def _mass_in_box(u, w, b, bounds=5.0, n=400_000):
    """P(f(z) ∈ box) by Monte Carlo in float64, and its standard error."""
    from flowkit import Planar

    p = Planar(2).double()
    with torch.no_grad():
        p.u.copy_(torch.tensor(u, dtype=torch.float64))
        p.w.copy_(torch.tensor(w, dtype=torch.float64))
        p.b.fill_(b)
        z = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        inside = (p.forward(z)[0].abs() <= bounds).all(1).double()
    f = float(inside.mean())
    return f, math.sqrt(max(f * (1 - f), 1.0 / n) / n)


@pytest.mark.parametrize("setting", [
    dict(u1=-3.0, u2=-3.0, w1=3.0, w2=3.0, b=2.0),     # u opposite to w: wᵀû = −1 + 1e-4, a needle
    dict(u1=-2.0, u2=1.0, w1=2.0, w2=1.0, b=0.5),      # notebook 02's squeeze
    dict(u1=3.0, u2=3.0, w1=3.0, w2=3.0, b=2.0),       # split far apart: mass leaves the box
    dict(u1=1.0, u2=0.5, w1=0.05, w2=0.02, b=-2.0),    # tiny w: û is long
    dict(u1=0.0, u2=3.0, w1=3.0, w2=0.0, b=2.0),       # shear
])
def test_planar_integral_is_right_at_extreme_settings(setting, make):
    ex = make(widgets.planar_explorer)
    st = ex.update(**setting)
    v = st["values"]
    mass, se = _mass_in_box((v["u1"], v["u2"]), (v["w1"], v["w2"]), v["b"])
    assert abs(st["integral"] - mass) < 5 * se + 5e-4, f"{setting}: ∫p = {st['integral']:.5f}, mass in the box {mass:.5f} ± {se:.5f}"
    text = ex.readout.value
    assert "−1.000" not in text and "-1.000" not in text, text
    if not st["grid_resolves"]:
        assert abs(st["integral_grid"] - st["integral"]) >= 0.01 and "pixel" in text


def test_planar_integral_catches_a_wrong_log_det():
    """The flow-aligned sum measures cell areas from the map, so a wrong log-det shows."""
    from flowkit import Planar

    class WrongPlanar(Planar):
        def forward(self, z):
            x, ld = super().forward(z)
            return x, 0.5 * ld  # half the log-det

    p = WrongPlanar(2)
    with torch.no_grad():
        p.u.copy_(torch.tensor([-2.0, 1.0]))
        p.w.copy_(torch.tensor([2.0, 1.0]))
        p.b.fill_(0.5)
    assert abs(widgets.planar_box_integral(p, 5.0) - 1.0) > 0.05
    with torch.no_grad():
        p.w.zero_()
    assert math.isnan(widgets.planar_box_integral(p, 5.0)), "w = 0 has no line to follow"


# -- 4. radial -----------------------------------------------------------------------------------
def test_radial_explorer(make):
    ex = make(widgets.radial_explorer)
    img0 = np.array(ex.artists["density"].get_array(), copy=True)
    off0 = np.array(ex.artists["samples"].get_offsets(), copy=True)
    ex.sliders["beta"].value = -0.5
    assert ex.sliders["beta"].value == -0.5
    assert not np.allclose(ex.artists["density"].get_array(), img0)
    assert not np.allclose(ex.artists["samples"].get_offsets(), off0)
    assert ex.state["alpha"] == pytest.approx(1.0, abs=1e-5)
    assert ex.state["beta"] == pytest.approx(-0.5, abs=1e-5)
    assert abs(ex.state["integral"] - 1.0) < 1e-2
    assert abs(_image_integral(ex) - ex.state["integral"]) < 1e-4
    ex.sliders["z0_1"].value = -1.0
    assert list(ex.artists["centre"].get_xdata()) == [-1.0]
    # β below -α is clamped (slider shows the clamped value), never an exception.
    ex.update(alpha=0.5, beta=-2.0)
    assert ex.state["beta_clamped"] is True
    assert ex.sliders["beta"].value == pytest.approx(-0.49)
    assert ex.state["beta"] > -ex.state["alpha"]
    assert "clamped" in ex.readout.value
    assert np.isfinite(ex.state["integral"])
    # −0.98·α off the slider's grid: clamped to the first step above it, so still > −α
    ex.update(alpha=0.37, beta=-3.0)
    assert ex.state["beta_clamped"] is True and ex.sliders["beta"].value == pytest.approx(-0.36)
    assert -0.98 * 0.37 < ex.state["beta"] < -0.98 * 0.37 + 0.01
    ex.update(beta=0.5)
    assert ex.state["beta_clamped"] is False and "clamped" not in ex.readout.value


# -- 5. coupling ---------------------------------------------------------------------------------
def test_coupling_explorer(make):
    ex = make(widgets.coupling_explorer)
    img0 = np.array(ex.artists["density"].get_array(), copy=True)
    off0 = np.array(ex.artists["samples"].get_offsets(), copy=True)
    jac0 = np.array(ex.state["jacobian"])
    ex.sliders["s0"].value = -0.3
    assert ex.sliders["s0"].value == -0.3
    assert not np.allclose(ex.artists["density"].get_array(), img0)
    assert not np.allclose(ex.artists["samples"].get_offsets(), off0)
    assert not np.allclose(ex.state["jacobian"], jac0)
    assert "<b>0</b>" in ex.readout.value, "the readout shows the exact zero above the diagonal"
    assert abs(ex.state["integral"] - 1.0) < 1e-2
    assert abs(_image_integral(ex) - ex.state["integral"]) < 1e-4
    J = np.array(ex.state["jacobian"])
    assert J[0, 1] == 0.0 and J[0, 0] == 1.0  # lower-triangular, x1 = z1
    assert ex.state["det"] == pytest.approx(math.exp(ex.state["logdet"]), rel=1e-9)
    # Closed form at the probe: s = s0 + s1 tanh(z1), ∂x2/∂z1 = z2 e^s s1 (1 - tanh²) + t1 cos(z1).
    v = ex.state["values"]
    from flowkit.course.widgets.flows import _PROBE
    z1, z2 = _PROBE
    s = v["s0"] + v["s1"] * math.tanh(z1)
    assert J[1, 1] == pytest.approx(math.exp(s), rel=1e-6)
    assert J[1, 0] == pytest.approx(z2 * math.exp(s) * v["s1"] * (1 - math.tanh(z1) ** 2)
                                    + v["t1"] * math.cos(z1), rel=1e-6)


def test_hand_coupling_is_an_exact_flowkit_transform():
    from flowkit import check

    t = widgets.HandCoupling().double()
    with torch.no_grad():
        t.theta.copy_(torch.tensor([0.3, -0.7, 0.5, 1.2]))
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    report = check(t, x, integrate=False)
    assert report.passed, str(report)


def test_in_a_kernel_explorers_draw_on_an_ipympl_canvas(tmp_path):
    """In a Jupyter kernel .widget is the sliders plus an ipympl canvas, whatever pyplot's backend."""
    if importlib.util.find_spec("ipympl") is None or importlib.util.find_spec("nbclient") is None:
        pytest.skip("ipympl and nbclient are needed")
    import nbformat
    from nbclient import NotebookClient

    code = (
        "%matplotlib inline\n"
        "import matplotlib.pyplot as plt\n"
        "from flowkit import widgets\n"
        "ex = widgets.radial_explorer()\n"
        "c = ex.fig.canvas\n"
        "from ipympl.backend_nbagg import Canvas\n"
        "assert isinstance(c, Canvas), type(c)\n"
        "assert ex.widget.children[-1] is c and c.header_visible is False and c.toolbar_visible is False\n"
        "frames = []\n"
        "c.send_binary = frames.append  # what ipympl sends the browser\n"
        "c.draw()\n"
        "ex.update(beta=0.5)\n"
        "assert len(frames) == 2 and all(f[:4] == b'\\x89PNG' for f in frames), frames\n"
        "assert ex.renders['blit'] >= 1, ex.renders\n"
        "assert plt.get_fignums() == [], 'explorer figures are not pyplot figures'\n"
        "import matplotlib\n"
        "assert 'inline' in matplotlib.get_backend(), matplotlib.get_backend()\n"
        "fig, ax = plt.subplots()\n"
        "assert type(fig.canvas).__module__.startswith('matplotlib'), type(fig.canvas)\n"
        "plt.close(fig)\n"
        "ex.update(beta=-0.5)\n"
        "assert abs(ex.state['integral'] - 1) < 1e-2\n"
        "print('ok')\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "ok" in out, nb.cells[0].outputs


# -- the latency benchmark (smoke: runs, prints the table; no timing assertion) -------------------
def test_widget_latency_smoke(capsys):
    spec = importlib.util.spec_from_file_location("widget_latency", ROOT / "benchmarks" / "widget_latency.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = mod.main(["--smoke"])
    out = capsys.readouterr().out
    assert rc == 0
    for name in FACTORIES:
        assert name in out
    assert "median" in out and "torch threads" in out
