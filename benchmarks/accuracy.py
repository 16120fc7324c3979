"""Accuracy at equal architecture: two-moons test NLL and 8×8-digits test bits/dim, per library and seed.

Every library trains with the same hand-written Adam loop (lr 1e-3, or annealed from 1e-3 to 0
with ``anneal``; batch 256, no gradient clipping, the same mini-batches per seed) on
``loss = -log_prob(x).mean()``; runs are interleaved over the libraries inside each seed, so a
change of machine load hits all alike. Each run also records its test score after each of the
last ``N_CHECKS`` hundreds of steps ("checks"). Non-finite runs are recorded, not fatal.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterator

import torch

from benchmarks import models as M

BATCH, LR, N_LAYERS, HIDDEN, ALPHA = 256, 1e-3, 8, (64, 64), 0.05
CHECK_EVERY, N_CHECKS = 100, 5  # the test score also after the last N_CHECKS multiples of CHECK_EVERY steps


def moons_data(n_train: int, n_test: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two moons (noise 0.05), standardised with the training split's mean and std."""
    from flowkit import data

    train, _, test = data.train_val_test("two_moons", n_train, 0, n_test, seed=0, noise=0.05)
    mu, sd = train.mean(0), train.std(0)
    return (train - mu) / sd, (test - mu) / sd


