r"""One image-flow run of ``python -m flowkit.train {realnvp,glow,conditional-realnvp}``: data, model, wiring, outputs.

``conditional-realnvp`` is :class:`~flowkit.image.ConditionalRealNVP`, :math:`p(x\mid y)`: the same
run with the one-hot class labels of every split as the context of every term below (the loss,
the validation and the test bits/dim are then *conditional* bits/dim).

The loop (:func:`flowkit.train.loop.train`) is wired with

* the loss :class:`~flowkit.train.losses.MaximumLikelihood` on integer images (the dequantized
  bound :meth:`~flowkit.image.ImageFlow.nll`, recorded in bits/dim), mini-batches of
  ``--batch-size`` without a short last batch, from one CPU generator seeded ``--seed`` that also
  draws the dequantization noise (device independent) and, with ``--shift-prob p > 0``, the random
  one-pixel translations of a share ``p`` of the training images
  (:func:`flowkit.data.augment.random_shift`);
* :class:`~flowkit.train.hooks.LRSchedule` (``--warmup``, ``--schedule``), :class:`Validation`
  (``val_bpd`` every ``--eval-every`` steps, better by more than 1e-4, ``--patience``, best
  weights restored), :class:`StopOnInterrupt`, :class:`Checkpoint` (the resumable state after
  every evaluation and when the run stops) and :class:`Progress`.

Estimators (all upper bounds on the true bits/dim of a dequantized model): ``val_bpd`` averages the
bound over ``--val-samples`` noise samples per image (noise seeded ``--eval-seed``, the same at
every evaluation, so evaluations compare models, not noise); ``test_bpd`` the same with
``--test-samples`` on the test split; ``test_bpd_iw`` the importance-weighted bound with
``k = --test-samples`` (Burda et al., 2016). :func:`evaluate` recomputes any of them.

Example:
    >>> import torch, flowkit as fk
    >>> model = fk.image.Glow(n_steps=1, n_levels=1, hidden=8, seed=0)
    >>> x = torch.randint(0, 17, (16, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    >>> evaluate(model, x, seed=1234) == evaluate(model, x, seed=1234)
    True
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from ..data.augment import random_shift
from .checkpoints import FORMAT, atomic_save, build_model, sidecar_path, state_path, write_json
from .history import History
from .hooks import Checkpoint, LRSchedule, Progress, StopOnInterrupt, Validation, cpu_state_dict
from .loop import train
from .losses import MaximumLikelihood
from .progress import progress_enabled, progress_flag

__all__ = ["evaluate", "load_data", "load_labels", "run"]


def evaluate(model: torch.nn.Module, x_int: Tensor, *, n_samples: int = 1, importance_weighted: bool = False,
             seed: int = 1234, batch_size: int = 512, context: Tensor | None = None) -> float:
    """Mean bits/dim of ``x_int``: :func:`flowkit.metrics.bits_per_dim` with noise seeded ``seed``.

    A thin alias kept for the CLI's estimators (default seed 1234, chunks of 512 images;
    ``context``: one row per image for a conditional model). The noise is drawn on the CPU and
    moved to the model's device, so CPU and GPU see the same noise.

    Example:
        >>> import torch, flowkit as fk
        >>> m = fk.image.RealNVP(n_couplings=1, hidden=8, seed=0)
        >>> x = torch.randint(0, 17, (4, 1, 8, 8))
        >>> evaluate(m, x) == fk.metrics.bits_per_dim(m, x, seed=1234, batch_size=512)
        True
    """
    from ..metrics.likelihood import bits_per_dim

    return float(bits_per_dim(model, x_int, context, n_samples=n_samples, importance_weighted=importance_weighted,
                              seed=seed, batch_size=batch_size))


def _splits(args: argparse.Namespace, labels: bool) -> tuple[dict[str, Tensor], int]:
    if args.data == "digits":
        from ..data.digits import DIGITS_BINS, load_digits

        return {s: load_digits(s, return_labels=True)[1] if labels else load_digits(s)  # type: ignore[index]
                for s in ("train", "val", "test")}, DIGITS_BINS
    if args.data == "mnist":
        from ..data.digits import MNIST_BINS, load_mnist

        train, test = (load_mnist(args.mnist_root, s, download=True, return_labels=labels) for s in ("train", "test"))
        train, test = (t[1] if labels else t for t in (train, test))  # type: ignore[index]
        assert isinstance(train, Tensor) and isinstance(test, Tensor)
        return {"train": train[:55000], "val": train[55000:], "test": test}, MNIST_BINS
    raise ValueError(f"unknown data {args.data!r}")


def load_data(args: argparse.Namespace) -> tuple[dict[str, Tensor], int]:
    """``({"train", "val", "test"}, n_bins)``; MNIST only with ``--data mnist`` (downloads if missing).

    Example:
        >>> data, n_bins = load_data(argparse.Namespace(data="digits"))
        >>> tuple(data["train"].shape), n_bins
        ((1200, 1, 8, 8), 17)
    """
    return _splits(args, labels=False)


def load_labels(args: argparse.Namespace) -> dict[str, Tensor]:
    """The class labels of :func:`load_data`'s splits, ``{"train", "val", "test"}`` (for ``conditional-realnvp``).

    Example:
        >>> y = load_labels(argparse.Namespace(data="digits"))
        >>> y["test"].shape, int(y["test"].max())
        (torch.Size([397]), 9)
    """
    return _splits(args, labels=True)[0]


def _model_config(args: argparse.Namespace, shape: Sequence[int], n_bins: int) -> dict[str, Any]:
    cfg: dict[str, Any] = {"shape": list(shape), "n_levels": args.levels, "hidden": args.hidden,
                           "n_blocks": args.blocks, "n_bins": n_bins,
                           "dequantization": args.dequantization, "seed": args.seed, "dropout": args.dropout,
                           "alpha": args.alpha}
    if args.dequantizer_hidden:
        cfg["dequantizer_hidden"] = args.dequantizer_hidden
    if args.command == "glow":
        cfg["n_steps"] = args.steps_per_level
    else:
        cfg["n_couplings"] = args.couplings
    if args.command == "conditional-realnvp":
        cfg["n_classes"] = 10
    return cfg


class _Run:
    """The pieces of one run and the resumable state they make up (the ``.state.pt`` layout)."""

    def __init__(self, args: argparse.Namespace, out: Path, data: dict[str, Tensor], n_bins: int) -> None:
        from .cli import RUN_OPTIONS

        self.args, self.out, self.data, self.run_options = args, out, data, RUN_OPTIONS
        self.device = torch.device(args.device)
        self.config = _model_config(args, list(data["train"].shape[1:]), n_bins)
        self.model = build_model(args.command, self.config).to(self.device)
        params = self.model.parameters()
        self.opt = (torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay) if args.weight_decay > 0
                    else torch.optim.Adam(params, lr=args.lr))
        self.gen = torch.Generator().manual_seed(args.seed)  # mini-batches and training noise (CPU)
        labels = load_labels(args) if args.command == "conditional-realnvp" else None
        # the context of each split: one-hot labels for the conditional model, else none
        self.context = {s: None if labels is None else self.model.one_hot(labels[s]) for s in data}

        def augment(x: Tensor, gen: torch.Generator) -> Tensor:
            return random_shift(x, 1, gen, p=args.shift_prob)

        self.loss = MaximumLikelihood(data["train"], self.context["train"], batch_size=args.batch_size,
                                      generator=self.gen, drop_last=True, bits_per_dim=True,
                                      augment=augment if args.shift_prob > 0 else None)
        self.val = Validation(lambda m: evaluate(m, data["val"], n_samples=args.val_samples, seed=args.eval_seed,
                                                 context=self.context["val"]),
                              every=args.eval_every, patience=args.patience, min_delta=1e-4, restore_best=True,
                              name="validation bits/dim", on_eval=self._log_eval)
        self.progress = Progress(progress_enabled(progress_flag(args.progress)),
                                 f"{args.command} {args.data}")
        self.history, self.resumed_at = History(), []
        self.start_step, self.rng_state, self.elapsed, self.cpu_before = 0, None, 0.0, 0.0
        self.saved_step: int | None = None
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def restore(self, s: dict[str, Any]) -> None:
        """Continue from a training state (``--resume``)."""
        self.model.load_state_dict(s["state_dict"])
        self.opt.load_state_dict(s["optimizer"])
        self.gen.set_state(s["rng"]["train"])
        self.rng_state = s["rng"]["torch"]
        self.val.load_state_dict({"best": s["best_val"], "best_step": s["best_step"], "bad": s["bad_evals"],
                                  "best_state": s["best_state_dict"]})
        self.loss.batches.perm, self.loss.batches.pos = s["perm"], s["perm_pos"]
        h = s["history"]
        self.history = History(step=h["step"], loss=h["loss"], val_step=h["val_step"], val_nll=h["val_bpd"])
        self.resumed_at = [*h.get("resumed_at", []), s["step"]]
        self.start_step, self.elapsed, self.cpu_before = s["step"], s["wall_time_s"], s.get("cpu_time_s", 0.0)
        self.saved_step = s["step"]
        print(f"resumed {self.args.command} from step {s['step']} (best val {s['best_val']:.4f} bits/dim at step "
              f"{s['best_step']})", flush=True)

    def wall(self) -> float:
        return self.elapsed + time.perf_counter() - self.t0

    def cpu(self) -> float:
        return self.cpu_before + time.process_time() - self.c0

    def _log_eval(self, state: Any, val: float, improved: bool) -> None:
        v = self.val
        mark = " *" if v.best_step == state.step else ""
        self.progress.write(f"step {state.step:5d}  train {state.loss:.4f}  val {val:.4f} bits/dim  "
                            f"(best {v.best:.4f} @ {v.best_step}){mark}")
        if v.patience and v.bad >= v.patience:
            self.progress.write(f"early stopping at step {state.step}: no improvement for {v.bad} evaluations")

    def save_state(self, state: Any) -> None:
        """Write ``<out>.state.pt`` at a step boundary inside the loop (the RNG state is the loop's)."""
        h = self.history
        history: dict[str, list] = {"step": h.step, "loss": h.loss, "val_step": h.val_step, "val_bpd": h.val_nll}
        if self.resumed_at:
            history["resumed_at"] = self.resumed_at
        current = cpu_state_dict(self.model)
        atomic_save({
            "format": FORMAT, "model": self.args.command, "out": str(self.out), "config": self.config,
            "args": {k: getattr(self.args, k) for k in self.run_options},
            "state_dict": current, "optimizer": self.opt.state_dict(),
            "best_state_dict": self.val.best_state if self.val.best_state is not None else current,
            "step": state.step, "best_val": self.val.best, "best_step": self.val.best_step, "bad_evals": self.val.bad,
            "rng": {"train": self.gen.get_state(), "torch": torch.get_rng_state()},
            "perm": self.loss.batches.perm, "perm_pos": self.loss.batches.pos, "history": history,
            "wall_time_s": self.wall(), "torch": str(torch.__version__), "cpu_time_s": self.cpu(),
        }, state_path(self.out))
        self.saved_step = state.step

    def fit(self) -> Any:
        a = self.args
        hooks = [LRSchedule.warmup(a.lr, warmup=a.warmup, total=a.steps, schedule=a.schedule), self.val,
                 StopOnInterrupt(), Checkpoint(self.save_state, every=a.eval_every), self.progress]
        return train(self.model, self.loss, steps=a.steps, optimizer=self.opt, hooks=hooks,
                     clip_grad=a.clip_grad if a.clip_grad > 0 else None, seed=a.seed, history=self.history,
                     start_step=self.start_step, rng_state=self.rng_state)

    def where_state(self) -> str:
        return _where_state(self.args.command, self.out, self.saved_step)


def _where_state(command: str, out: Path, step: int | None) -> str:
    """Where the resumable state of the run is, and how to continue it (one line)."""
    path = state_path(out)
    if step is None and not path.exists():
        return "no resumable state was written yet (the first is saved at the first evaluation)"
    at = f" (step {step})" if step is not None else ""
    return f"the resumable state{at} is in {path}; continue with: python -m flowkit.train {command} --resume {path}"


def _write_outputs(run: _Run, state: Any, argv: Sequence[str], command: str) -> None:
    a, model, out = run.args, run.model, run.out
    wall, cpu = run.wall(), run.cpu()
    model.eval()
    t_eval = time.perf_counter()
    x, ctx, k, s = run.data, run.context, a.test_samples, a.eval_seed
    metrics = {
        "val_bpd": evaluate(model, x["val"], n_samples=a.val_samples, seed=s, context=ctx["val"]),
        "test_bpd": evaluate(model, x["test"], n_samples=k, seed=s, context=ctx["test"]),
        "test_bpd_iw": evaluate(model, x["test"], n_samples=k, importance_weighted=True, seed=s, context=ctx["test"]),
        "steps": run.val.best_step, "trained_steps": state.step, "stopped_early": state.stop_reason == "early_stop",
    }
    eval_s = time.perf_counter() - t_eval
    given = "" if ctx["test"] is None else ", given the class label"
    ckpt = {
        "format": FORMAT, "model": a.command, "data": a.data, "config": run.config,
        "state_dict": cpu_state_dict(model), "metrics": metrics,
        "estimators": {
            "val_bpd": f"bound averaged over {a.val_samples} dequantization samples per image, eval noise seed {s}{given}",
            "test_bpd": f"bound averaged over {k} dequantization samples per image, eval noise seed {s}{given}",
            "test_bpd_iw": f"importance-weighted bound with k={k} samples, eval noise seed {s}{given}",
        },
        "eval": {"seed": s, "val_samples": a.val_samples, "test_samples": k},
        "command": command, "argv": ["python", "-m", "flowkit.train", *argv], "seed": a.seed,
        "torch": str(torch.__version__), "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2),
        "n_params": sum(int(t.numel()) for t in model.parameters()),
        "history": {"val_step": list(run.history.val_step), "val_bpd": [float(v) for v in run.history.val_nll]},
    }
    if run.resumed_at:
        # with --schedule cosine a changed --steps changes the schedule: the command alone may not reproduce it
        ckpt["resumed_at"] = list(run.resumed_at)
    atomic_save(ckpt, out)
    sidecar = {key: v for key, v in ckpt.items() if key not in ("state_dict", "history")}
    sidecar.update({"checkpoint": out.name, "checkpoint_bytes": out.stat().st_size, "final_eval_s": round(eval_s, 2),
                    "threads": a.threads, "device": str(run.device)})
    write_json(sidecar, sidecar_path(out))
    print(f"best val {metrics['val_bpd']:.4f} bits/dim at step {run.val.best_step} (trained {state.step} steps, "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU); test {metrics['test_bpd']:.4f} ({k}-sample bound), "
          f"{metrics['test_bpd_iw']:.4f} (IW, k={k})", flush=True)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), {sidecar_path(out)} and {state_path(out)}", flush=True)


