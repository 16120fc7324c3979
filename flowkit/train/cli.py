r"""``python -m flowkit.train {realnvp,glow,conditional-realnvp,posterior,classifier} …``: parse, check, wire, train.

Every command is a wiring of the one loop (:func:`flowkit.train.loop.train`); every checkpoint is
read back by :func:`~flowkit.train.checkpoints.load_checkpoint` (the classifier's by
:func:`~flowkit.metrics.classifier.load_classifier`).

Commands
--------
``realnvp`` / ``glow`` / ``conditional-realnvp``
    Train :class:`flowkit.image.RealNVP`, :class:`flowkit.image.Glow` or the class-conditional
    :class:`flowkit.image.ConditionalRealNVP` (the labels as the context) by maximum likelihood on
    the dequantized bound (8×8 digits, or MNIST with ``--data mnist``, which downloads it):
    Adam/AdamW, linear warm-up then cosine or constant learning rate, gradient clipping,
    validation bits/dim every ``--eval-every`` steps with early stopping (``--patience``) and
    best-weights restore. Writes ``--out`` (the checkpoint), ``<out>.json`` (the JSON sidecar)
    and ``<out>.state.pt`` (the resumable state); see :mod:`flowkit.train.checkpoints` and
    :mod:`flowkit.train.image_run`.
``posterior``
    Train an amortised posterior :math:`q(\theta\mid x)`
    (:func:`~flowkit.data.simulators.posterior_flow`) on pairs simulated by ``--simulator``
    (:mod:`flowkit.train.posterior`); writes ``--out`` and its JSON sidecar.
``classifier``
    Train the 8×8 digits classifier whose features the image metrics use
    (:mod:`flowkit.train.classifier`); the shipped ``checkpoints/digits_classifier.pt`` is
    ``python -m flowkit.train classifier --out checkpoints/digits_classifier.pt``.

Before anything runs
--------------------
Every argument is checked first: a count that is not positive (``--steps 0``), a rate that is
not a finite number in range (``--lr inf``, ``--weight-decay nan``, ``--clip-grad -1``) ends the
command with ``error: --lr must be finite, got inf`` and exit status 2. ``--out`` is probed by
creating and removing a temporary file next to it, so a directory, a path under a regular file or
an unwritable place (``/proc/…``) is reported in one line before any data is loaded.

Resuming (``--resume <out>.state.pt`` or ``--resume <out>``)
-----------------------------------------------------------
A resumed run continues *the saved run*: it takes every option from the state. Only
``--steps``, ``--patience``, ``--eval-every``, ``--threads``, ``--device`` and ``--progress`` may
be given with other values (a longer run, other stopping, other hardware). Any other option given
explicitly with a value that differs from the saved run (``--lr 3e-4`` when the run used
``1e-3``) is **refused** with a message naming the option and both values, exit status 2: it is
never silently ignored. To train with other options, start a new run with another ``--out``.

Interrupting
------------
The first Ctrl-C (SIGINT) ends training after the current step, saves the resumable state at that
step, prints one line saying where it is and how to continue, and exits with status 130 (a second
Ctrl-C aborts at once; the last saved state stays valid). No traceback, no ``*.tmp`` file.

Example:
    >>> from flowkit.train.cli import main
    >>> main(["glow", "--lr", "inf"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch

from ..validation import finite_real, positive_int
from .checkpoints import BUILDERS, IMAGE_MODELS, build_model, load_checkpoint, load_training_state, state_path
from .image_run import evaluate

__all__ = ["main", "build_model", "load_checkpoint", "evaluate", "BUILDERS", "canonical_command", "usable_out"]

PROG = "python -m flowkit.train"
COMMANDS = (*IMAGE_MODELS, "posterior", "classifier")
DEFAULTS: dict[str, Any] = {
    "steps": 3000, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.0, "warmup": 100,
    "schedule": "cosine", "clip_grad": 50.0, "seed": 0, "patience": 10, "eval_every": 100,
    "val_samples": 2, "test_samples": 8, "eval_seed": 1234,
    "dequantization": "variational", "hidden": 32, "blocks": 1, "levels": 2,
    "steps_per_level": 4, "couplings": 3, "dropout": 0.0, "alpha": 0.05, "dequantizer_hidden": 0, "shift_prob": 0.0,
    "threads": 1,
    "device": "cpu", "data": "digits", "mnist_root": "data/mnist", "progress": "auto",
}
POSTERIOR_DEFAULTS: dict[str, Any] = {
    "simulator": "two-moons", "simulations": 100_000, "val_simulations": 5_000, "steps": 8000, "batch_size": 256,
    "lr": 1e-3, "warmup": 0, "schedule": "cosine", "clip_grad": 5.0, "seed": 0, "patience": 0, "eval_every": 400,
    "couplings": 6, "hidden": 64, "threads": 1, "progress": "auto", "out": None,
}
CLASSIFIER_DEFAULTS: dict[str, Any] = {"epochs": 60, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "seed": 0,
                                       "width": 16, "feature_dim": 64, "shift": 1, "threads": 1}
# options that define an image run (written into the reproducible command, in this order)
RUN_OPTIONS = ("data", "steps", "batch_size", "lr", "weight_decay", "warmup", "schedule", "clip_grad",
               "seed", "patience", "eval_every", "val_samples", "test_samples", "eval_seed",
               "dequantization", "hidden", "blocks", "levels", "steps_per_level", "couplings",
               "dropout", "alpha", "dequantizer_hidden", "shift_prob", "threads", "device")
# run options left out of the recorded command while they are off (0), as runs before them recorded it
_OMITTED_WHEN_OFF = ("dequantizer_hidden", "shift_prob")
RESUME_MAY_CHANGE = ("steps", "patience", "eval_every", "threads", "device")
_COUNTS = ("steps", "batch_size", "eval_every", "val_samples", "test_samples", "hidden", "levels",
           "couplings", "threads", "epochs", "width", "feature_dim", "simulations",
           "val_simulations")
_NONNEG = ("patience", "warmup", "blocks", "shift", "dequantizer_hidden")
_SEEDS = ("seed", "eval_seed")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_steps(text: str) -> int | list[int]:
    """``"4"`` → 4, ``"10,4"`` → [10, 4] (Glow's steps per level, data side first)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int or comma-separated ints, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _option_text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _image_options(p: argparse.ArgumentParser, d: dict[str, Any]) -> None:
    p.add_argument("--data", choices=("digits", "mnist"), default=d["data"],
                   help="digits: sklearn's 8x8 digits (offline); mnist: downloads MNIST into --mnist-root if missing")
    p.add_argument("--mnist-root", default=d["mnist_root"])
    p.add_argument("--steps", type=int, default=d["steps"], help="total optimisation steps (including resumed ones)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"], help="peak learning rate (finite, > 0)")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="AdamW decoupled weight decay")
    p.add_argument("--warmup", type=int, default=d["warmup"], help="linear learning-rate warm-up steps")
    p.add_argument("--schedule", choices=("cosine", "constant"), default=d["schedule"],
                   help="after warm-up: cosine decay to 0 at --steps, or constant")
    p.add_argument("--clip-grad", type=float, default=d["clip_grad"], help="max gradient norm (0: no clipping)")
    p.add_argument("--seed", type=int, default=d["seed"], help="parameter init, mini-batches and training noise")
    p.add_argument("--patience", type=int, default=d["patience"],
                   help="stop after this many evaluations without a better val bits/dim (0: never)")
    p.add_argument("--eval-every", type=int, default=d["eval_every"])
    p.add_argument("--val-samples", type=int, default=d["val_samples"])
    p.add_argument("--test-samples", type=int, default=d["test_samples"])
    p.add_argument("--eval-seed", type=int, default=d["eval_seed"], help="seed of the evaluation noise")
    p.add_argument("--out", default=None, help="checkpoint path (default checkpoints/<model>_<data>.pt)")
    p.add_argument("--resume", default=None, help="continue a run from its training state (<out>.state.pt, or "
                   "the checkpoint next to it); only --steps/--patience/--eval-every/--threads/--device may change")
    p.add_argument("--device", choices=("cpu", "cuda"), default=d["device"])
    p.add_argument("--dequantization", choices=("uniform", "variational"), default=d["dequantization"])
    p.add_argument("--hidden", type=int, default=d["hidden"], help="width of the ResNet conditioners")
    p.add_argument("--blocks", type=int, default=d["blocks"], help="residual blocks per conditioner")
    p.add_argument("--levels", type=int, default=d["levels"], help="multi-scale levels")
    p.add_argument("--steps-per-level", type=_parse_steps, default=d["steps_per_level"],
                   help="Glow: flow steps per level, one number for every level or one per level (e.g. 10,4)")
    p.add_argument("--couplings", type=int, default=d["couplings"], help="RealNVP: couplings per stage")
    p.add_argument("--shift-prob", type=float, default=d["shift_prob"],
                   help="data augmentation: the probability that a training image is translated by up to one "
                        "pixel along each axis (zero fill; flowkit.data.augment.random_shift); 0: none")
    p.add_argument("--dropout", type=float, default=d["dropout"],
                   help="dropout probability in the couplings' conditioners (a regulariser; training only)")
    p.add_argument("--dequantizer-hidden", type=int, default=d["dequantizer_hidden"],
                   help="width of the variational dequantizer's networks (0: the same as --hidden)")
    p.add_argument("--alpha", type=float, default=d["alpha"],
                   help="the Logit preprocessing's alpha: y -> logit(alpha + (1 - 2 alpha) y), in (0, 0.5)")
    p.add_argument("--threads", type=int, default=d["threads"], help="torch CPU threads")
    p.add_argument("--progress", choices=("auto", "on", "off"), default=d["progress"],
                   help="tqdm progress bar (auto: in a terminal or Jupyter, not under pytest/CI or FLOWKIT_PROGRESS=0)")


