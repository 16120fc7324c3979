"""Checks of assignment 05 (ActNorm with its data-dependent initialisation, log|det| of a 1×1 convolution)."""

from __future__ import annotations

import numpy as np

from .common import learner_float64, load_state, require_defined, run_pair, tensor
from .registry import exercise
from .student import Student
from .verdict import CheckFailed, as_array, as_remote, describe_offset, expect_close


def _init_hint(s_got: np.ndarray, b_got: np.ndarray, x: np.ndarray) -> str | None:
    flat = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
    mean, std = flat.mean(axis=1), flat.std(axis=1)
    ok_b, ok_s = np.allclose(b_got, mean, atol=1e-8), np.allclose(s_got, np.log(std), atol=1e-8)
    if ok_b and ok_s:
        return None
    if ok_b and np.allclose(s_got, 2 * np.log(std), atol=1e-8):
        return "log_scale_c should be log σ_c, the log of the standard deviation, not the variance"
    if ok_b and np.allclose(s_got, -np.log(std), atol=1e-8):
        return "the inverse divides by exp(log_scale_c), so log_scale_c = +log σ_c (not −log σ_c)"
    pixel = x[:, :, 0, 0]
    if np.allclose(b_got, pixel.mean(axis=0), atol=1e-8) or not ok_b and np.allclose(s_got, np.log(pixel.std(axis=0)),
                                                                                     atol=1e-8):
        return "take each channel's statistics over the batch and all H·W pixels, not one pixel"
    return (f"after initialize(x), bias should be the per-channel mean {mean.round(4).tolist()} and log_scale the "
            f"log of the per-channel standard deviation {np.log(std).round(4).tolist()} (over the batch and all "
            "H·W pixels, unbiased=False)")


def _check_initialize(student: Student, rng: np.random.Generator) -> None:
    c = int(rng.integers(2, 5))
    x = rng.normal(rng.normal(0, 3, c)[None, :, None, None], rng.uniform(0.3, 4, c)[None, :, None, None],
                   (int(rng.integers(4, 9)), c, int(rng.integers(2, 5)), int(rng.integers(2, 5))))
    layer = learner_float64(student, as_remote(student.call("MyActNorm", c), f"MyActNorm({c})"), "MyActNorm")
    student.call_method(layer, "initialize", tensor(x))
    s_got = as_array(student.get(layer, "log_scale"), "log_scale after initialize(x)", (c,))
    b_got = as_array(student.get(layer, "bias"), "bias after initialize(x)", (c,))
    hint = _init_hint(s_got, b_got, x)
    if hint is not None:
        raise CheckFailed(f"initialize(x) on a batch of shape {x.shape}: {hint}")
    z, _ = run_pair(student, layer, "inverse", x, "inverse(x) after initialize(x)")
    flat = z.transpose(1, 0, 2, 3).reshape(c, -1)
    if np.abs(flat.mean(axis=1)).max() > 1e-6 or np.abs(flat.std(axis=1) - 1).max() > 1e-6:
        raise CheckFailed("after initialize(x), inverse(x) should have mean 0 and std 1 in every channel; got means "
                          f"{flat.mean(axis=1).round(4).tolist()} and stds {flat.std(axis=1).round(4).tolist()}")


@exercise("05_glow", "ex1-tests")
def actnorm(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "MyActNorm")
    for c, h, w in ((int(rng.integers(1, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 6))), (3, 4, 4), (2, 1, 3)):
        layer = learner_float64(student, as_remote(student.call("MyActNorm", c), f"MyActNorm({c})"), "MyActNorm")
        s, b = rng.normal(0, 0.5, c), rng.normal(0, 1, c)
        load_state(student, layer, {"log_scale": tensor(s), "bias": tensor(b)}, "MyActNorm")
        n = int(rng.integers(3, 9))
        z = rng.normal(0, 1, (n, c, h, w))
        x, ld = run_pair(student, layer, "forward", z, f"forward(z) on {h}×{w} images")
        expect_close(x, z * np.exp(s)[None, :, None, None] + b[None, :, None, None], "forward output",
                     "x should be z·exp(log_scale_c) + bias_c per channel (view the parameters as (1, C, 1, 1))",
                     rtol=1e-9, atol=1e-9)
        message = describe_offset(ld, np.full(n, h * w * s.sum()), "forward log-det", rtol=1e-9, atol=1e-9)
        if message is not None:
            hint = (f"\nHint: every one of the H·W = {h * w} pixels of channel c is scaled by exp(s_c): "
                    "log|det| = H·W·Σ s_c (read H and W from the input).")
            raise CheckFailed(f"{h}×{w} images: {message}{hint}")
        z_back, ld_inv = run_pair(student, layer, "inverse", x, "inverse(x)")
        expect_close(z_back, z, "inverse(forward(z))", rtol=1e-9, atol=1e-9)
        expect_close(ld_inv, -ld, "inverse log-det", "the inverse's log-det is −H·W·Σ s_c", rtol=1e-9, atol=1e-9)
    _check_initialize(student, rng)
    return "forward, inverse and log-dets for several image sizes, and the data-dependent initialisation"


@exercise("05_glow", "ex2-tests")
def conv1x1_log_abs_det(student: Student, rng: np.random.Generator) -> str:
    require_defined(student, "conv1x1_log_abs_det")
    mats = [rng.normal(0, 1, (c, c)) for c in (1, int(rng.integers(2, 7)))]
    mats.append(np.array([[0.0, rng.uniform(1, 3)], [-rng.uniform(1, 3), 0.0]]))   # needs pivoting
    mats.append(-np.eye(3) * rng.uniform(0.2, 2))                                    # negative determinant
    for m in mats:
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        got = as_array(student.call("conv1x1_log_abs_det", tensor(m), h, w),
                       f"conv1x1_log_abs_det(weight, {h}, {w})", (), finite=False)
        want = h * w * np.linalg.slogdet(m)[1]
        message = describe_offset(got, want, "log|det|", rtol=1e-8, atol=1e-8)
        if message is None:
            continue
        with np.errstate(divide="ignore"):
            of_w = h * w * np.log(np.abs(np.diag(m))).sum()
        if np.isclose(float(got), of_w, rtol=1e-8, atol=1e-8) or (np.isneginf(of_w) and np.isneginf(float(got))):
            message += ("\nThat is the diagonal of W itself: only a triangular matrix has its determinant on the "
                        "diagonal — use the P, L, U of torch.linalg.lu(weight) and log|U_ii|.")
        elif abs(float(got) * h * w - want) < 1e-6 and h * w > 1:
            message += "\nMultiply by H·W: the same C×C matrix acts on every pixel."
        elif m.shape[0] == 2 and m[0, 0] == 0:
            message += "\nThis matrix needs a row swap: use the P, L, U of torch.linalg.lu and log|U_ii|."
        raise CheckFailed(f"a {m.shape[0]}×{m.shape[0]} weight on {h}×{w} images: {message}")
    return "H·W·Σ log|U_ii| for several matrices, with pivoting and a negative determinant"