def logit(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """v = logit(α + (1-2α) y) and log|dv/dy| per row (as flowkit.image.Logit with α = 0.05)."""
    p = ALPHA + (1 - 2 * ALPHA) * y
    v = torch.log(p) - torch.log1p(-p)
    ld = (math.log(1 - 2 * ALPHA) - torch.log(p) - torch.log1p(-p)).sum(dim=1)
    return v, ld


def digits_data() -> dict:
    """Train images (integers, 64-D), and the test split dequantized once (fixed noise) in logit space."""
    from flowkit.data.digits import DIGITS_BINS, load_digits

    K, D = DIGITS_BINS, 64
    tr = load_digits("train").reshape(-1, D).float()
    te = load_digits("test").reshape(-1, D).float()
    v_te, ld_te = logit((te + torch.rand(te.shape, generator=torch.Generator().manual_seed(2024))) / K)
    return {"train": tr, "v_test": v_te, "ld_test": ld_te, "K": K, "D": D}


def batches(n: int, seed: int) -> Iterator[torch.Tensor]:
    """Indices of shuffled mini-batches of ``BATCH``, epoch after epoch."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - BATCH + 1, BATCH):
            yield perm[i:i + BATCH]


def train(model: M.Model, next_batch: Callable[[], torch.Tensor], steps: int,
          check: Callable[[], float] | None = None, anneal: bool = False) -> dict:
    """Plain Adam loop, identical for every library (no gradient clipping).

    The learning rate is ``LR`` throughout, or with ``anneal`` follows a cosine from ``LR`` to 0
    over the ``steps`` (the final step then no longer jitters; benchmarks/README.md, "Two moons").
    ``check`` (evaluated without touching the training) is called after each of the last
    ``N_CHECKS`` steps that are multiples of ``CHECK_EVERY``; its values are ``"checks"``.
    """
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps))) \
        if anneal else None
    checks: list[float] = []
    for step in range(1, steps + 1):
        loss = -model.log_prob(next_batch()).mean()
        if not torch.isfinite(loss):
            return {"ok": False, "failed_step": step, "checks": checks}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        if check is not None and step % CHECK_EVERY == 0 and step > steps - CHECK_EVERY * N_CHECKS:
            checks.append(check())
    return {"ok": True, "failed_step": None, "checks": checks}


@torch.no_grad()
def mean_nll(model: M.Model, x: torch.Tensor, chunk: int = 5000) -> float:
    tot = 0.0
    for i in range(0, x.shape[0], chunk):
        tot += float(-model.log_prob(x[i:i + chunk]).double().sum())
    return tot / x.shape[0]


def _record(seed: int, value: float, st: dict, wall: float, cpu: float) -> dict:
    finite = st["ok"] and math.isfinite(value)
    return {"seed": seed, "value": value if finite else None, "finite": finite, "failed_step": st["failed_step"],
            "train_wall_s": wall, "train_cpu_s": cpu, "checks": st["checks"] if finite else []}


def _train_and_score(model: M.Model, next_batch: Callable[[], torch.Tensor], steps: int,
                     score: Callable[[], float], anneal: bool) -> tuple[dict, float, float, float]:
    """Train, scoring at the checks (``train``) and after the last step; the checks' time is not counted.

    Returns the training state, the final score (NaN for a failed run) and the wall and CPU seconds.
    """
    spent = [0.0, 0.0]

    def check() -> float:
        w, c = time.perf_counter(), time.process_time()
        value = score()
        spent[0] += time.perf_counter() - w
        spent[1] += time.process_time() - c
        return value

    t0, c0 = time.perf_counter(), time.process_time()
    st = train(model, next_batch, steps, check, anneal)
    wall, cpu = time.perf_counter() - t0 - spent[0], time.process_time() - c0 - spent[1]
    return st, (score() if st["ok"] else math.nan), wall, cpu


def moons_run(build: Callable[[], M.Model], seed: int, steps: int, train_x: torch.Tensor,
              test_x: torch.Tensor, anneal: bool = False) -> dict:
    """One training run on two moons; ``value`` = test NLL in nats after the last step.

    ``checks``: the test NLL after each of the last ``N_CHECKS`` hundreds of steps (with ``steps`` a
    multiple of 100 the last one is ``value``). Their spread within one run is the final iterate's
    own fluctuation under a constant learning rate: runs that reach the same optimum still differ
    by about that much (benchmarks/README.md, "Two moons").
    """
    model = build()
    it = batches(train_x.shape[0], seed)
    st, value, wall, cpu = _train_and_score(model, lambda: train_x[next(it)], steps,
                                            lambda: mean_nll(model, test_x), anneal)
    return _record(seed, value, st, wall, cpu)


def digits_run(build: Callable[[], M.Model], seed: int, steps: int, data: dict, anneal: bool = False) -> dict:
    """One training run on the digits (fresh uniform dequantization noise per batch); ``value`` = test bits/dim.

    bits/dim = ``(-log p(y) + D log K) / (D log 2)`` with ``log p(y) = log p(v) + log|dv/dy|``;
    ``checks`` as in :func:`moons_run`.
    """
    model, tr, K, D = build(), data["train"], data["K"], data["D"]
    it, gen = batches(tr.shape[0], seed), torch.Generator().manual_seed(seed)

    def next_batch() -> torch.Tensor:
        xb = tr[next(it)]
        return logit((xb + torch.rand(xb.shape, generator=gen)) / K)[0]

    @torch.no_grad()
    def bpd() -> float:
        log_py = model.log_prob(data["v_test"]).double() + data["ld_test"].double()
        return float(((-log_py + D * math.log(K)) / (D * math.log(2))).mean())

    st, value, wall, cpu = _train_and_score(model, next_batch, steps, bpd, anneal)
    return _record(seed, value, st, wall, cpu)


def compare(task: str, libs: list[str], seeds: list[int], steps: int, log=print,
            anneal: bool = False) -> dict[str, list[dict]]:
    """``{lib: [run per seed]}`` for ``task`` in ("moons", "digits"), libraries interleaved per seed."""
    if task == "moons":
        train_x, test_x = moons_data(20_000, 5_000)
        D = 2
    else:
        data = digits_data()
        D = data["D"]
    res: dict[str, list[dict]] = {lib: [] for lib in libs}
    for seed in seeds:
        for lib in libs:
            def build(lib: str = lib, seed: int = seed) -> M.Model:
                return M.build(lib, D, N_LAYERS, HIDDEN, seed=seed)

            run = (moons_run(build, seed, steps, train_x, test_x, anneal) if task == "moons"
                   else digits_run(build, seed, steps, data, anneal))
            res[lib].append(run)
        log(f"  {task} seed {seed}: " + ", ".join(
            f"{lib} {r[-1]['value']:.3f}" if r[-1]["finite"] else f"{lib} non-finite" for lib, r in res.items()))
    return res