def run(args: argparse.Namespace, argv: Sequence[str], out: Path, resume: dict[str, Any] | None) -> int:
    """Train, evaluate and write the outputs of one (checked) image run; returns the exit status.

    Exit status 0 when done, 130 after Ctrl-C (the resumable state saved at a step boundary), 1
    when the loss or the gradients became NaN/inf (the last resumable state is kept). Each ends
    with one line on stderr saying where the resumable state is.

    Example:
        >>> import tempfile
        >>> from flowkit.train.cli import build_parser
        >>> args = build_parser().parse_args(["realnvp", "--steps", "2", "--couplings", "1", "--hidden", "4",
        ...                                   "--levels", "1", "--eval-every", "2", "--progress", "off"])
        >>> run(args, [], Path(tempfile.mkdtemp()) / "r.pt", None)  # doctest: +ELLIPSIS
        step     2  train ...
        0
    """
    from .cli import canonical_command

    run_ = None
    try:
        data, n_bins = load_data(args)
        run_ = _Run(args, out, data, n_bins)
        if resume is not None:
            run_.restore(resume)
        command = canonical_command(args, str(out))
        state = run_.fit()
        if state.stop_reason == "interrupted":
            print(f"interrupted at step {state.step}: {run_.where_state()}", file=sys.stderr, flush=True)
            return 130
        _write_outputs(run_, state, argv, command)
        return 0
    except KeyboardInterrupt:
        where = run_.where_state() if run_ is not None else _where_state(args.command, out, None)
        print(f"interrupted: {where}", file=sys.stderr, flush=True)
        return 130
    except FloatingPointError as e:
        where = run_.where_state() if run_ is not None else _where_state(args.command, out, None)
        print(f"python -m flowkit.train {args.command}: error: {e} ({where})", file=sys.stderr, flush=True)
        return 1
