r"""Training an amortised posterior (``python -m flowkit.train posterior``) through the one loop.

Simulate ``simulations`` pairs :math:`(\theta_i, x_i)\sim p(\theta)\,p(x\mid\theta)` of a simulator
of :mod:`flowkit.data.simulators` (and ``val_simulations`` held-out pairs from another seed), and
fit :func:`~flowkit.data.simulators.posterior_flow` :math:`q(\theta\mid x)` by maximum likelihood
with :math:`x` as the context:

.. math:: \mathcal L = -\frac{1}{|B|}\sum_{i\in B}\log q(\theta_i\mid x_i), \qquad
          \mathbb E[\mathcal L] = \mathbb E_{p(x)}\,\mathrm{KL}\big(p(\theta\mid x)\,\|\,q(\theta\mid x)\big) + \text{const}

(Papamakarios & Murray, 2016, *Fast ε-free inference of simulation models with Bayesian
conditional density estimation*, NeurIPS). The wiring of :func:`flowkit.train.loop.train`:

* loss: :class:`~flowkit.train.losses.MaximumLikelihood` on the pairs (a fresh permutation per
  pass, from one generator seeded ``seed``); parameters initialised under ``seed``;
* :class:`~flowkit.train.hooks.LRSchedule` (linear warm-up, then cosine decay or constant),
  :class:`~flowkit.train.hooks.Validation` (mean NLL of the held-out pairs every ``eval_every``
  steps, early stopping after ``patience`` evaluations without improvement (0: never), the best
  weights restored), :class:`~flowkit.train.hooks.StopOnInterrupt` and a progress bar.

The checkpoint (``"model": "posterior"``, ``"data"``: the simulator) and its JSON sidecar are
written by :mod:`flowkit.train.checkpoints` and read back by
:func:`~flowkit.train.checkpoints.load_checkpoint`. A run takes about two CPU-minutes, so Ctrl-C
writes nothing (exit status 130): run it again. Reproduce the shipped checkpoint with the
``command`` recorded in ``checkpoints/two_moons_posterior.json``.

Example:
    >>> q, metrics, state = train_posterior(simulations=500, val_simulations=100, steps=4, eval_every=2,
    ...                                     couplings=1, hidden=8)
    >>> sorted(metrics)[:4], state.step, q.training
    (['simulations', 'steps', 'stopped_early', 'train_nll'], 4, False)
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ..data.simulators import LinearGaussian, TwoMoonsSimulator, posterior_flow
from ..flow import Flow
from .checkpoints import FORMAT, atomic_save, sidecar_path, write_json
from .history import History
from .hooks import LRSchedule, Progress, StopOnInterrupt, Validation, cpu_state_dict
from .loop import TrainState, train
from .losses import MaximumLikelihood
from .progress import progress_enabled, progress_flag

__all__ = ["SIMULATORS", "COMMAND_OPTIONS", "train_posterior", "command_of", "run"]

SIMULATORS = {"two-moons": TwoMoonsSimulator, "linear-gaussian": LinearGaussian}
"""The simulators ``--simulator`` chooses from (their defaults: the ones notebook 07 uses)."""
COMMAND_OPTIONS = ("simulator", "simulations", "val_simulations", "steps", "batch_size", "lr", "warmup", "schedule",
                   "clip_grad", "seed", "patience", "eval_every", "couplings", "hidden", "threads")
_VAL_SEED_OFFSET = 100  # the held-out pairs are simulated with seed + 100 (the training pairs with seed)


def _nll(model: torch.nn.Module, theta: torch.Tensor, x: torch.Tensor) -> float:
    from ..metrics.likelihood import nll

    return float(nll(model, theta, x))


def train_posterior(*, simulator: str = "two-moons", simulations: int = 100_000, val_simulations: int = 5_000,
                    steps: int = 8000, batch_size: int = 256, lr: float = 1e-3, warmup: int = 0,
                    schedule: str = "cosine", clip_grad: float = 5.0, seed: int = 0, patience: int = 0,
                    eval_every: int = 400, couplings: int = 6, hidden: int = 64, progress: bool = False,
                    log: bool = False) -> tuple[Flow, dict[str, Any], TrainState]:
    """Simulate, train, restore the best validation weights; returns ``(flow in eval mode, metrics, final state)``.

    ``progress``: a tqdm bar; ``log``: a line per evaluation. After Ctrl-C (``state.stop_reason == "interrupted"``) the flow holds the weights of the
    interrupted step and ``metrics`` is empty.

    Example:
        >>> q, m, s = train_posterior(simulator="linear-gaussian", simulations=256, val_simulations=64, steps=2,
        ...                           eval_every=1, couplings=1, hidden=4)
        >>> s.history.val_step, m["trained_steps"]
        ([1, 2], 2)
    """
    sim = SIMULATORS[simulator]()
    theta, x = sim.sample_joint(simulations, seed=seed)
    theta_val, x_val = sim.sample_joint(val_simulations, seed=seed + _VAL_SEED_OFFSET)
    flow = posterior_flow(theta.shape[1], x.shape[1], couplings, (hidden, hidden), seed=seed)
    gen = torch.Generator().manual_seed(seed)
    bar = Progress(progress, f"posterior {simulator}")

    def log_eval(state: Any, value: float, improved: bool) -> None:
        if log:
            bar.write(f"step {state.step:5d}  train {state.loss:.4f}  val {value:.4f} nats  "
                      f"(best {val.best:.4f} @ {val.best_step}){' *' if improved else ''}")

    val = Validation(lambda m: _nll(m, theta_val, x_val), every=eval_every, patience=patience or None,
                     restore_best=True, name="validation NLL", on_eval=log_eval)
    state = train(flow, MaximumLikelihood(theta, x, batch_size=batch_size, generator=gen), steps=steps,
                  optimizer=torch.optim.Adam(flow.parameters(), lr=lr),
                  hooks=[LRSchedule.warmup(lr, warmup=warmup, total=steps, schedule=schedule), val,
                         StopOnInterrupt(), bar],
                  clip_grad=clip_grad if clip_grad > 0 else None, seed=seed, history=History(objective="nll", seed=seed))
    flow.eval()
    if state.stop_reason == "interrupted":
        return flow, {}, state
    metrics = {"val_nll": _nll(flow, theta_val, x_val), "train_nll": _nll(flow, theta, x), "steps": val.best_step,
               "trained_steps": state.step, "stopped_early": state.stop_reason == "early_stop",
               "simulations": simulations, "val_simulations": val_simulations}
    return flow, metrics, state


def command_of(args: argparse.Namespace, out: str) -> str:
    """The full command that reproduces the run, every option explicit.

    Example:
        >>> from flowkit.train.cli import build_parser
        >>> command_of(build_parser().parse_args(["posterior"]), "q.pt").split()[3:8]
        ['posterior', '--simulator', 'two-moons', '--simulations', '100000']
    """
    opts = [x for k in COMMAND_OPTIONS for x in ("--" + k.replace("_", "-"), str(getattr(args, k)))]
    return shlex.join(["python", "-m", "flowkit.train", "posterior", *opts, "--out", out])


def _outputs(args: argparse.Namespace, argv: Sequence[str], out: Path, flow: Flow, metrics: dict[str, Any],
             state: TrainState, wall: float, cpu: float) -> None:
    ckpt = {"format": FORMAT, "model": "posterior", "data": args.simulator, "config": _config(args),
            "state_dict": cpu_state_dict(flow), "metrics": metrics, "command": command_of(args, str(out)),
            "argv": ["python", "-m", "flowkit.train", *argv], "seed": args.seed, "torch": str(torch.__version__),
            "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2),
            "n_params": sum(int(p.numel()) for p in flow.parameters()),
            "history": {"val_step": list(state.history.val_step), "val_nll": [float(v) for v in state.history.val_nll]}}
    atomic_save(ckpt, out)
    side = {k: v for k, v in ckpt.items() if k not in ("state_dict", "history")}
    side.update({"checkpoint": out.name, "checkpoint_bytes": out.stat().st_size, "threads": args.threads})
    write_json(side, sidecar_path(out))
    print(f"best val NLL {metrics['val_nll']:.4f} nats at step {metrics['steps']} (trained {state.step} steps, "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU); wrote {out} ({side['checkpoint_bytes']} bytes) and "
          f"{sidecar_path(out)}", flush=True)


def _config(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`~flowkit.data.simulators.posterior_flow` arguments of the run (what the checkpoint records)."""
    sim = SIMULATORS[args.simulator]()
    return {"theta_dim": int(sim.theta_dim), "x_dim": int(sim.x_dim), "n_layers": args.couplings,
            "hidden": [args.hidden, args.hidden], "seed": args.seed}


