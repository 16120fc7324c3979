"""One RealNVP, built in flowkit, a hand-written PyTorch floor, nflows, normflows, zuko and FrEIA.

Architecture (every implementation): ``n_layers`` affine couplings on ``D`` features, each with an
MLP conditioner ``n_a → hidden… → 2·n_b`` (ReLU), the halves alternating — the layer next to the
data transforms the second half given the first, the next one the first half given the second,
… (:func:`keeps_first_half`) — a standard-normal base, and the conditioner's last layer
zero-initialised (every model starts as the identity map). With ``hidden = (64, 64)`` every library has the same parameter count:
35 344 for ``D = 2`` and 83 456 for ``D = 64`` (:func:`n_params`). What differs is each library's
own code and its own parametrisation of the scale, used as shipped:

=========  ===========================================================================================
flowkit    ``fk.AffineCoupling(D, mask=fk.split_mask(D, flip=…), hidden=…)``, library defaults
floor      :class:`FloorRealNVP` below: ~60 lines of plain PyTorch, the paper's map applied data →
           latent, ``z_b = x_b·exp(s) + t`` with ``s = tanh(s̃)`` (Dinh et al., 2017, eq. 6–7)
nflows     ``AffineCouplingTransform``: normalizing direction, scale ``sigmoid(s̃ + 2) + 1e-3``
           (≤ 1.001: a layer can only contract x → z)
normflows  ``AffineCouplingBlock(MLP(..., init_zeros=True))`` + ``Permute('swap')``: generative
           direction, unbounded ``exp``
zuko       ``GeneralCouplingTransform`` (``MonotonicAffineTransform``): normalizing direction,
           log-scale ``s̃ / (1 + |s̃| / 6.9)``, inside ``zuko.lazy.Flow`` (rebuilt every call)
freia      ``SequenceINN`` of 4 ``GLOWCouplingBlock`` s (two couplings each, one split and one cat per
           block; the input's halves rolled once so its first coupling transforms the second
           half): normalizing direction, log-scale ``2 · 0.636 · atan(s̃)``
=========  ===========================================================================================

Every model is wrapped in a :class:`Model` with ``log_prob(x)``, ``sample(n)`` (the library's
public calls) and ``parameters()``.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

LIBS = ("flowkit", "floor", "nflows", "normflows", "zuko", "freia")
PEERS = ("nflows", "normflows", "zuko", "freia")
SHARED = "MLPs only"  # the lower bound timed beside the libraries (SharedWork), not a library
_MODULE = {"freia": "FrEIA"}
_LOG_2PI = math.log(2.0 * math.pi)


def available(lib: str) -> bool:
    """flowkit and the floor are always there; a peer library only if it is installed."""
    return lib in ("flowkit", "floor", SHARED) or importlib.util.find_spec(_MODULE.get(lib, lib)) is not None


@dataclass
class Model:
    lib: str
    module: nn.Module
    log_prob: Callable[[Tensor], Tensor]
    sample: Callable[[int], Tensor]

    def parameters(self):
        return self.module.parameters()


def n_params(model: Model) -> int:
    return sum(p.numel() for p in model.parameters())


def _mlp(n_in: int, n_out: int, hidden: Sequence[int]) -> nn.Sequential:
    """``Linear → ReLU → … → Linear`` with the last layer zero-initialised."""
    sizes = [n_in, *hidden, n_out]
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    _zero_last_linear(net)
    return net


def _zero_last_linear(net: nn.Module) -> None:
    # any layer with a 2-D weight and a bias (nn.Linear, zuko.nn.Linear, ...)
    last = [m for m in net.modules() if isinstance(getattr(m, "weight", None), Tensor) and m.weight.dim() == 2][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()


def _halves(D: int, flip: bool) -> Tensor:
    """Boolean mask, True = kept (conditioning) part: the first D//2 features, or the rest when flipped."""
    keep = torch.arange(D) < D // 2
    return ~keep if flip else keep


def keeps_first_half(j: int) -> bool:
    """Whether the ``j``-th coupling counted from the data side conditions on the first half.

    The layer next to the data conditions on the first half and transforms the second: on two
    moons that layer can straighten each moon (``x₂ - t(x₁)``), while the other order asks it to
    transform ``x₁`` given ``x₂``, which is two-valued on each moon; in that order every library,
    zuko included, ends a share of its runs in a poor optimum (benchmarks/README.md).
    """
    return j % 2 == 0


