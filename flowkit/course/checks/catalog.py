"""Title, points and place of every exercise check: written by `make exercises` from exercises/src/.

Do not edit: change the exercise's source (its jupytext header) and run `make exercises`.

Example:
    >>> CATALOG["02_planar/ex1-tests"]["notebook"]
    '02_planar_and_radial_flows.ipynb'
"""

CATALOG: dict[str, dict] = {
    "01_fundamentals/ex1-tests": {
        "title": "log p_x of x = a·z + b",
        "points": 2.0,
        "notebook": "01_flow_fundamentals.ipynb",
        "turn": 1,
        "solutions": "solutions/01_flow_fundamentals_solutions.md"
    },
    "01_fundamentals/ex2-tests": {
        "title": "ScaleShift, x = exp(s)·z + t, with its log-dets",
        "points": 3.0,
        "notebook": "01_flow_fundamentals.ipynb",
        "turn": 2,
        "solutions": "solutions/01_flow_fundamentals_solutions.md"
    },
    "01_fundamentals/ex3-tests": {
        "title": "∫ exp(log p) on a grid by the midpoint rule",
        "points": 2.0,
        "notebook": "01_flow_fundamentals.ipynb",
        "turn": 3,
        "solutions": "solutions/01_flow_fundamentals_solutions.md"
    },
    "02_planar/ex1-tests": {
        "title": "a planar flow with its invertibility constraint",
        "points": 3.0,
        "notebook": "02_planar_and_radial_flows.ipynb",
        "turn": 1,
        "solutions": "solutions/02_planar_and_radial_flows_solutions.md"
    },
    "02_planar/ex2-tests": {
        "title": "the density of a flow by the change of variables",
        "points": 2.0,
        "notebook": "02_planar_and_radial_flows.ipynb",
        "turn": 2,
        "solutions": "solutions/02_planar_and_radial_flows_solutions.md"
    },
    "02_planar/ex3-tests": {
        "title": "push base samples through the flow, and look",
        "points": 1.0,
        "notebook": "02_planar_and_radial_flows.ipynb",
        "turn": 3,
        "solutions": "solutions/02_planar_and_radial_flows_solutions.md"
    },
    "03_coupling/ex1-tests": {
        "title": "the determinant of a triangular matrix, proved and timed",
        "points": 2.0,
        "notebook": "03_coupling_layers.ipynb",
        "turn": 1,
        "solutions": "solutions/03_coupling_layers_solutions.md"
    },
    "03_coupling/ex2-tests": {
        "title": "an affine coupling layer with a mask, both directions",
        "points": 4.0,
        "notebook": "03_coupling_layers.ipynb",
        "turn": 2,
        "solutions": "solutions/03_coupling_layers_solutions.md"
    },
    "03_coupling/ex3-tests": {
        "title": "a flow trained on two moons, judged on held-out data",
        "points": 3.0,
        "notebook": "03_coupling_layers.ipynb",
        "turn": 3,
        "solutions": "solutions/03_coupling_layers_solutions.md"
    },
    "04_realnvp/ex1-tests": {
        "title": "the logit layer and its log-det",
        "points": 3.0,
        "notebook": "04_realnvp.ipynb",
        "turn": 1,
        "solutions": "solutions/04_realnvp_solutions.md"
    },
    "04_realnvp/ex2-tests": {
        "title": "bits per dimension, with the dequantization term",
        "points": 2.0,
        "notebook": "04_realnvp.ipynb",
        "turn": 2,
        "solutions": "solutions/04_realnvp_solutions.md"
    },
    "05_glow/ex1-tests": {
        "title": "ActNorm with its data-dependent initialisation",
        "points": 3.0,
        "notebook": "05_glow.ipynb",
        "turn": 1,
        "solutions": "solutions/05_glow_solutions.md"
    },
    "05_glow/ex2-tests": {
        "title": "log|det| of a 1×1 convolution from its LU factors",
        "points": 3.0,
        "notebook": "05_glow.ipynb",
        "turn": 2,
        "solutions": "solutions/05_glow_solutions.md"
    },
    "06_evaluation/ex1-tests": {
        "title": "unbiased MMD² and a two-sample decision",
        "points": 3.0,
        "notebook": "06_flow_evaluation.ipynb",
        "turn": 1,
        "solutions": "solutions/06_flow_evaluation_solutions.md"
    },
    "06_evaluation/ex2-tests": {
        "title": "AUROC by the Mann–Whitney formula, ties ½",
        "points": 2.0,
        "notebook": "06_flow_evaluation.ipynb",
        "turn": 2,
        "solutions": "solutions/06_flow_evaluation_solutions.md"
    },
    "06_evaluation/ex3-tests": {
        "title": "an anomaly detector from a flow, scored by AUROC",
        "points": 3.0,
        "notebook": "06_flow_evaluation.ipynb",
        "turn": 3,
        "solutions": "solutions/06_flow_evaluation_solutions.md"
    },
    "07_at_work/ex1-tests": {
        "title": "the free-energy estimator, in log space",
        "points": 2.0,
        "notebook": "07_flows_at_work.ipynb",
        "turn": 1,
        "solutions": "solutions/07_flows_at_work_solutions.md"
    }
}
