"""Live slider explorers for the course notebooks (ipympl canvases; the notebooks draw static figures inline).

Each public function builds one :class:`Explorer`::

    from flowkit import widgets
    ex = widgets.planar_explorer()
    ex                      # displays the sliders and the figure
    ex.update(w1=1.5)       # set sliders from code (same code path as dragging them)
    ex.state["integral"]    # the latest numbers, for check cells

========================  ===============================================  =============================
function                  sliders                                          ``state`` keys (besides values)
========================  ===============================================  =============================
change_of_variables_1d    skew, tail, scale                                integral, logdet_at_0, …
linear_map_2d             a, b, c, d                                       det, area, logdet, invertible, integral
planar_explorer           u1, u2, w1, w2, b                                integral, integral_grid, wu_hat, …
radial_explorer           z0_1, z0_2, alpha, beta                          integral, alpha, beta, beta_clamped
coupling_explorer         s0, s1, t0, t1                                   integral, jacobian, det, logdet
posterior_explorer        x1, x2 (the observation)                         kl, q_mass, q_mean, p_mean
class_explorer            label, T                                         posterior, agreement, images
========================  ===============================================  =============================

Build your own with :func:`figure` (an explorer's canvas), :func:`slider` and :class:`Explorer`.

Design
------
* **Values stay where the code puts them.** ``update`` moves every value onto its slider's grid
  *as the browser computes it* (:func:`on_grid`); otherwise the browser answers a value such as
  ``1.8`` with ``1.7999999999999998`` after the kernel has moved on, and the stale answer
  overwrites the notebook's last setting. The browser tests check the kernel-side values after
  *Run All*.
* **In-place updates, blitted.** The figure is built once. A slider change recomputes the
  numbers and pushes them into the existing artists (``set_data``, ``set_offsets``, ``set_text``,
  …). Those artists are *animated*: a full draw paints the static axes once and keeps them; an
  update redraws only the changing artists over that background and sends the changed pixels.
  A drag's burst of browser events is coalesced into redraws of the latest value.
* **Fixed base samples.** Every explorer draws its base samples once from a fixed seed, so
  between two updates only the *map* changes — the points you see move, they are not redrawn.
* **Exact densities.** 2-D densities are ``exp(Flow.log_prob)`` on a ``resolution²`` grid
  (exact inverse, change of variables); ``state["integral"]`` is their midpoint-rule integral
  over the plotted box, ≈ 1 as long as the flow keeps its mass inside the box and the density is
  wider than a grid cell. The planar explorer integrates on a grid that follows the map
  (:func:`planar_box_integral`), right even where ``wᵀû → −1`` squeezes mass into a ridge
  thinner than a pixel, and says when its pixel grid cannot resolve the density.
* **Sizes that fit.** ipympl keeps pixel sizes; every explorer is ≤ 820 px wide, inside the
  ~850 px output area of JupyterLab at 1280 × 800 with the file browser open.
* **One torch thread per update.** Each update runs on ``threads=1`` torch thread by default
  (:func:`~flowkit.course.widgets.explorer.torch_threads`): the work is small (a 40 000-point
  grid, 2 000 samples), and with several threads each of the ~100 tiny tensor ops pays thread
  wake-up costs that exceed the arithmetic (numbers: ``benchmarks/README.md``). The count is set
  for the update only and restored after it, so the notebook's own cells keep theirs; pass
  ``threads=None`` to run updates on whatever the process uses.
* **Any backend.** In a Jupyter kernel the canvas is an ipympl widget and ``.widget`` is the
  sliders plus the canvas; elsewhere (tests) the canvas is Agg and ``.widget`` the sliders alone.

Run ``python benchmarks/widget_latency.py`` for the per-update latency of every explorer; the
browser tests print the key-press-to-pixels latency in Chromium.
"""

from .at_work import class_explorer, posterior_explorer
from .canvas import figure
from .explorer import Explorer
from .flows import HandCoupling, coupling_explorer, radial_explorer
from .fundamentals import change_of_variables_1d, linear_map_2d
from .planar import planar_box_integral, planar_explorer
from .sliders import on_grid, slider

__all__ = ["Explorer", "figure", "slider", "on_grid", "change_of_variables_1d", "linear_map_2d",
           "planar_explorer", "planar_box_integral", "radial_explorer", "coupling_explorer", "HandCoupling",
           "posterior_explorer", "class_explorer"]