# ---------------------------------------------------------------------------- flowkit
def build_flowkit(D: int, n_layers: int, hidden: Sequence[int], **coupling_kwargs) -> Model:
    import flowkit as fk

    layers = [fk.AffineCoupling(D, mask=fk.split_mask(D, flip=not keeps_first_half(n_layers - 1 - k)),
                                hidden=tuple(hidden), **coupling_kwargs) for k in range(n_layers)]
    flow = fk.Flow(fk.Compose(layers), fk.StandardNormal(D))
    return Model("flowkit", flow, flow.log_prob, flow.sample)


# ---------------------------------------------------------------------------- the floor (hand-written)
class FloorCoupling(nn.Module):
    """RealNVP's affine coupling, data → latent: ``z_b = x_b·exp(s) + t``, ``s = tanh(s̃)``, log-det ``Σ s``."""

    def __init__(self, D: int, flip: bool, hidden: Sequence[int]) -> None:
        super().__init__()
        self.k, self.flip = D // 2, flip
        n_a = D - self.k if flip else self.k
        self.net = _mlp(n_a, 2 * (D - n_a), hidden)

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        a, b = x[:, :self.k], x[:, self.k:]
        return (b, a) if self.flip else (a, b)

    def _join(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.cat((b, a) if self.flip else (a, b), dim=1)

    def normalize(self, x: Tensor) -> tuple[Tensor, Tensor]:  # x → z
        a, b = self._split(x)
        s, t = self.net(a).chunk(2, dim=1)
        s = torch.tanh(s)
        return self._join(a, b * torch.exp(s) + t), s.sum(dim=1)

    def generate(self, z: Tensor) -> Tensor:  # z → x
        a, b = self._split(z)
        s, t = self.net(a).chunk(2, dim=1)
        return self._join(a, (b - t) * torch.exp(-torch.tanh(s)))


class FloorRealNVP(nn.Module):
    """``layers`` in the generative order (``layers[-1]`` touches the data), standard normal base."""

    def __init__(self, D: int, n_layers: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.D = D
        self.layers = nn.ModuleList(FloorCoupling(D, not keeps_first_half(n_layers - 1 - k), hidden)
                                    for k in range(n_layers))

    def log_prob(self, x: Tensor) -> Tensor:
        ld = x.new_zeros(x.shape[0])
        for layer in reversed(self.layers):
            x, d = layer.normalize(x)
            ld = ld + d
        return -0.5 * (x.pow(2).sum(dim=1) + self.D * _LOG_2PI) + ld

    def sample(self, n: int) -> Tensor:
        x = torch.randn(n, self.D)
        for layer in self.layers:
            x = layer.generate(x)
        return x


def build_floor(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    flow = FloorRealNVP(D, n_layers, hidden)
    return Model("floor", flow, flow.log_prob, flow.sample)


def check_floor_matches_flowkit(D: int = 6, n_layers: int = 4, hidden: Sequence[int] = (16, 16)) -> float:
    """max |Δ log p| between the floor and flowkit's ``AffineCoupling(direction="normalizing",
    scale_bound=1)`` (the same map: ``1·tanh(s̃/1) = tanh(s̃)``) with the same random weights."""
    torch.manual_seed(0)
    fk_model = build_flowkit(D, n_layers, hidden, direction="normalizing", scale_bound=1.0)
    floor = build_floor(D, n_layers, hidden)
    with torch.no_grad():
        for p in fk_model.module.parameters():
            p.normal_(0, 0.3)
        for c, r in zip(fk_model.module.transform, floor.module.layers):
            r.net.load_state_dict(c.conditioner.state_dict())
        x = torch.randn(64, D)
        return float((fk_model.log_prob(x) - floor.log_prob(x)).abs().max())


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
    for j in range(n_layers):  # nflows' transform is the normalizing direction (x → z): data side first
        transformed = (~_halves(D, not keeps_first_half(j))).int()  # nflows: mask > 0 = transformed
        layers.append(AffineCouplingTransform(transformed, lambda i, o: _NflowsNet(i, o, hidden)))
    flow = Flow(CompositeTransform(layers), StandardNormal([D]))
    return Model("nflows", flow, flow.log_prob, flow.sample)


# ---------------------------------------------------------------------------- normflows
def build_normflows(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    import normflows as nf

    if D % 2:
        raise ValueError("normflows' 'channel' split + 'swap' permutation need an even D here")
    flows = []
    for _ in range(n_layers):
        # generative order (the last block touches the data); "channel" split: the first half
        # conditions the second. A swap before every block alternates the halves and leaves the
        # block next to the data conditioning on the first half, as in the other libraries.
        net = nf.nets.MLP([D // 2, *hidden, D], init_zeros=True)
        flows.append(nf.flows.Permute(D, mode="swap"))
        flows.append(nf.flows.AffineCouplingBlock(net, scale=True, scale_map="exp", split_mode="channel"))
    model = nf.NormalizingFlow(nf.distributions.DiagGaussian(D, trainable=False), flows)
    return Model("normflows", model, model.log_prob, lambda n: model.sample(n)[0])


# ---------------------------------------------------------------------------- zuko
def build_zuko(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    import zuko
    from zuko.flows.coupling import GeneralCouplingTransform

    transforms = []
    for j in range(n_layers):  # zuko lists the transforms data side first (x → z)
        t = GeneralCouplingTransform(D, mask=_halves(D, not keeps_first_half(j)), hidden_features=tuple(hidden))
        _zero_last_linear(t.hyper)
        transforms.append(t)
    base = zuko.lazy.UnconditionalDistribution(zuko.distributions.DiagNormal, torch.zeros(D), torch.ones(D),
                                               buffer=True)
    flow = zuko.lazy.Flow(transforms, base)
    return Model("zuko", flow, lambda x: flow().log_prob(x), lambda n: flow().sample((n,)))


# ---------------------------------------------------------------------------- FrEIA
class _FreiaFlow(nn.Module):
    def __init__(self, D: int, n_layers: int, hidden: Sequence[int]) -> None:
        super().__init__()
        import FrEIA.framework as Ff
        import FrEIA.modules as Fm

        if n_layers % 2 or D % 2:
            raise ValueError("FrEIA's GLOWCouplingBlock holds two couplings on two equal halves")
        self.D = D
        self.inn = Ff.SequenceINN(D)
        # FrEIA runs x → z; each block transforms its first half given the second, then the second
        # given the new first half. Rolling the input by D/2 (a permutation: log-det 0) makes its
        # first coupling transform the data's second half given the first, as in the other libraries.
        for _ in range(n_layers // 2):
            self.inn.append(Fm.GLOWCouplingBlock, subnet_constructor=lambda i, o: _mlp(i, o, hidden))

    def log_prob(self, x: Tensor) -> Tensor:
        z, ld = self.inn(x.roll(self.D // 2, 1))
        return -0.5 * (z.pow(2).sum(dim=1) + self.D * _LOG_2PI) + ld

    def sample(self, n: int) -> Tensor:
        x, _ = self.inn(torch.randn(n, self.D), rev=True, jac=False)
        return x.roll(-(self.D // 2), 1)


def build_freia(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    flow = _FreiaFlow(D, n_layers, hidden)
    return Model("freia", flow, flow.log_prob, flow.sample)


# ---------------------------------------------------------------------------- the shared work alone
class SharedWork(nn.Module):
    """What every implementation of the architecture computes, and nothing else: ``n_layers`` MLP
    conditioners of the same shapes (flowkit's fused :class:`flowkit.MLP`, the fastest MLP measured)
    on alternating halves, joined by one addition each — no clamp, ``exp``, log-det, split or merge.

    Not a flow. Timed like one (same harness, same Adam), its training step and its ``log_prob`` /
    ``sample`` are a lower bound on any library's at this architecture: a goal that this bound misses
    cannot be met by coupling code.
    """

    def __init__(self, D: int, n_layers: int, hidden: Sequence[int]) -> None:
        super().__init__()
        import flowkit as fk

        self.D, self.k = D, D // 2
        self.nets = nn.ModuleList(fk.MLP(self.k if j % 2 == 0 else D - self.k,
                                         2 * (D - self.k if j % 2 == 0 else self.k), hidden=tuple(hidden))
                                  for j in range(n_layers))

    def _run(self, x: Tensor) -> Tensor:
        a, b = x[:, :self.k], x[:, self.k:]
        for net in self.nets:
            h = net(a)
            n = b.shape[1]
            a, b = b + h[:, :n] + h[:, n:], a
        return torch.cat((a, b), dim=1)

    def log_prob(self, x: Tensor) -> Tensor:
        return self._run(x).sum(dim=1)

    def sample(self, n: int) -> Tensor:
        return self._run(torch.randn(n, self.D))


def build_shared(D: int, n_layers: int, hidden: Sequence[int]) -> Model:
    m = SharedWork(D, n_layers, hidden)
    return Model(SHARED, m, m.log_prob, m.sample)


BUILDERS = {
    "flowkit": build_flowkit,
    "floor": build_floor,
    "nflows": build_nflows,
    "normflows": build_normflows,
    "zuko": build_zuko,
    "freia": build_freia,
    SHARED: build_shared,
}


def build(lib: str, D: int, n_layers: int = 8, hidden: Sequence[int] = (64, 64), seed: int = 0) -> Model:
    """Build ``lib``'s model with the global RNG seeded (the libraries initialise from it)."""
    torch.manual_seed(seed)
    return BUILDERS[lib](D, n_layers, hidden)
