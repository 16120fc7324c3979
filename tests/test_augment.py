"""Random one-pixel translations (flowkit.data.augment) and their wiring into `python -m flowkit.train`."""

from __future__ import annotations

import torch
import pytest

from flowkit.data.augment import random_shift


def _images(n: int = 64) -> torch.Tensor:
    return torch.randint(1, 17, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0))  # no zeros inside


def _offset(src: torch.Tensor, out: torch.Tensor, s: int) -> tuple[int, int] | None:
    """The (dy, dx) that maps ``src`` to ``out`` (content moved, zero fill), or None if none does."""
    h, w = src.shape[-2:]
    padded = torch.nn.functional.pad(src, (s,) * 4)
    for r in range(2 * s + 1):
        for c in range(2 * s + 1):
            if torch.equal(padded[..., r:r + h, c:c + w], out):
                return r - s, c - s
    return None


@pytest.mark.parametrize("s", [1, 2])
def test_every_image_is_a_zero_filled_translation_within_range(s: int) -> None:
    x = _images()
    out = random_shift(x, s, torch.Generator().manual_seed(1))
    offsets = [_offset(x[i], out[i], s) for i in range(len(x))]
    assert all(o is not None for o in offsets)
    assert len(set(offsets)) > 4  # offsets are drawn per image, not once per batch
    assert out.dtype == x.dtype and out.shape == x.shape


def test_p_sets_the_share_of_moved_images_and_p0_changes_nothing() -> None:
    x = _images(2000)
    assert random_shift(x, 1, torch.Generator().manual_seed(0), p=0.0).equal(x)
    out = random_shift(x, 1, torch.Generator().manual_seed(0), p=0.3)
    moved = sum(_offset(x[i], out[i], 1) != (0, 0) for i in range(len(x))) / len(x)
    assert abs(moved - 0.3 * 8 / 9) < 0.04  # an offset of (0, 0) is one of the 9 draws
    before = x.clone()
    random_shift(x, 1, torch.Generator().manual_seed(0))
    assert x.equal(before)  # the input is never modified


def test_same_generator_state_same_shifts() -> None:
    x = _images()
    a = random_shift(x, 1, torch.Generator().manual_seed(5), p=0.5)
    b = random_shift(x, 1, torch.Generator().manual_seed(5), p=0.5)
    assert a.equal(b)


@pytest.mark.parametrize("kwargs,message", [
    (dict(x=torch.zeros(2, 8, 8)), r"expected images \(B, C, H, W\)"),
    (dict(max_shift=-1), "max_shift must be an int >= 0"),
    (dict(p=1.5), "p must be >= 0 and <= 1"),
    (dict(p=float("nan")), "p must be finite"),
])
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    args = dict(x=_images(2), max_shift=1, generator=torch.Generator(), p=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        random_shift(**args)


def test_maximum_likelihood_augments_each_batch_from_its_generator() -> None:
    import flowkit as fk
    from flowkit.train.losses import MaximumLikelihood

    seen = []

    def augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        seen.append(gen)
        return random_shift(xb, 1, gen)

    gen = torch.Generator().manual_seed(0)
    loss = MaximumLikelihood(_images(32), batch_size=8, generator=gen, augment=augment)
    model = fk.image.RealNVP(n_couplings=1, hidden=8, seed=0)
    assert torch.isfinite(loss(model, None).objective) and seen == [gen]


def test_recorded_command_has_shift_prob_only_when_on() -> None:
    from flowkit.train.cli import build_parser, canonical_command

    on = build_parser().parse_args(["glow", "--shift-prob", "0.3"])
    off = build_parser().parse_args(["glow"])
    assert "--shift-prob 0.3" in canonical_command(on, "g.pt")
    assert "--shift-prob" not in canonical_command(off, "g.pt")
