"""The same affine-coupling flow built in flowkit, a plain-PyTorch reference, nflows, normflows and zuko.

Architecture (all implementations): ``n_layers`` affine couplings on ``D`` features, each with
an MLP conditioner ``n_a → hidden… → 2·n_b`` (ReLU), masks alternating between "keep the first
half" and "keep the second half" (for ``D = 2``: alternate which coordinate is transformed), a
standard-normal base, and the conditioner's last layer zero-initialised (so every model starts as
the identity map, as flowkit does by default). What differs is each library's own code and its
own parametrisation of the scale:

* ``flowkit``   ``fk.AffineCoupling(D, mask=fk.split_mask(D, flip=k % 2), hidden=…)``;
  log-scale soft-clamped ``s = 3 tanh(s̃/3)``.
* ``reference`` hand-written: slicing + ``torch.cat``, the same MLPs (``nn.Sequential``) and the
  same soft clamp as flowkit, so with the same weights it computes *exactly* flowkit's numbers
  (checked by :func:`check_reference_matches_flowkit`). This is the floor to beat.
* ``nflows``    ``AffineCouplingTransform`` with ``nflows.nn.nets.MLP``; its scale is
  ``sigmoid(s̃ + 2) + 1e-3`` — capped at 1.001 per layer — used as shipped.
* ``normflows`` ``AffineCouplingBlock(nets.MLP(..., init_zeros=True))`` + ``Permute('swap')``
  (its RealNVP example); unbounded ``exp`` scale, used as shipped.
* ``zuko``      ``GeneralCouplingTransform`` (``MonotonicAffineTransform``: log-scale
  soft-bounded to ``|log 1e-3| ≈ 6.9``) with ``zuko.nn.MLP`` inside ``zuko.flows.Flow``.

Every model is wrapped in a :class:`Model` with three calls: ``log_prob(x)``, ``sample(n)`` (the
library's public sampling call) and ``parameters()``.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

LIBS = ("flowkit", "reference", "nflows", "normflows", "zuko")
PEERS = ("nflows", "normflows", "zuko")
_LOG_2PI = math.log(2.0 * math.pi)


def available(lib: str) -> bool:
    """flowkit and the reference are always there; a peer library only if it is installed."""
    if lib in ("flowkit", "reference"):
        return True
    return importlib.util.find_spec(lib) is not None


@dataclass
class Model:
    lib: str
    module: nn.Module
    log_prob: Callable[[Tensor], Tensor]
    sample: Callable[[int], Tensor]

    def parameters(self):
        return self.module.parameters()


def _zero_last_linear(net: nn.Module) -> None:
    # any layer with a 2-D weight and a bias (nn.Linear, zuko.nn.Linear, ...)
    last = [m for m in net.modules()
            if isinstance(getattr(m, "weight", None), Tensor) and m.weight.dim() == 2][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()


def _halves(D: int, flip: bool) -> Tensor:
    """Boolean mask, True = kept (conditioning) part: the first D//2 features, or the rest when flipped."""
    keep = torch.arange(D) < D // 2
    return ~keep if flip else keep


# ---------------------------------------------------------------------------- flowkit
def build_flowkit(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    import flowkit as fk

    layers = [fk.AffineCoupling(D, mask=fk.split_mask(D, flip=bool(k % 2)), hidden=tuple(hidden))
              for k in range(n_layers)]
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(D))
    return Model("flowkit", flow, flow.log_prob, flow.sample)


