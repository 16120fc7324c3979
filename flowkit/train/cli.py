r"""Train an image flow from the command line: ``python -m flowkit.train {realnvp,glow} --data digits``.

What it does
------------
* builds :func:`flowkit.image.RealNVP` or :func:`flowkit.image.Glow` for the data
  (8×8 digits, 17 levels; or MNIST, 256 levels, downloaded only with ``--data mnist``),
* trains it by maximum likelihood on the dequantized NLL bound (Adam, optional weight decay,
  linear warm-up then cosine or constant learning rate, gradient clipping),
* evaluates validation bits/dim every ``--eval-every`` steps, keeps the best weights and stops
  early after ``--patience`` evaluations without improvement,
* writes the best model to ``--out`` (a checkpoint, see below), a JSON sidecar next to it
  (``<out>.json``: the exact command, seed, steps, val/test bits/dim, torch version, wall
  time) and a resumable training state ``<out>.state.pt`` (model, best model, optimizer,
  step, RNG state, history) that ``--resume`` continues from.

Estimators (all are upper bounds on the true bits/dim of a dequantized model)
---------------------------------------------------------------------------
* ``val_bpd``: the bound averaged over ``--val-samples`` dequantization samples per
  validation image, with noise from a generator seeded ``--eval-seed`` (the same noise at
  every evaluation, so evaluations compare the models, not the noise);
* ``test_bpd``: the same with ``--test-samples`` samples on the test split (the plain
  ELBO-style bound, averaged over samples);
* ``test_bpd_iw``: the importance-weighted bound with ``k = --test-samples`` samples
  (Burda et al., 2016), ``-log (1/k) Σ p(y_s)/q(u_s|x)``: tighter, still an upper bound.

:func:`evaluate` recomputes any of them from a loaded model with the same seed.

Checkpoint format
-----------------
``torch.save`` of a dict holding only tensors, ints, floats, strings, lists and dicts, so
``torch.load(path, weights_only=True)`` reads it::

    {"format": 1, "model": "glow", "config": {builder kwargs}, "state_dict": {...},
     "metrics": {"val_bpd", "test_bpd", "test_bpd_iw", "steps", ...},
     "estimators": {...}, "data": "digits", "command": "python -m flowkit.train ...",
     "argv": [...], "seed": 0, "torch": "2.13.0", "wall_time_s": ...}

:func:`load_checkpoint` rebuilds the model from ``config`` and loads the weights.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

__all__ = ["main", "build_model", "load_checkpoint", "evaluate", "BUILDERS"]

FORMAT = 2  # 2: flowkit 0.2 module layout (generative-order MultiScale, Split as a coupling)
BUILDERS = ("realnvp", "glow")
DEFAULTS: dict[str, Any] = {
    "steps": 3000, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.0, "warmup": 100,
    "schedule": "cosine", "clip_grad": 50.0, "seed": 0, "patience": 10, "eval_every": 100,
    "val_samples": 2, "test_samples": 8, "eval_seed": 1234, "eval_batch": 512,
    "dequantization": "variational", "hidden": 32, "blocks": 1, "levels": 2,
    "steps_per_level": 4, "couplings": 3, "threads": 1, "device": "cpu", "data": "digits",
    "mnist_root": "data/mnist",
}


# ----------------------------------------------------------------------------------------
# models and checkpoints
# ----------------------------------------------------------------------------------------
def build_model(model: str, config: dict[str, Any]):
    """The :class:`~flowkit.image.ImageFlow` of ``model`` (``"realnvp"``/``"glow"``) built with ``config``."""
    from ..image import Glow, RealNVP

    if model not in BUILDERS:
        raise ValueError(f"unknown model {model!r}; expected one of {BUILDERS}")
    cfg = dict(config)
    if "shape" in cfg:
        cfg["shape"] = tuple(cfg["shape"])
    return (Glow if model == "glow" else RealNVP)(**cfg)


def _model_config(args: argparse.Namespace, shape: Sequence[int], n_bins: int) -> dict[str, Any]:
    cfg: dict[str, Any] = {"shape": list(shape), "n_levels": args.levels, "hidden": args.hidden,
                           "n_blocks": args.blocks, "n_bins": n_bins,
                           "dequantization": args.dequantization, "seed": args.seed}
    if args.model == "glow":
        cfg["n_steps"] = args.steps_per_level
    else:
        cfg["n_couplings"] = args.couplings
    return cfg


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu",
                    return_info: bool = False):
    """Rebuild the model saved at ``path`` (read with ``weights_only=True``) in eval mode.

    With ``return_info=True`` returns ``(model, checkpoint_dict_without_state_dict)``.
    """
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "model" not in ckpt:
        raise ValueError(f"{path}: not a flowkit.train checkpoint")
    model = build_model(ckpt["model"], ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.to(map_location).eval()
    if return_info:
        return model, {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model


def evaluate(model, x_int: Tensor, *, n_samples: int = 1, importance_weighted: bool = False,
             seed: int = 1234, batch_size: int = 512) -> float:
    """Mean bits/dim of ``x_int``: :meth:`~flowkit.image.ImageFlow.bits_per_dim` with noise seeded ``seed``.

    The noise comes from a CPU ``torch.Generator`` seeded ``seed`` (drawn on the CPU and moved to
    the model's device, so CPU and GPU see the same noise).
    """
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    return float(model.bits_per_dim(x_int.to(device), n_samples=n_samples, importance_weighted=importance_weighted,
                                    generator=gen, batch_size=batch_size))


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------
def load_data(args: argparse.Namespace) -> tuple[dict[str, Tensor], int]:
    """``({"train", "val", "test"}, n_bins)``; MNIST only with ``--data mnist`` (downloads if missing)."""
    if args.data == "digits":
        from ..data.digits import DIGITS_BINS, digits_splits

        return digits_splits(), DIGITS_BINS
    if args.data == "mnist":
        from ..data.digits import MNIST_BINS, load_mnist

        train = load_mnist(args.mnist_root, "train", download=True)
        test = load_mnist(args.mnist_root, "test", download=True)
        assert isinstance(train, Tensor) and isinstance(test, Tensor)
        return {"train": train[:55000], "val": train[55000:], "test": test}, MNIST_BINS
    raise ValueError(f"unknown data {args.data!r}")


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog="python -m flowkit.train",
        description="Train a RealNVP or Glow image flow; writes the best model, a JSON sidecar and a resumable state.")
    p.add_argument("model", choices=BUILDERS)
    p.add_argument("--data", choices=("digits", "mnist"), default=d["data"],
                   help="digits: sklearn's 8x8 digits (offline); mnist: downloads MNIST into --mnist-root if missing")
    p.add_argument("--mnist-root", default=d["mnist_root"])
    p.add_argument("--steps", type=int, default=d["steps"], help="total optimisation steps (including resumed ones)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"])
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
    p.add_argument("--resume", default=None,
                   help="continue from a training state (<out>.state.pt, or the checkpoint next to it)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=d["device"])
    p.add_argument("--dequantization", choices=("uniform", "variational"), default=d["dequantization"])
    p.add_argument("--hidden", type=int, default=d["hidden"], help="width of the ResNet conditioners")
    p.add_argument("--blocks", type=int, default=d["blocks"], help="residual blocks per conditioner")
    p.add_argument("--levels", type=int, default=d["levels"], help="multi-scale levels")
    p.add_argument("--steps-per-level", type=int, default=d["steps_per_level"], help="Glow: flow steps per level")
    p.add_argument("--couplings", type=int, default=d["couplings"], help="RealNVP: couplings per stage")
    p.add_argument("--threads", type=int, default=d["threads"], help="torch CPU threads")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="tqdm progress bar (auto: only when stderr is a terminal)")
    return p


# options that define the run (written into the reproducible command, in this order)
_RUN_OPTIONS = ("data", "steps", "batch_size", "lr", "weight_decay", "warmup", "schedule", "clip_grad",
                "seed", "patience", "eval_every", "val_samples", "test_samples", "eval_seed",
                "dequantization", "hidden", "blocks", "levels", "steps_per_level", "couplings",
                "threads", "device")


def canonical_command(args: argparse.Namespace, out: str) -> str:
    """The full command line, every run-defining option explicit."""
    parts = ["python", "-m", "flowkit.train", args.model]
    for name in _RUN_OPTIONS:
        if name == "steps_per_level" and args.model != "glow":
            continue
        if name == "couplings" and args.model != "realnvp":
            continue
        parts += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    if args.data == "mnist":
        parts += ["--mnist-root", str(args.mnist_root)]
    parts += ["--out", out]
    return shlex.join(parts)


def _check_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    for name in ("steps", "batch_size", "eval_every", "val_samples", "test_samples", "hidden", "levels",
                 "steps_per_level", "couplings", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    for name in ("patience", "warmup", "blocks"):
        if getattr(a, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0, got {getattr(a, name)}")
    if not a.lr > 0:
        p.error(f"--lr must be > 0, got {a.lr}")
    if a.weight_decay < 0 or a.clip_grad < 0:
        p.error("--weight-decay and --clip-grad must be >= 0")


def _resolve_device(p: argparse.ArgumentParser, name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            p.exit(2, f"{p.prog}: error: --device cuda was requested but CUDA is not available "
                      f"(torch {torch.__version__}, torch.cuda.is_available() is False). "
                      "Use --device cpu, or install a CUDA build of torch on a machine with an NVIDIA GPU.\n")
        return torch.device("cuda")
    return torch.device("cpu")


def _lr_at(step: int, a: argparse.Namespace) -> float:
    """Learning rate for optimisation step ``step`` (1-based)."""
    if a.warmup and step <= a.warmup:
        return a.lr * step / a.warmup
    if a.schedule == "constant":
        return a.lr
    span = max(a.steps - a.warmup, 1)
    t = min(max(step - a.warmup, 0) / span, 1.0)
    return a.lr * 0.5 * (1.0 + math.cos(math.pi * t))


def _progress(mode: str) -> bool:
    if mode != "auto":
        return mode == "on"
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except Exception:  # pragma: no cover
        return False


def _cpu_state(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in sd.items()}


def _state_path(out: Path) -> Path:
    return out.with_name(out.name[:-3] + ".state.pt" if out.name.endswith(".pt") else out.name + ".state.pt")


def _sidecar_path(out: Path) -> Path:
    return out.with_name(out.name[:-3] + ".json" if out.name.endswith(".pt") else out.name + ".json")


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _log(msg: str, bar: Any = None) -> None:
    if bar is not None:
        bar.write(msg)
    else:
        print(msg, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    _check_args(p, args)
    device = _resolve_device(p, args.device)
    torch.set_num_threads(args.threads)

    resume_state: dict[str, Any] | None = None
    if args.resume:
        rp = Path(args.resume)
        if not rp.name.endswith(".state.pt") and _state_path(rp).exists():
            rp = _state_path(rp)
        if not rp.exists():
            p.exit(2, f"{p.prog}: error: --resume {args.resume}: no training state found at {rp}\n")
        resume_state = torch.load(rp, map_location="cpu", weights_only=True)
        # the run-defining options come from the saved state; --steps (and --patience/--eval-every
        # when given explicitly) may be changed
        saved = resume_state["args"]
        given = {a.split("=")[0] for a in argv if a.startswith("--")}
        for name in _RUN_OPTIONS:
            if name in ("steps", "threads", "device"):
                continue
            if name in ("patience", "eval_every") and "--" + name.replace("_", "-") in given:
                continue  # may be changed on resume when given explicitly
            setattr(args, name, saved[name])
        if args.model != resume_state["model"]:
            p.exit(2, f"{p.prog}: error: --resume state is for {resume_state['model']!r}, not {args.model!r}\n")
        if args.out is None:
            args.out = resume_state["out"]
    out = Path(args.out if args.out is not None else f"checkpoints/{args.model}_{args.data}.pt")
    out.parent.mkdir(parents=True, exist_ok=True)

    data, n_bins = load_data(args)
    shape = list(data["train"].shape[1:])
    config = _model_config(args, shape, n_bins)
    model = build_model(args.model, config).to(device)
    if args.weight_decay > 0:
        opt: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)  # mini-batches and training noise (CPU, device-independent)
    history: dict[str, list] = {"step": [], "loss": [], "val_step": [], "val_bpd": []}
    step, best_val, best_step, bad, elapsed = 0, math.inf, 0, 0, 0.0
    best_state = None
    perm, perm_pos = None, 0
    if resume_state is not None:
        model.load_state_dict(resume_state["state_dict"])
        opt.load_state_dict(resume_state["optimizer"])
        gen.set_state(resume_state["rng"]["train"])
        torch.set_rng_state(resume_state["rng"]["torch"])
        step, best_val, best_step = resume_state["step"], resume_state["best_val"], resume_state["best_step"]
        bad, elapsed = resume_state["bad_evals"], resume_state["wall_time_s"]
        history = resume_state["history"]
        best_state = resume_state["best_state_dict"]
        perm, perm_pos = resume_state["perm"], resume_state["perm_pos"]
        history.setdefault("resumed_at", []).append(step)
        print(f"resumed {args.model} from step {step} (best val {best_val:.4f} bits/dim at step {best_step})",
              flush=True)
    else:
        torch.manual_seed(args.seed)

    command = canonical_command(args, str(out))
    x_train, x_val = data["train"], data["val"]
    n_train = x_train.shape[0]
    B = min(args.batch_size, n_train)
    D = model.num_dims
    start_time = time.perf_counter()
    start_cpu = time.process_time()
    cpu_before = resume_state.get("cpu_time_s", 0.0) if resume_state is not None else 0.0
    bar = None
    if _progress(args.progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=args.steps, initial=step, desc=f"{args.model} {args.data}", dynamic_ncols=True)

    def save_state() -> None:
        state = {
            "format": FORMAT, "model": args.model, "out": str(out), "config": config,
            "args": {k: getattr(args, k) for k in _RUN_OPTIONS},
            "state_dict": _cpu_state(model.state_dict()), "optimizer": opt.state_dict(),
            "best_state_dict": best_state if best_state is not None else _cpu_state(model.state_dict()),
            "step": step, "best_val": best_val, "best_step": best_step, "bad_evals": bad,
            "rng": {"train": gen.get_state(), "torch": torch.get_rng_state()},
            "perm": perm, "perm_pos": perm_pos, "history": history,
            "wall_time_s": elapsed + time.perf_counter() - start_time, "torch": str(torch.__version__),
            "cpu_time_s": cpu_before + time.process_time() - start_cpu,
        }
        _atomic_save(state, _state_path(out))

    stopped_early = args.patience > 0 and bad >= args.patience
    model.train()
    try:
        while step < args.steps and not stopped_early:
            if perm is None or perm_pos + B > n_train:
                perm, perm_pos = torch.randperm(n_train, generator=gen), 0
            idx = perm[perm_pos:perm_pos + B]
            perm_pos += B
            step += 1
            lr = _lr_at(step, args)
            for g in opt.param_groups:
                g["lr"] = lr
            xb = x_train[idx].to(device)
            loss = model.nll(xb, generator=gen).mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss at step {step}; try a smaller --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip_grad > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
            opt.step()
            loss_bpd = float(loss.detach()) / (D * math.log(2.0))
            history["step"].append(step)
            history["loss"].append(loss_bpd)
            if bar is not None:
                bar.update(1)
            if step % args.eval_every == 0 or step == args.steps:
                val = evaluate(model, x_val, n_samples=args.val_samples, seed=args.eval_seed)
                history["val_step"].append(step)
                history["val_bpd"].append(val)
                if val < best_val - 1e-4:
                    best_val, best_step, bad = val, step, 0
                    best_state = _cpu_state(model.state_dict())
                else:
                    bad += 1
                mark = " *" if best_step == step else ""
                msg = f"step {step:5d}  train {loss_bpd:.4f}  val {val:.4f} bits/dim  (best {best_val:.4f} @ {best_step}){mark}"
                if bar is not None:
                    bar.set_postfix(val=f"{val:.3f}", best=f"{best_val:.3f}")
                    _log(msg, bar)
                else:
                    _log(msg)
                save_state()
                if args.patience > 0 and bad >= args.patience:
                    stopped_early = True
                    _log(f"early stopping at step {step}: no improvement for {bad} evaluations", bar)
    finally:
        if bar is not None:
            bar.close()

    wall = elapsed + time.perf_counter() - start_time
    cpu = cpu_before + time.process_time() - start_cpu
    if best_state is None:
        best_state = _cpu_state(model.state_dict())
        best_step = step
    model.load_state_dict(best_state)
    model.eval()
    t_eval = time.perf_counter()
    metrics = {
        "val_bpd": evaluate(model, x_val, n_samples=args.val_samples, seed=args.eval_seed),
        "test_bpd": evaluate(model, data["test"], n_samples=args.test_samples, seed=args.eval_seed),
        "test_bpd_iw": evaluate(model, data["test"], n_samples=args.test_samples, importance_weighted=True,
                                seed=args.eval_seed),
        "steps": best_step, "trained_steps": step, "stopped_early": stopped_early,
    }
    eval_s = time.perf_counter() - t_eval
    estimators = {
        "val_bpd": f"bound averaged over {args.val_samples} dequantization samples per image, eval noise seed "
                   f"{args.eval_seed}",
        "test_bpd": f"bound averaged over {args.test_samples} dequantization samples per image, eval noise seed "
                    f"{args.eval_seed}",
        "test_bpd_iw": f"importance-weighted bound with k={args.test_samples} samples, eval noise seed "
                       f"{args.eval_seed}",
    }
    n_params = sum(int(t.numel()) for t in model.parameters())
    ckpt = {
        "format": FORMAT, "model": args.model, "data": args.data, "config": config,
        "state_dict": _cpu_state(model.state_dict()), "metrics": metrics, "estimators": estimators,
        "eval": {"seed": args.eval_seed, "val_samples": args.val_samples, "test_samples": args.test_samples},
        "command": command, "argv": ["python", "-m", "flowkit.train", *argv], "seed": args.seed,
        "torch": str(torch.__version__), "wall_time_s": round(wall, 2),
        "cpu_time_s": round(cpu, 2), "n_params": n_params,
        "history": {"val_step": list(history["val_step"]), "val_bpd": [float(v) for v in history["val_bpd"]]},
    }
    if history.get("resumed_at"):
        # with --schedule cosine a changed --steps changes the schedule: the command alone may not reproduce it
        ckpt["resumed_at"] = list(history["resumed_at"])
    _atomic_save(ckpt, out)
    save_state()
    sidecar = {k: v for k, v in ckpt.items() if k not in ("state_dict", "history")}
    sidecar["checkpoint"] = out.name
    sidecar["checkpoint_bytes"] = out.stat().st_size
    sidecar["final_eval_s"] = round(eval_s, 2)
    sidecar["threads"] = args.threads
    sidecar["device"] = str(device)
    _sidecar_path(out).write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"best val {metrics['val_bpd']:.4f} bits/dim at step {best_step} (trained {step} steps, "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU); test {metrics['test_bpd']:.4f} ({args.test_samples}-sample bound), "
          f"{metrics['test_bpd_iw']:.4f} (IW, k={args.test_samples})", flush=True)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), {_sidecar_path(out)} and {_state_path(out)}",
          flush=True)
    return 0
