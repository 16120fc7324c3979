"""Live slider explorers for the course notebooks (``%matplotlib widget``, i.e. ipympl).

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
planar_explorer           u1, u2, w1, w2, b                                integral, wu_hat, u_hat, logdet_mean
radial_explorer           z0_1, z0_2, alpha, beta                          integral, alpha, beta, beta_clamped
coupling_explorer         s0, s1, t0, t1                                   integral, jacobian, det, logdet
posterior_explorer        x1, x2 (the observation)                         kl, q_mass, q_mean, p_mean
class_explorer            label, T                                         posterior, agreement, images
========================  ===============================================  =============================

Design
------
* **In-place updates.** The figure is built once. A slider change recomputes the numbers and
  pushes them into the existing artists (``AxesImage.set_data``, ``Line2D.set_data``,
  ``PathCollection.set_offsets``, ``Polygon.set_xy``, ``StepPatch.set_data``,
  ``Text.set_text``), then calls ``fig.canvas.draw_idle()``. Nothing is cleared or re-plotted,
  which is what keeps dragging a slider smooth.
* **Fixed base samples.** Every explorer draws its base samples once from a fixed seed, so
  between two updates only the *map* changes — the points you see move, they are not redrawn.
* **Exact densities.** 2-D densities are ``exp(Flow.log_prob)`` on a ``resolution²`` grid
  (exact inverse, change of variables); ``state["integral"]`` is their midpoint-rule integral
  over the plotted box, ≈ 1 as long as the flow keeps its mass inside the box and the density is
  wider than a grid cell. It drops below 1, honestly, when you push mass out of view or squeeze
  it into a ridge thinner than a cell (e.g. planar with ``wᵀû → −1``, a nearly singular ``A``).
* **One torch thread.** Creating an explorer calls ``torch.set_num_threads(threads)`` with
  ``threads=1`` by default. The work per update is small (a 40 000-point grid, 2 000 samples):
  with several threads each of the ~100 tiny tensor ops pays thread wake-up/synchronisation costs
  that exceed the arithmetic, and on shared 2-core course machines the extra threads also fight
  the Jupyter server and the browser. Measured on the 2-core course machine: the planar
  explorer's update takes ≈ 10 ms with 1 thread and ≈ 24 ms with 2. The setting is
  process-wide (it also affects later training cells); pass ``threads=None`` to leave it alone.
* **Any backend.** Under ipympl, ``.widget`` is the sliders plus the figure canvas (itself a
  widget); under any other backend (Agg in tests) it is the sliders alone. Note that Agg's
  ``draw_idle`` renders synchronously, whereas ipympl's only schedules a redraw.

Run ``python benchmarks/widget_latency.py`` for the per-update latency of every explorer.
"""

from .at_work import class_explorer, posterior_explorer
from .explorer import Explorer
from .flows import HandCoupling, coupling_explorer, planar_explorer, radial_explorer
from .fundamentals import change_of_variables_1d, linear_map_2d

__all__ = ["Explorer", "change_of_variables_1d", "linear_map_2d", "planar_explorer", "radial_explorer",
           "coupling_explorer", "HandCoupling", "posterior_explorer", "class_explorer"]
