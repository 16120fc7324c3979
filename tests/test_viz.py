"""Tests of flowkit.viz (Agg backend): returned artists, labels, and the plotted values."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from flowkit import Affine, AffineCoupling, Compose, Flow, Planar, Reverse, StandardNormal  # noqa: E402
from flowkit.grid import grid_points  # noqa: E402
from flowkit.train import History, fit, fit_reverse_kl  # noqa: E402
from flowkit.course.viz import (  # noqa: E402
    plot_density, plot_energy, plot_grid_deformation, plot_history, plot_samples,
)

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel()) and bool(ax.get_title())


def planar_flow(k: int = 3, seed: int = 0) -> Flow:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Flow(Compose([Planar(2, init_scale=1.0) for _ in range(k)]), StandardNormal(2))


def std_normal_log_prob(x: torch.Tensor) -> torch.Tensor:
    return -0.5 * (x ** 2).sum(1) - math.log(2 * math.pi)


def test_plot_density_of_flow_matches_log_prob_on_grid():
    flow = planar_flow()
    flow.train()
    img = plot_density(flow, bounds=3.0, resolution=40, colorbar=True)
    assert isinstance(img, AxesImage) and labelled(img.axes)
    assert flow.training  # the mode is restored
    pts, _, _, _ = grid_points(3.0, 40)
    with torch.no_grad():
        expected = torch.exp(flow.log_prob(pts)).view(40, 40).double().numpy()
    np.testing.assert_allclose(np.asarray(img.get_array()), expected, rtol=1e-5, atol=1e-7)
    assert img.get_extent() == [-3.0, 3.0, -3.0, 3.0] or tuple(img.get_extent()) == (-3.0, 3.0, -3.0, 3.0)
    assert img.origin == "lower"
    assert len(img.axes.figure.axes) == 2  # the colour bar


def test_plot_density_callable_log_and_bounds():
    fig, ax = plt.subplots()
    img = plot_density(std_normal_log_prob, ax=ax, bounds=((-2, 4), (-1, 1)), resolution=30, log=True,
                       title="N(0, I)")
    assert img.axes is ax and ax.get_title() == "N(0, I)" and ax.get_xlabel() and ax.get_ylabel()
    pts, _, _, _ = grid_points(((-2, 4), (-1, 1)), 30)
    np.testing.assert_allclose(np.asarray(img.get_array()), std_normal_log_prob(pts).view(30, 30).numpy(),
                               rtol=1e-5)
    # rows are indexed by x2: the first row is the lowest x2, the density peaks at x = 0
    arr = np.exp(np.asarray(img.get_array()))
    r, c = np.unravel_index(arr.argmax(), arr.shape)
    assert abs(pts.view(30, 30, 2)[r, c, 0]) < 0.2 and abs(pts.view(30, 30, 2)[r, c, 1]) < 0.1
    assert ax.get_xlim() == (-2.0, 4.0) and ax.get_ylim() == (-1.0, 1.0)


def test_plot_energy_scaled_to_peak_one():
    def log_density(x):  # unnormalised, peak value exp(5)
        return 5.0 - 0.5 * ((x - 1.0) ** 2).sum(1)

    img = plot_energy(log_density, bounds=4.0, resolution=50)
    assert isinstance(img, AxesImage) and labelled(img.axes)
    pts, _, _, _ = grid_points(4.0, 50)
    lp = log_density(pts).double()
    expected = torch.exp(lp - lp.max()).view(50, 50).numpy()
    np.testing.assert_allclose(np.asarray(img.get_array()), expected, rtol=1e-5, atol=1e-12)
    assert np.asarray(img.get_array()).max() == pytest.approx(1.0)


def test_plot_samples_returns_collection_with_the_points():
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    pts = plot_samples(x, bounds=3.0, title="base samples")
    assert isinstance(pts, PathCollection) and labelled(pts.axes)
    assert pts.axes.get_title() == "base samples"
    np.testing.assert_allclose(pts.get_offsets(), x.numpy(), rtol=1e-6)
    assert pts.axes.get_xlim() == (-3.0, 3.0)
    default = plot_samples(x.numpy())
    assert "300" in default.axes.get_title()


def test_plot_grid_deformation_panels_follow_the_layers():
    flow = planar_flow(3)
    fig = plot_grid_deformation(flow.transform, bounds=2.0, n_lines=5, points_per_line=50, n_samples=100)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(flow.transform) + 1 == 4
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == "z (base)"
    assert titles[1] == "after layer 1 (Planar)" and titles[2] == "after layer 2 (Planar)"
    assert titles[-1].startswith("x") and "layer 3 (Planar)" in titles[-1]
    assert all(labelled(ax) for ax in panels)
    # the first horizontal line, pushed through all the layers, is what the last panel shows
    t = torch.linspace(-2.0, 2.0, 50)
    line = torch.stack([t, torch.full_like(t, -2.0)], 1)
    with torch.no_grad():
        x, _ = flow.transform.forward(line)
    drawn = panels[-1].lines[0].get_xydata()
    np.testing.assert_allclose(drawn, x.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(panels[0].lines[0].get_xydata(), line.numpy(), atol=1e-6)
    assert len(panels[0].lines) == 10 and len(panels[0].collections) == 1


def test_plot_grid_deformation_options():
    flow = Flow(Compose([m for _ in range(3) for m in (AffineCoupling(2, hidden=(8,)), Reverse(2))]),
                StandardNormal(2))
    fig = plot_grid_deformation(flow, max_panels=3, n_lines=3, points_per_line=10, n_samples=0)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["z (base)", "after layer 3 (AffineCoupling)",
                                                 "x = after layer 6 (Reverse)"]
    fig = plot_grid_deformation(Planar(2), n_lines=3, points_per_line=10)  # a single transform: z and x
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    _, axes = plt.subplots(1, 4)
    assert plot_grid_deformation(planar_flow(3), axes=axes, n_lines=3, points_per_line=10) is axes[0].figure
    with pytest.raises(ValueError, match="axes"):
        plot_grid_deformation(planar_flow(3), axes=axes[:2])
    with pytest.raises(TypeError, match="transform"):
        plot_grid_deformation("planar")


def test_plot_history_labels_for_both_objectives():
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    flow = Flow(Affine(2), StandardNormal(2))
    hist = fit(flow, x, steps=30, val_data=x[:50])
    ax = plot_history(hist)
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "negative log-likelihood (nats)" and ax.get_title()
    labels = ax.get_legend_handles_labels()[1]
    assert any("validation" in s for s in labels) and any("train" in s for s in labels)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), hist.loss)

    hist = fit_reverse_kl(Flow(Affine(2), StandardNormal(2)), lambda z: -0.5 * (z ** 2).sum(1), steps=30)
    ax = hist.plot()
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "reverse KL (nats, up to log Z)" and ax.get_title()
    hist = fit_reverse_kl(Flow(Affine(2), StandardNormal(2)), lambda z: -0.5 * (z ** 2).sum(1), steps=30,
                          log_normalizer=math.log(2 * math.pi))
    fig, ax = plt.subplots()
    assert hist.plot(ax=ax) is ax and any("true KL" in s for s in ax.get_legend_handles_labels()[1])
    assert isinstance(History().plot(), type(ax))  # empty history still gives a labelled axes


def test_bad_inputs():
    with pytest.raises(TypeError):
        plot_density(42)
    with pytest.raises(TypeError, match="log_prob"):
        plot_density(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_samples(torch.zeros(10, 3))
    with pytest.raises(ValueError, match="resolution"):
        plot_density(std_normal_log_prob, resolution=1)


def test_digit_mosaic_layout_and_gaps():
    from flowkit.course.viz import DIGITS_CMAP, digit_mosaic, show_digits

    imgs = torch.arange(3 * 64, dtype=torch.float32).reshape(3, 1, 8, 8)
    m = digit_mosaic(imgs, ncol=2)
    assert m.shape == (2 * 9 - 1, 2 * 9 - 1)
    np.testing.assert_array_equal(m[:8, :8], imgs[0, 0].numpy())
    np.testing.assert_array_equal(m[:8, 9:], imgs[1, 0].numpy())
    np.testing.assert_array_equal(m[9:, :8], imgs[2, 0].numpy())
    assert np.isnan(m[8]).all() and np.isnan(m[:, 8]).all(), "gaps between tiles are NaN"
    assert np.isnan(m[9:, 9:]).all(), "the missing fourth tile is empty"
    # flattened (N, 64) and (N, H, W) give the same mosaic
    np.testing.assert_array_equal(digit_mosaic(imgs.reshape(3, 64), 2), m)
    np.testing.assert_array_equal(digit_mosaic(imgs[:, 0], 2), m)
    with pytest.raises(ValueError, match="square"):
        digit_mosaic(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="ncol"):
        digit_mosaic(imgs, ncol=0)
    fig, ax = plt.subplots()
    image = show_digits(ax, imgs, "three", ncol=3, vmax=200)
    assert image.get_cmap().name == DIGITS_CMAP.name and image.get_clim() == (0, 200)
    assert ax.get_title() == "three"


def test_new_figures_fit_the_output_area():
    """plot_grid_deformation's own figure is at most FIG_WIDTH (8.2 in, ~820 px) wide."""
    from flowkit.course.viz import FIG_WIDTH

    for k in (1, 3, 7):
        fig = plot_grid_deformation(planar_flow(k), n_samples=10, n_lines=3, points_per_line=10)
        assert fig.get_figwidth() <= FIG_WIDTH + 1e-9, (k, fig.get_figwidth())


def test_plot_stage_diagram_draws_one_box_per_stage():
    from flowkit.course.viz import plot_stage_diagram, shape_str

    rows = [("data", (1, 8, 8), None), ("level 0", (4, 4, 4), None), ("Split 0", (2, 4, 4), (2, 4, 4)),
            ("level 1", (2, 4, 4), None)]
    ax = plot_stage_diagram(rows, title="three stages")
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert [t.get_text() for t in boxes] == [f"{w}\n{shape_str(s)}" for w, s, _ in rows]
    labels = " ".join(t.get_text() for t in ax.texts)
    assert "factored out: ε0, 2 × 4 × 4" in labels and "z_final, 2 × 4 × 4" in labels
    assert ax.get_title() == "three stages" and ax.figure.get_figwidth() <= 8.2
