r"""Train the conditional flows of the "flows at work" notebook: ``python -m flowkit.train.conditional``.

Two models, each written as a checkpoint plus a JSON sidecar recording the exact command:

* ``digits`` — a :class:`~flowkit.image.ConditionalRealNVP` :math:`p(x\mid y)` on the 8×8 digits
  (1200 training images, 17 levels), trained by maximum likelihood on the dequantized bound
  :math:`-\log p(y_u\mid y) + D\log K` with Adam, linear warm-up then cosine decay, gradient
  clipping; the weights with the best validation bits/dim are kept;
* ``two-moons`` — an amortised posterior :math:`q(\theta\mid x)` (:func:`posterior_flow`) for the
  two-moons simulator (:class:`~flowkit.data.simulators.TwoMoonsSimulator`), trained with
  :func:`flowkit.fit` on simulated pairs only — maximum likelihood on
  :math:`(\theta_i, x_i)\sim p(\theta)\,p(x\mid\theta)` minimises
  :math:`\mathbb E_{p(x)}\mathrm{KL}(p(\theta\mid x)\,\|\,q(\theta\mid x))` (Papamakarios & Murray, 2016,
  *Fast ε-free inference of simulation models with Bayesian conditional density estimation*, NeurIPS).

Both take a few CPU-minutes on one thread. :func:`load` rebuilds either model from its file
(read with ``weights_only=True``).

Example:
    >>> import torch, flowkit as fk
    >>> from flowkit.train.conditional import posterior_flow
    >>> q = posterior_flow(theta_dim=2, x_dim=3, n_layers=2, hidden=(8,))
    >>> q.sample(5, context=torch.zeros(1, 3)).shape
    torch.Size([5, 2])
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from ..distributions import ConditionalDiagNormal
from ..flow import Flow
from ..nets import MLP
from ..transforms.base import Compose, Transform
from ..transforms.coupling import AffineCoupling
from ..transforms.permutation import Reverse
from ..validation import positive_int

__all__ = ["posterior_flow", "load", "main"]

FORMAT = 1
DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"steps": 2000, "batch_size": 64, "lr": 1e-3, "warmup": 100, "clip_grad": 50.0, "seed": 0,
               "eval_every": 100, "hidden": 32, "couplings": 3, "out": "checkpoints/conditional_realnvp_digits.pt"},
    "two-moons": {"steps": 8000, "batch_size": 256, "lr": 1e-3, "warmup": 0, "clip_grad": 5.0, "seed": 0,
                  "eval_every": 400, "hidden": 64, "couplings": 6, "out": "checkpoints/two_moons_posterior.pt"},
}
_N_SIMULATIONS, _N_VAL = 100_000, 5_000


def posterior_flow(theta_dim: int, x_dim: int, n_layers: int = 6, hidden: Sequence[int] = (64, 64), *,
                   scale_bound: float | None = 5.0, direction: str = "generative") -> Flow:
    r"""A conditional coupling flow :math:`q(\theta\mid x)` for vectors: the amortised posterior.

    ``n_layers`` :class:`~flowkit.AffineCoupling` s whose MLP conditioners read
    :math:`[\theta_a, x]` (``context_features=x_dim``), a :class:`~flowkit.Reverse` between
    consecutive ones, and a :class:`~flowkit.ConditionalDiagNormal` base whose mean and
    log-scale come from :math:`x` through a one-hidden-layer MLP:
    :math:`\log q(\theta\mid x) = \log\mathcal N(z;\mu(x),\sigma(x)^2) + \log|\det\partial z/\partial\theta|`.
    Zero-initialised, it starts as :math:`\mathcal N(0, I)` for every :math:`x`. ``scale_bound`` and
    ``direction`` (:class:`~flowkit.AffineCoupling`) default to the parametrisation the shipped
    ``checkpoints/two_moons_posterior.pt`` was trained with.

    Example:
        >>> import torch
        >>> q = posterior_flow(theta_dim=2, x_dim=2, n_layers=2, hidden=(8,))
        >>> round(float(q.log_prob(torch.zeros(1, 2), torch.ones(1, 2)).detach()), 4)   # log N(0; 0, I) = −log 2π
        -1.8379
    """
    theta_dim = positive_int(theta_dim, "theta_dim", "posterior_flow", minimum=2)
    x_dim = positive_int(x_dim, "x_dim", "posterior_flow")
    n_layers = positive_int(n_layers, "n_layers", "posterior_flow")
    layers: list[Transform] = []
    for k in range(n_layers):
        layers.append(AffineCoupling(theta_dim, hidden=hidden, context_features=x_dim, scale_bound=scale_bound,
                                     direction=direction))
        if k < n_layers - 1:
            layers.append(Reverse(theta_dim))
    base = ConditionalDiagNormal(theta_dim, context_features=x_dim,
                                 net=MLP(x_dim, 2 * theta_dim, hidden=(max(hidden, default=64),)))
    return Flow(Compose(layers), base)


def _build(kind: str, config: dict[str, Any]):
    if kind == "digits":
        from ..image.conditional import ConditionalRealNVP

        return ConditionalRealNVP(**{**config, "shape": tuple(config["shape"])})
    if kind == "two-moons":
        return posterior_flow(config["theta_dim"], config["x_dim"], config["n_layers"], tuple(config["hidden"]),
                              scale_bound=config.get("scale_bound", 5.0),  # checkpoints older than
                              direction=config.get("direction", "generative"))    # the keys: generative, c = 5
    raise ValueError(f"unknown model kind {kind!r}; expected one of {tuple(DEFAULTS)}")


def load(path: str | Path, *, return_info: bool = False):
    """Rebuild the model saved at ``path`` by this script, in eval mode (``(model, info)`` with ``return_info``).

    Example:
        >>> from pathlib import Path
        >>> import flowkit
        >>> path = Path(flowkit.__file__).parents[1] / "checkpoints" / "two_moons_posterior.pt"
        >>> q, info = load(path, return_info=True)
        >>> info["kind"], info["command"].split()[:4]
        ('two-moons', ['python', '-m', 'flowkit.train.conditional', 'two-moons'])
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("trainer") != "flowkit.train.conditional":
        raise ValueError(f"{path}: not a checkpoint written by python -m flowkit.train.conditional")
    model = _build(ckpt["kind"], ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    if return_info:
        return model, {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model


# ----------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------
def _lr_at(step: int, a: argparse.Namespace) -> float:
    if a.warmup and step <= a.warmup:
        return a.lr * step / a.warmup
    t = min(max(step - a.warmup, 0) / max(a.steps - a.warmup, 1), 1.0)
    return a.lr * 0.5 * (1.0 + math.cos(math.pi * t))


def _val_bpd(model, x: Tensor, y: Tensor) -> float:
    return float(model.bits_per_dim(x, context=model.one_hot(y), generator=torch.Generator().manual_seed(1234)))


def _train_digits(a: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from ..data.digits import load_digits
    from ..image.conditional import ConditionalRealNVP

    config = {"shape": [1, 8, 8], "n_classes": 10, "n_couplings": a.couplings, "hidden": a.hidden}
    model = ConditionalRealNVP(**{**config, "shape": (1, 8, 8)}, seed=a.seed)
    (xtr, ytr), (xva, yva), (xte, yte) = (load_digits(s, return_labels=True) for s in ("train", "val", "test"))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed)
    best, best_step, best_state, curve = math.inf, 0, None, []
    model.train()
    for step in range(1, a.steps + 1):
        idx = torch.randint(0, xtr.shape[0], (a.batch_size,), generator=gen)
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, a)
        loss = model.nll(xtr[idx], gen, context=model.one_hot(ytr[idx])).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss at step {step}; try a smaller --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_grad)
        opt.step()
        if step % a.eval_every == 0 or step == a.steps:
            val = _val_bpd(model, xva, yva)
            curve.append([step, val])
            if val < best:
                best, best_step = val, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            print(f"step {step:5d}  train {float(loss.detach()) / (64 * math.log(2)):.4f}  val {val:.4f} bits/dim "
                  f"(best {best:.4f} @ {best_step})", flush=True)
    model.load_state_dict(best_state)
    model.eval()
    metrics = {"val_bpd": _val_bpd(model, xva, yva), "test_bpd": _val_bpd(model, xte, yte), "steps": best_step,
               "trained_steps": a.steps}
    return model, {**config, "n_levels": 2, "n_blocks": 1, "n_bins": 17, "alpha": 0.05, "actnorm": True,
                   "dequantization": "uniform", "direction": "generative"}, {"metrics": metrics, "history": curve}