def _posterior_options(p: argparse.ArgumentParser, d: dict[str, Any]) -> None:
    from .posterior import SIMULATORS

    p.add_argument("--simulator", choices=tuple(SIMULATORS), default=d["simulator"],
                   help="the simulator of flowkit.data.simulators whose posterior is learned")
    p.add_argument("--simulations", type=int, default=d["simulations"], help="simulated (theta, x) training pairs")
    p.add_argument("--val-simulations", type=int, default=d["val_simulations"], help="held-out pairs (seed + 100)")
    for k in ("steps", "batch_size", "warmup", "seed", "patience", "eval_every", "threads"):
        p.add_argument(_flag(k), type=int, default=d[k])
    for k in ("lr", "clip_grad"):
        p.add_argument(_flag(k), type=float, default=d[k])
    p.add_argument("--schedule", choices=("cosine", "constant"), default=d["schedule"])
    p.add_argument("--couplings", type=int, default=d["couplings"], help="conditional affine couplings")
    p.add_argument("--hidden", type=int, default=d["hidden"], help="width of the two hidden layers of each conditioner")
    p.add_argument("--progress", choices=("auto", "on", "off"), default=d["progress"])
    p.add_argument("--out", default=d["out"], help="checkpoint path (default checkpoints/<simulator>_posterior.pt)")


