"""Where does flowkit's AffineCoupling spend its time, and what would a fix buy?

Usage::

    .venv/bin/python -m benchmarks.profile_coupling [--threads 1] [--reps 7] [--steps 30]

1. ``torch.profiler`` op table of 20 training steps (batch 256, two moons shape, 8 couplings
   with MLP 2×64) for flowkit and for the plain reference, sorted by self CPU time.
2. Interleaved timing (median of ``--reps`` repetitions) of training step / log_prob / sample for
   * ``flowkit``                 as shipped,
   * ``flowkit+combine``         ``Coupling._combine`` prototype: ``torch.cat`` of the two parts
                                 (plus one ``index_select`` when the mask is not a contiguous split)
                                 instead of ``z.clone(); out[:, idx_b] = new_b``,
   * ``flowkit+combine+slice``   additionally ``_params`` takes contiguous slices (views) instead
                                 of ``z[:, idx_a]`` / ``z[:, idx_b]`` gathers, and skips the
                                 per-call conditioner output-shape check,
   * ``flowkit (no validation)`` flowkit's layers called through ``transform._inverse`` directly,
                                 i.e. without ``Flow.log_prob``'s ``validate_batch`` (isfinite
                                 scan + host sync),
   * ``reference``               the hand-written floor (benchmarks/models.py).
   The prototypes are subclasses living here (flowkit/ is not modified); they compute the same
   numbers as flowkit (checked).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import Tensor  # noqa: E402

import flowkit as fk  # noqa: E402
from benchmarks import models as M  # noqa: E402


class CombineFix(fk.AffineCoupling):
    """Prototype: build the output with one ``torch.cat`` (+ ``index_select`` for scattered masks)."""

    def _prep(self) -> None:
        if getattr(self, "_prepped", False):
            return
        n = self.mask.numel()
        ia, ib = self.idx_a, self.idx_b
        self._a_first = bool(torch.equal(ia, torch.arange(ia.numel())))  # mask keeps x[:, :n_a]
        self._b_first = bool(torch.equal(ib, torch.arange(ib.numel())))  # mask keeps x[:, n_b:]
        self._inv = torch.argsort(torch.cat([ia, ib]))  # position of each feature in cat([a, b])
        self._n = n
        self._prepped = True

    def _combine(self, z: Tensor, new_b: Tensor, ld_elem: Tensor) -> tuple[Tensor, Tensor]:
        if not self.vector:
            return super()._combine(z, new_b, ld_elem)
        self._prep()
        na = self.idx_a.numel()
        if self._a_first:
            out = torch.cat([z[:, :na], new_b], dim=1)
        elif self._b_first:
            out = torch.cat([new_b, z[:, self._n - na:]], dim=1)
        else:
            out = torch.cat([z.index_select(1, self.idx_a), new_b], dim=1).index_select(1, self._inv)
        return out, ld_elem.sum(dim=1)


class CombineSliceFix(CombineFix):
    """Prototype: also take contiguous slices in ``_params`` and drop the per-call shape check."""

    def _params(self, z: Tensor):
        if not self.vector:
            return super()._params(z)
        self._prep()
        na = self.idx_a.numel()
        if self._a_first:
            za, zb = z[:, :na], z[:, na:]
        elif self._b_first:
            nb = self._n - na
            za, zb = z[:, nb:], z[:, :nb]
        else:
            za, zb = z.index_select(1, self.idx_a), z.index_select(1, self.idx_b)
        h = self.conditioner(za)
        return zb, h.view(z.shape[0], self.n_params, self._n_b)


def patched(cls, seed: int = 0) -> M.Model:
    m = M.build("flowkit", 2, 8, (64, 64), seed=seed)
    for layer in m.module.transform:
        layer.__class__ = cls
    return M.Model(f"flowkit+{cls.__name__}", m.module, m.module.log_prob, m.module.sample)


def no_validation(seed: int = 0) -> M.Model:
    m = M.build("flowkit", 2, 8, (64, 64), seed=seed)
    flow = m.module

    def log_prob(x: Tensor) -> Tensor:
        z, ld = flow.transform.inverse(x)
        return flow.base.log_prob(z) + ld

    return M.Model("flowkit-novalid", flow, log_prob, flow.sample)


def variants() -> dict[str, M.Model]:
    return {
        "flowkit": M.build("flowkit", 2, 8, (64, 64), seed=0),
        "flowkit+combine": patched(CombineFix),
        "flowkit+combine+slice": patched(CombineSliceFix),
        "flowkit (no validation)": no_validation(),
        "reference": M.build("reference", 2, 8, (64, 64), seed=0),
    }


def check_same() -> float:
    """Max |Δ log p| between flowkit and the prototypes with random weights, incl. a scattered mask."""
    worst = 0.0
    for D, mask_fn in ((2, fk.split_mask), (6, fk.split_mask), (6, fk.alternating_mask)):
        torch.manual_seed(0)
        layers = [fk.AffineCoupling(D, mask=mask_fn(D, flip=bool(k % 2)), hidden=(16,)) for k in range(4)]
        flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(D))
        with torch.no_grad():
            for p in flow.parameters():
                p.normal_(0, 0.3)
        x = torch.randn(64, D)
        lp0, s0 = flow.log_prob(x), flow.transform.forward(x)[0]
        for cls in (CombineFix, CombineSliceFix):
            for layer in flow.transform:
                layer.__class__ = cls
            worst = max(worst, float((flow.log_prob(x) - lp0).abs().max()),
                        float((flow.transform.forward(x)[0] - s0).abs().max()))
            for layer in flow.transform:
                layer.__class__ = fk.AffineCoupling
    return worst


def profile_ops(model: M.Model, steps: int = 20, top: int = 12) -> str:
    from torch.profiler import ProfilerActivity, profile

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs = [torch.randn(256, 2) for _ in range(steps + 3)]

    def step(x):
        loss = -model.log_prob(x).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for x in xs[:3]:
        step(x)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for x in xs[3:]:
            step(x)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def timing(models: dict[str, M.Model], reps: int, steps: int, n_points: int = 5000) -> dict[str, dict[str, list]]:
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    x_tp = torch.randn(n_points, 2)
    res = {k: {"train_ms": [], "logprob_pts_s": [], "sample_pts_s": []} for k in models}
    names = list(models)
    for r in range(reps + 1):  # rep 0 = warm-up
        xs = [torch.randn(256, 2) for _ in range(steps)]
        for k in names[r % len(names):] + names[:r % len(names)]:
            m, opt = models[k], opts[k]
            t0 = time.perf_counter()
            for x in xs:
                loss = -m.log_prob(x).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            t1 = time.perf_counter()
            with torch.no_grad():
                m.log_prob(x_tp)
                t2 = time.perf_counter()
                m.sample(n_points)
                t3 = time.perf_counter()
            if r:
                res[k]["train_ms"].append(1e3 * (t1 - t0) / steps)
                res[k]["logprob_pts_s"].append(n_points / (t2 - t1))
                res[k]["sample_pts_s"].append(n_points / (t3 - t2))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--no-profile", action="store_true", help="skip the torch.profiler op tables")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {args.threads}; prototypes match flowkit to "
          f"{check_same():.1e} (max |Δ log p| / |Δ x|)\n")
    if not args.no_profile:
        for lib in ("flowkit", "reference"):
            print(f"### torch.profiler, 20 training steps, {lib} (self CPU time)\n")
            print(profile_ops(M.build(lib, 2, 8, (64, 64), seed=0)))
    res = timing(variants(), args.reps, args.steps)
    base = res["flowkit"]
    print(f"### interleaved timing, {args.reps} reps × {args.steps} steps, medians (ratio = variant / flowkit, "
          "per repetition)\n")
    print("| variant | train step ms | vs flowkit | log_prob pts/s | vs flowkit | sample pts/s | vs flowkit |")
    print("|---|---|---|---|---|---|---|")
    for k, r in res.items():
        cells = [k]
        for key, fmt in (("train_ms", "{:.2f}"), ("logprob_pts_s", "{:,.0f}"), ("sample_pts_s", "{:,.0f}")):
            cells.append(fmt.format(statistics.median(r[key])))
            cells.append(f"{statistics.median(a / b for a, b in zip(r[key], base[key])):.2f}×")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