def run(args: argparse.Namespace, argv: Sequence[str], out: Path) -> int:
    """Train with the (checked) options, write ``out`` and its JSON sidecar; returns the exit status.

    0 when done; 130 after Ctrl-C (nothing written); 1 when the loss, the gradients or the
    validation NLL became NaN/inf (one line on stderr, nothing written).

    Example:
        >>> import tempfile
        >>> from flowkit.train.cli import build_parser
        >>> args = build_parser().parse_args(["posterior", "--simulations", "256", "--val-simulations", "64",
        ...                                   "--steps", "2", "--eval-every", "2", "--couplings", "1", "--hidden", "4",
        ...                                   "--progress", "off"])
        >>> run(args, [], Path(tempfile.mkdtemp()) / "q.pt")  # doctest: +ELLIPSIS
        step     2  train ...
        0
    """
    t0, c0 = time.perf_counter(), time.process_time()
    interrupted = "nothing written (the posterior trains in a few CPU-minutes; run the command again)"
    try:
        flow, metrics, state = train_posterior(
            **{k: getattr(args, k) for k in COMMAND_OPTIONS if k != "threads"},
            progress=progress_enabled(progress_flag(args.progress)), log=True)
    except KeyboardInterrupt:
        print(f"interrupted: {interrupted}", file=sys.stderr, flush=True)
        return 130
    except FloatingPointError as e:
        print(f"python -m flowkit.train posterior: error: {e} (nothing written)", file=sys.stderr, flush=True)
        return 1
    if state.stop_reason == "interrupted":
        print(f"interrupted at step {state.step}: {interrupted}", file=sys.stderr, flush=True)
        return 130
    _outputs(args, argv, out, flow, metrics, state, time.perf_counter() - t0, time.process_time() - c0)
    return 0