def _classifier_options(p: argparse.ArgumentParser, d: dict[str, Any]) -> None:
    p.add_argument("--out", default=argparse.SUPPRESS if d is _SUPPRESSED else "checkpoints/digits_classifier.pt",
                   help="checkpoint path (a JSON sidecar is written next to it)")
    for k in ("epochs", "batch_size", "seed", "width", "feature_dim", "shift", "threads"):
        p.add_argument(_flag(k), type=int, default=d[k])
    for k in ("lr", "weight_decay"):
        p.add_argument(_flag(k), type=float, default=d[k])
    p.add_argument("--quiet", action="store_true", help="no per-epoch log")


class _Suppressed(dict):
    def __missing__(self, key: str) -> str:
        return argparse.SUPPRESS


_SUPPRESSED = _Suppressed()


def build_parser(*, suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The argument parser (``suppress_defaults``: options not given are absent from the namespace).

    Example:
        >>> a = build_parser().parse_args(["glow", "--steps", "10"])
        >>> a.command, a.steps, a.lr
        ('glow', 10, 0.001)
    """
    img, clf = (_SUPPRESSED, _SUPPRESSED) if suppress_defaults else (DEFAULTS, CLASSIFIER_DEFAULTS)
    p = argparse.ArgumentParser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Train a RealNVP, Glow or class-conditional RealNVP image flow (writes "
                                            "the best model, a JSON sidecar and a resumable state), an amortised "
                                            "posterior q(theta | x) from simulations, or the digits classifier.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    helps = {"realnvp": "RealNVP image flow", "glow": "Glow image flow",
             "conditional-realnvp": "class-conditional RealNVP p(x | y)"}
    for name in IMAGE_MODELS:
        _image_options(sub.add_parser(name, help=helps[name], prog=f"{PROG} {name}"), img)
    _posterior_options(sub.add_parser("posterior", help="amortised posterior q(theta | x) from simulations",
                                      prog=f"{PROG} posterior"), _SUPPRESSED if suppress_defaults else POSTERIOR_DEFAULTS)
    _classifier_options(sub.add_parser("classifier", help="the 8x8 digits classifier of flowkit.metrics",
                                       prog=f"{PROG} classifier"), clf)
    if not suppress_defaults:  # `--help` lists every option (the notebooks check them against it)
        p.epilog = "".join(f"options of {what} ({PROG} {name} --help):\n\n{sub.choices[name].format_help()}\n"
                           for name, what in (("glow", "realnvp, glow and conditional-realnvp"),
                                              ("posterior", "posterior"), ("classifier", "classifier")))
    p.set_defaults(_commands=sub.choices)
    return p


def canonical_command(args: argparse.Namespace, out: str) -> str:
    """The full command line of an image run, every run-defining option explicit.

    Example:
        >>> a = build_parser().parse_args(["realnvp", "--steps", "1500"])
        >>> canonical_command(a, "checkpoints/realnvp_digits.pt")[:74]
        'python -m flowkit.train realnvp --data digits --steps 1500 --batch-size 64'
    """
    parts = [*PROG.split(), args.command]
    for name in RUN_OPTIONS:
        if (name == "steps_per_level" and args.command != "glow") or (name == "couplings" and args.command == "glow"):
            continue
        if name in _OMITTED_WHEN_OFF and not getattr(args, name):
            continue
        parts += [_flag(name), _option_text(getattr(args, name))]
    if args.data == "mnist":
        parts += ["--mnist-root", str(args.mnist_root)]
    parts += ["--out", out]
    return shlex.join(parts)


def _check_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Every numeric option in range (``p.error`` → exit status 2), using :mod:`flowkit.validation`."""
    try:
        for name in _COUNTS:
            if hasattr(a, name):
                positive_int(getattr(a, name), _flag(name))
        if hasattr(a, "steps_per_level"):
            steps = a.steps_per_level if isinstance(a.steps_per_level, list) else [a.steps_per_level]
            for k in steps:
                positive_int(k, "--steps-per-level")
            if len(steps) > 1 and len(steps) != a.levels:
                raise ValueError(f"--steps-per-level {_option_text(steps)} gives {len(steps)} levels "
                                 f"but --levels is {a.levels}")
        for name in _NONNEG:
            if hasattr(a, name):
                positive_int(getattr(a, name), _flag(name), minimum=0)
        for name in _SEEDS:
            if hasattr(a, name) and not 0 <= getattr(a, name) < 2 ** 63:
                raise ValueError(f"{_flag(name)} must be an int in [0, 2**63), got {getattr(a, name)}")
        finite_real(a.lr, "--lr", low=0.0, low_open=True)
        if hasattr(a, "weight_decay"):
            finite_real(a.weight_decay, "--weight-decay", low=0.0)
        if hasattr(a, "clip_grad"):
            finite_real(a.clip_grad, "--clip-grad", low=0.0)
        if hasattr(a, "dropout"):
            finite_real(a.dropout, "--dropout", low=0.0, high=1.0, high_open=True)
        if hasattr(a, "shift_prob"):
            finite_real(a.shift_prob, "--shift-prob", low=0.0, high=1.0)
        if hasattr(a, "alpha"):
            finite_real(a.alpha, "--alpha", low=0.0, high=0.5, low_open=True, high_open=True)
    except ValueError as e:
        p.error(str(e))


def _explicit(argv: Sequence[str]) -> set[str]:
    """The options given on the command line (abbreviations and ``--opt=value`` forms included)."""
    return {k for k in vars(build_parser(suppress_defaults=True).parse_args(argv)) if k not in ("command", "_commands")}


def usable_out(out: Path) -> str | None:
    """``None`` if the run can write ``out`` and its siblings, else a one-line reason.

    Probes by creating and removing a temporary file in ``out``'s folder (created if missing).

    Example:
        >>> usable_out(Path("/proc/flowkit/x.pt")).startswith("--out /proc/flowkit/x.pt: cannot")
        True
    """
    for q in (out, state_path(out)):
        if q.is_dir():
            return f"--out {out}: {q} is a directory; give a file path such as {q / 'model.pt'}"
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            return f"--out {out}: {parent} is a file, not a directory"
        if parent.exists():
            break
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        return f"--out {out}: cannot write in {out.parent} ({e.strerror or e})"
    return None


def _resume(p: argparse.ArgumentParser, args: argparse.Namespace, given: set[str]) -> dict[str, Any]:
    """Load the state for ``--resume``, take the saved run's options, refuse changed ones."""
    rp = Path(args.resume)
    if not rp.name.endswith(".state.pt") and state_path(rp).exists():
        rp = state_path(rp)
    try:
        state = load_training_state(rp)
    except (OSError, ValueError) as e:
        p.error(f"--resume {args.resume}: {e}")
    if args.command != state["model"]:
        p.error(f"--resume {rp} is a {state['model']} run, not {args.command}")
    # an option added after the state was saved (--dropout, --alpha, …) ran with its default
    saved, conflicts = {**DEFAULTS, **state["args"]}, []
    for name in RUN_OPTIONS:
        if name in given and name in RESUME_MAY_CHANGE:
            continue
        if name in given and getattr(args, name) != saved[name]:
            conflicts.append(f"{_flag(name)} {getattr(args, name)} (the saved run has {_flag(name)} {saved[name]})")
        setattr(args, name, saved[name])
    if conflicts:
        p.error(f"--resume {rp}: {'; '.join(conflicts)}. A resumed run keeps its own options; only "
                f"{', '.join(map(_flag, RESUME_MAY_CHANGE))} may change. Start a new run (another --out) instead")
    if args.out is None:
        args.out = state["out"]
    return state


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m flowkit.train`` with ``argv``; returns the exit status (see the module docstring).

    Example:
        >>> main(["classifier", "--epochs", "0"])
        Traceback (most recent call last):
        ...
        SystemExit: 2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    p = build_parser()
    args = p.parse_args(argv)
    sub = args._commands[args.command]
    _check_args(sub, args)
    if args.command in ("classifier", "posterior"):
        from .classifier import run as run_classifier
        from .posterior import run as run_posterior

        out = Path(args.out if args.out is not None else f"checkpoints/{args.simulator.replace('-', '_')}_posterior.pt")
        if (problem := usable_out(out)) is not None:
            sub.exit(2, f"{sub.prog}: error: {problem}\n")
        torch.set_num_threads(args.threads)
        return (run_classifier if args.command == "classifier" else run_posterior)(args, argv, out)
    if args.device == "cuda" and not torch.cuda.is_available():
        sub.exit(2, f"{sub.prog}: error: --device cuda was requested but CUDA is not available "
                    f"(torch {torch.__version__}, torch.cuda.is_available() is False). "
                    "Use --device cpu, or install a CUDA build of torch on a machine with an NVIDIA GPU.\n")
    resume = _resume(sub, args, _explicit(argv)) if args.resume else None
    out = Path(args.out if args.out is not None else f"checkpoints/{args.command.replace('-', '_')}_{args.data}.pt")
    if (problem := usable_out(out)) is not None:
        sub.exit(2, f"{sub.prog}: error: {problem}\n")
    torch.set_num_threads(args.threads)
    from .image_run import run as run_image

    return run_image(args, argv, out, resume)
