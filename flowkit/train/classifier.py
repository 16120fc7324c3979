r"""Training the 8×8 digits classifier (``python -m flowkit.train classifier``) through the one loop.

The model (:class:`flowkit.metrics.classifier.DigitsClassifier`) and its loader
(:func:`flowkit.metrics.classifier.load_classifier`) live with the metrics that use it; this module
trains it. The wiring of :func:`flowkit.train.loop.train`:

* loss: cross-entropy :math:`-\log\operatorname{softmax}(f_\theta(x))_y` of a mini-batch
  (:class:`~flowkit.train.losses.Batches`, a fresh permutation per epoch, last batch smaller),
  each image shifted by up to ``shift`` pixels (data augmentation), all from one generator
  seeded ``seed``;
* Adam with L2 ``weight_decay``; the learning rate follows ``CosineAnnealingLR`` stepped once per
  epoch (:class:`~flowkit.train.hooks.TorchScheduler`);
* :class:`~flowkit.train.hooks.Validation` of the validation accuracy after each epoch, keeping
  and finally restoring the weights of the best epoch.

Reproduce the shipped checkpoint (CPU, one thread, deterministic; about 25 s)::

    python -m flowkit.train classifier --out checkpoints/digits_classifier.pt

Example:
    >>> from flowkit.train.classifier import train_classifier
    >>> model, metrics = train_classifier(epochs=1, width=4, feature_dim=8)
    >>> sorted(metrics)
    ['best_epoch', 'epochs', 'n_test', 'test_acc', 'train_acc', 'val_acc']
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from ..data.augment import random_shift
from ..metrics.classifier import DigitsClassifier, accuracy
from ..rng import seeded
from .checkpoints import CLASSIFIER_FORMAT, atomic_save, sidecar_path, write_json
from .hooks import TorchScheduler, Validation
from .loop import train
from .losses import Batches

__all__ = ["train_classifier", "run", "COMMAND_OPTIONS"]

COMMAND_OPTIONS = ("epochs", "batch_size", "lr", "weight_decay", "seed", "width", "feature_dim", "shift", "threads")


def train_classifier(*, epochs: int = 60, batch_size: int = 64, lr: float = 2e-3, weight_decay: float = 1e-4,
                     seed: int = 0, width: int = 16, feature_dim: int = 64, shift: int = 1,
                     log: bool = False) -> tuple[DigitsClassifier, dict[str, Any]]:
    """Train on the train split, keep the epoch with the best validation accuracy; returns ``(model, metrics)``.

    Example:
        >>> model, m = train_classifier(epochs=2, width=4, feature_dim=8, seed=1)
        >>> m["epochs"], 0.0 < m["val_acc"] <= 1.0, model.training
        (2, True, False)
    """
    from ..data.digits import load_digits

    x_tr, y_tr = load_digits("train", return_labels=True)  # type: ignore[misc]
    x_va, y_va = load_digits("val", return_labels=True)  # type: ignore[misc]
    x_te, y_te = load_digits("test", return_labels=True)  # type: ignore[misc]
    with seeded(seed):  # seeded initialisation, caller's global RNG untouched
        model = DigitsClassifier(width, feature_dim)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    xf = x_tr.float()
    batches = Batches(xf.shape[0], batch_size, gen)
    per_epoch = batches.per_epoch

    def cross_entropy(m: torch.nn.Module, state: Any) -> Tensor:
        idx = batches.next()
        return F.cross_entropy(m(random_shift(xf[idx], shift, gen)), y_tr[idx])

    def log_epoch(state: Any, val_acc: float, improved: bool) -> None:
        if log:
            print(f"epoch {state.step // per_epoch:3d}  loss {state.loss:.4f}  val acc {val_acc:.4f}", file=sys.stderr)

    val = Validation(lambda m: accuracy(m, x_va, y_va), every=per_epoch, mode="max", restore_best=True,
                     name="validation accuracy", on_eval=log_epoch)
    sched = TorchScheduler(torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs), every=per_epoch)
    train(model, cross_entropy, steps=epochs * per_epoch, optimizer=opt, hooks=[sched, val], seed=seed)
    model.eval()
    metrics = {"train_acc": accuracy(model, x_tr, y_tr), "val_acc": accuracy(model, x_va, y_va),
               "test_acc": accuracy(model, x_te, y_te), "best_epoch": val.best_step // per_epoch, "epochs": epochs,
               "n_test": int(x_te.shape[0])}
    return model, metrics


def command_of(args: argparse.Namespace, out: str) -> str:
    """The full command that reproduces the run, every option explicit.

    Example:
        >>> a = argparse.Namespace(epochs=60, batch_size=64, lr=0.002, weight_decay=0.0001, seed=0, width=16,
        ...                        feature_dim=64, shift=1, threads=1)
        >>> command_of(a, "checkpoints/digits_classifier.pt")[:62]
        'python -m flowkit.train classifier --epochs 60 --batch-size 64'
    """
    opts = [x for k in COMMAND_OPTIONS for x in ("--" + k.replace("_", "-"), str(getattr(args, k)))]
    return shlex.join(["python", "-m", "flowkit.train", "classifier", *opts, "--out", out])


def run(args: argparse.Namespace, argv: Sequence[str], out: Path) -> int:
    """Train with the (checked) options, write ``out`` and its JSON sidecar; returns the exit status.

    Example:
        >>> import tempfile
        >>> from flowkit.train.cli import build_parser
        >>> args = build_parser().parse_args(["classifier", "--epochs", "1", "--width", "4", "--feature-dim", "8",
        ...                                   "--quiet"])
        >>> run(args, [], Path(tempfile.mkdtemp()) / "clf.pt")  # doctest: +ELLIPSIS
        wrote ...clf.pt (... bytes): test accuracy ...
        0
    """
    t0 = time.time()
    try:
        model, metrics = train_classifier(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                          weight_decay=args.weight_decay, seed=args.seed, width=args.width,
                                          feature_dim=args.feature_dim, shift=args.shift, log=not args.quiet)
    except KeyboardInterrupt:
        print("interrupted: nothing written (the classifier trains in under a minute; run it again)", file=sys.stderr)
        return 130
    ckpt = {"format": CLASSIFIER_FORMAT, "kind": "digits_classifier", "config": model.config,
            "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "metrics": metrics, "command": command_of(args, str(out)), "seed": args.seed,
            "torch": str(torch.__version__)}
    atomic_save(ckpt, out)
    side = {k: v for k, v in ckpt.items() if k != "state_dict"}
    side.update({"checkpoint": out.name, "checkpoint_bytes": out.stat().st_size,
                 "n_params": sum(p.numel() for p in model.parameters()),
                 "wall_time_s": round(time.time() - t0, 1), "threads": args.threads,
                 "argv": ["python", "-m", "flowkit.train", *argv]})
    write_json(side, sidecar_path(out))
    print(f"wrote {out} ({side['checkpoint_bytes']} bytes): test accuracy {metrics['test_acc']:.4f} "
          f"(val {metrics['val_acc']:.4f}, train {metrics['train_acc']:.4f})")
    return 0