# ---------------------------------------------------------------------------- reference
class RefAffineCoupling(nn.Module):
    """Affine coupling with plain slicing: keeps ``x[:, :k]`` (or ``x[:, k:]`` when ``flip``)."""

    def __init__(self, D: int, flip: bool, hidden: Sequence[int], bound: float = 5.0) -> None:
        super().__init__()
        self.k, self.flip, self.bound = D // 2, flip, bound
        n_a = D - self.k if flip else self.k
        self.n_b = D - n_a
        sizes = [n_a, *hidden, 2 * self.n_b]
        mods: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            mods.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                mods.append(nn.ReLU())
        self.net = nn.Sequential(*mods)
        _zero_last_linear(self.net)

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        a, b = x[:, :self.k], x[:, self.k:]
        return (b, a) if self.flip else (a, b)

    def _join(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.cat((b, a) if self.flip else (a, b), dim=1)

    def _st(self, a: Tensor) -> tuple[Tensor, Tensor]:
        h = self.net(a)
        c = self.bound
        return c * torch.tanh(h[:, :self.n_b] / c), h[:, self.n_b:]

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:  # generative z → x
        a, b = self._split(z)
        s, t = self._st(a)
        return self._join(a, b * torch.exp(s) + t), s.sum(dim=1)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:  # normalizing x → z
        a, b = self._split(x)
        s, t = self._st(a)
        return self._join(a, (b - t) * torch.exp(-s)), -s.sum(dim=1)


class RefFlow(nn.Module):
    def __init__(self, D: int, n_layers: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.D = D
        self.layers = nn.ModuleList(RefAffineCoupling(D, bool(k % 2), hidden) for k in range(n_layers))

    def log_prob(self, x: Tensor) -> Tensor:
        ld = x.new_zeros(x.shape[0])
        for layer in reversed(self.layers):
            x, d = layer.inverse(x)
            ld = ld + d
        return -0.5 * x.pow(2).sum(dim=1) - 0.5 * self.D * _LOG_2PI + ld

    def sample(self, n: int) -> Tensor:
        z = torch.randn(n, self.D)
        for layer in self.layers:
            z, _ = layer.forward(z)
        return z


def build_reference(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    flow = RefFlow(D, n_layers, hidden)
    return Model("reference", flow, flow.log_prob, flow.sample)


def check_reference_matches_flowkit(D: int = 6, n_layers: int = 4, hidden: Sequence[int] = (16, 16)) -> float:
    """Copy random weights from a flowkit flow into the reference; return max |Δ log p|."""
    torch.manual_seed(0)
    fk_model = build_flowkit(D, n_layers, hidden)
    ref = build_reference(D, n_layers, hidden)
    with torch.no_grad():
        for p in fk_model.module.parameters():
            p.normal_(0, 0.3)
        for c, r in zip(fk_model.module.transform, ref.module.layers):
            r.net.load_state_dict(c.conditioner.state_dict())
        x = torch.randn(64, D)
        return float((fk_model.log_prob(x) - ref.log_prob(x)).abs().max())


# ---------------------------------------------------------------------------- nflows
class _NflowsNet(nn.Module):
    """nflows' own MLP; coupling layers call ``net(x, context)``, which the MLP does not take."""

    def __init__(self, n_in: int, n_out: int, hidden: Sequence[int]) -> None:
        super().__init__()
        from nflows.nn.nets import MLP

        self.mlp = MLP((n_in,), (n_out,), hidden_sizes=list(hidden))
        _zero_last_linear(self.mlp)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        return self.mlp(x)


def build_nflows(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.transforms.base import CompositeTransform
    from nflows.transforms.coupling import AffineCouplingTransform

    layers = []
    for k in range(n_layers):
        transformed = (~_halves(D, bool(k % 2))).int()  # nflows: mask > 0 = transformed
        layers.append(AffineCouplingTransform(transformed, lambda i, o: _NflowsNet(i, o, hidden)))
    # nflows' transform is the normalizing direction (x → z); list the layers data-side first
    flow = Flow(CompositeTransform(layers[::-1]), StandardNormal([D]))
    return Model("nflows", flow, flow.log_prob, flow.sample)


# ---------------------------------------------------------------------------- normflows
def build_normflows(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    import normflows as nf

    if D % 2:
        raise ValueError("normflows' 'channel' split + 'swap' permutation need an even D here")
    flows = []
    for k in range(n_layers):
        # "channel" split: z1 = first half conditions z2 = second half; 'swap' exchanges the halves
        net = nf.nets.MLP([D // 2, *hidden, D], init_zeros=True)
        flows.append(nf.flows.AffineCouplingBlock(net, scale=True, scale_map="exp", split_mode="channel"))
        # a swap after every block (the last included) keeps the data-side conditioning order the
        # same as the other libraries' alternating masks: on two moons the order alone moved the
        # test NLL after 2000 steps from 0.87 to 1.55 nats for the same flowkit model
        flows.append(nf.flows.Permute(D, mode="swap"))
    model = nf.NormalizingFlow(nf.distributions.DiagGaussian(D, trainable=False), flows)
    return Model("normflows", model, model.log_prob, lambda n: model.sample(n)[0])


# ---------------------------------------------------------------------------- zuko
def build_zuko(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    import zuko
    from zuko.flows.coupling import GeneralCouplingTransform

    transforms = []
    for k in range(n_layers):
        t = GeneralCouplingTransform(D, mask=_halves(D, bool(k % 2)), hidden_features=tuple(hidden))
        _zero_last_linear(t.hyper)
        transforms.append(t)
    base = zuko.lazy.UnconditionalDistribution(zuko.distributions.DiagNormal, torch.zeros(D), torch.ones(D),
                                               buffer=True)
    flow = zuko.lazy.Flow(transforms, base)
    return Model("zuko", flow, lambda x: flow().log_prob(x), lambda n: flow().sample((n,)))


BUILDERS = {
    "flowkit": build_flowkit,
    "reference": build_reference,
    "nflows": build_nflows,
    "normflows": build_normflows,
    "zuko": build_zuko,
}


def build(lib: str, D: int, n_layers: int = 8, hidden: Sequence[int] = (64, 64), seed: int = 0) -> Model:
    """Build ``lib``'s model with the global RNG seeded (the libraries initialise from it)."""
    torch.manual_seed(seed)
    return BUILDERS[lib](D, n_layers, hidden)