def _train_two_moons(a: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from ..data.simulators import TwoMoonsSimulator
    from .fit import fit

    config = {"theta_dim": 2, "x_dim": 2, "n_layers": a.couplings, "hidden": [a.hidden, a.hidden],
              "scale_bound": 5.0, "direction": "generative"}
    sim = TwoMoonsSimulator()
    theta, x = sim.sample_joint(_N_SIMULATIONS, seed=a.seed)
    theta_val, x_val = sim.sample_joint(_N_VAL, seed=a.seed + 100)
    torch.manual_seed(a.seed)
    flow = posterior_flow(2, 2, a.couplings, (a.hidden, a.hidden), scale_bound=config["scale_bound"],
                          direction=config["direction"])
    opt = torch.optim.Adam(flow.parameters(), lr=a.lr)
    first = a.steps - a.steps // 4  # three quarters at lr, the last quarter at lr / 10
    hist = fit(flow, theta, context=x, steps=first, batch_size=a.batch_size, clip_grad=a.clip_grad,
               val_data=theta_val, val_context=x_val, val_every=a.eval_every, seed=a.seed, optimizer=opt)
    if a.steps > first:
        for g in opt.param_groups:
            g["lr"] = a.lr / 10
        tail = fit(flow, theta, context=x, steps=a.steps - first, batch_size=a.batch_size, clip_grad=a.clip_grad,
                   val_data=theta_val, val_context=x_val, val_every=a.eval_every, seed=a.seed + 1, optimizer=opt)
        hist.loss += tail.loss
        hist.val_step += [first + s for s in tail.val_step[1:]]
        hist.val_nll += tail.val_nll[1:]
    flow.eval()
    metrics = {"train_nll": float(sum(hist.loss[-200:]) / len(hist.loss[-200:])), "val_nll": float(hist.val_nll[-1]),
               "steps": a.steps, "simulations": _N_SIMULATIONS}
    return flow, config, {"metrics": metrics, "history": [[s, v] for s, v in zip(hist.val_step, hist.val_nll)]}


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flowkit.train.conditional",
                                description="Train a conditional flow of the 'flows at work' notebook; "
                                            "writes the checkpoint and a JSON sidecar with the exact command.")
    p.add_argument("kind", choices=tuple(DEFAULTS))
    for name in ("steps", "batch_size", "warmup", "seed", "eval_every", "hidden", "couplings"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    for name in ("lr", "clip_grad"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    return p


_OPTIONS = ("steps", "batch_size", "lr", "warmup", "clip_grad", "seed", "eval_every", "hidden", "couplings",
            "threads", "out")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: train, write ``--out`` and its JSON sidecar (``<out>.json``); returns 0.

    Example:
        >>> import pathlib, tempfile
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "moons.pt"
        >>> main(["two-moons", "--steps", "2", "--eval-every", "1", "--hidden", "8", "--couplings", "1",
        ...       "--out", str(out)])   # doctest: +ELLIPSIS
        wrote ...
        0
    """
    p = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    for k, v in DEFAULTS[a.kind].items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    for name in ("steps", "batch_size", "eval_every", "hidden", "couplings", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    torch.set_num_threads(a.threads)
    command = shlex.join(["python", "-m", "flowkit.train.conditional", a.kind,
                          *(f"--{k.replace('_', '-')}={getattr(a, k)}" for k in _OPTIONS)])
    t0, c0 = time.perf_counter(), time.process_time()
    model, config, extra = (_train_digits if a.kind == "digits" else _train_two_moons)(a)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"format": FORMAT, "trainer": "flowkit.train.conditional", "kind": a.kind, "config": config,
            "metrics": extra["metrics"], "command": command, "argv": ["python", "-m", "flowkit.train.conditional", *argv],
            "seed": a.seed, "torch": str(torch.__version__), "threads": a.threads,
            "wall_time_s": round(time.perf_counter() - t0, 1), "cpu_time_s": round(time.process_time() - c0, 1),
            "n_params": sum(int(t.numel()) for t in model.parameters())}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({**info, "state_dict": state, "history": extra["history"]}, out)
    sidecar = {**info, "checkpoint": out.name, "checkpoint_bytes": out.stat().st_size}
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {out.with_suffix('.json')}: "
          f"{json.dumps(extra['metrics'])}; {info['cpu_time_s']} CPU-s", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
