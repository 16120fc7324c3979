r"""Simulators with a known posterior, for amortised (simulation-based) Bayesian inference.

Amortised inference trains a conditional flow :math:`q(\theta\mid x)` on simulated pairs
:math:`\theta\sim p(\theta)`, :math:`x\sim p(x\mid\theta)` only (Papamakarios & Murray, 2016,
*Fast ε-free inference of simulation models with Bayesian conditional density estimation*,
NeurIPS; Greenberg, Nonnenmacher & Macke, 2019, *Automatic posterior transformation*, ICML).
Maximum likelihood on the pairs minimises :math:`\mathbb E_{p(x)}\,\mathrm{KL}(p(\theta\mid x)\,\|\,q(\theta\mid x))`,
so the flow learns the posterior for *every* observation at once; :func:`posterior_flow` builds
such a flow. Both simulators here also give the exact answer to check it against:

* :class:`LinearGaussian` — :math:`\theta\sim\mathcal N(0,\tau^2 I)`, :math:`x = A\theta + \sigma\varepsilon`;
  the posterior is Gaussian in closed form,

  .. math:: \Sigma = \big(\tau^{-2} I + \sigma^{-2} A^\top A\big)^{-1}, \qquad \mu(x) = \sigma^{-2}\,\Sigma A^\top x ;

* :class:`TwoMoonsSimulator` — the "two moons" task of the simulation-based inference benchmark
  (Greenberg et al., 2019; Lueckmann et al., 2021, *Benchmarking simulation-based inference*,
  AISTATS): :math:`\theta\sim U[-1,1]^2`, :math:`a\sim U(-\tfrac\pi2,\tfrac\pi2)`,
  :math:`r\sim\mathcal N(r_0, s^2)`, and

  .. math:: x = \begin{pmatrix} r\cos a + \tfrac14 \\ r\sin a\end{pmatrix}
            + \begin{pmatrix} -|\theta_1+\theta_2|/\sqrt2 \\ (-\theta_1+\theta_2)/\sqrt2\end{pmatrix}.

  Its likelihood is exact by a change to polar coordinates: with
  :math:`q = x - c(\theta) - (\tfrac14, 0)` (:math:`c` the second vector above),
  :math:`p(x\mid\theta) = \mathcal N(|q|; r_0, s^2)\,\frac{1}{\pi |q|}\,[q_1 > 0]`. The posterior
  is two thin crescents, mirror images under :math:`\theta\mapsto(-\theta_2,-\theta_1)`
  (the fold :math:`|\theta_1+\theta_2|`), so each holds exactly half the mass.

Every sampler draws from a local ``torch.Generator`` seeded ``seed``; global RNG state is never
touched. Densities are computed in float64.

Example:
    >>> import torch
    >>> sim = LinearGaussian()
    >>> theta, x = sim.sample_joint(3, seed=0)
    >>> mean, cov = sim.posterior(x)
    >>> mean.shape, cov.shape
    (torch.Size([3, 2]), torch.Size([2, 2]))
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import torch
from torch import Tensor

from ..validation import finite_real, nonneg_int, positive_int, validate_batch

if TYPE_CHECKING:  # pragma: no cover
    from ..flow import Flow

__all__ = ["LinearGaussian", "TwoMoonsSimulator", "posterior_flow"]

_LOG_2PI = math.log(2.0 * math.pi)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(nonneg_int(seed, "seed"))


def _rows(t: object, dim: int, name: str, where: str) -> Tensor:
    return validate_batch(t, (dim,), name=name, where=where).double()


def _pair(theta: Tensor, x: Tensor, where: str) -> tuple[Tensor, Tensor]:
    """Pair the rows of ``theta`` and ``x``; a single row of either is used for every row of the other."""
    n = max(theta.shape[0], x.shape[0])
    if {theta.shape[0], x.shape[0]} - {1, n}:
        raise ValueError(f"{where}: x has {x.shape[0]} rows but theta has {theta.shape[0]}; "
                         "pass one x row, or one per theta row")
    return theta.expand(n, -1), x.expand(n, -1)


class LinearGaussian:
    r"""The linear Gaussian model :math:`\theta\sim\mathcal N(0,\tau^2 I_d)`, :math:`x\mid\theta\sim\mathcal N(A\theta,\sigma^2 I_k)`.

    Args:
        matrix: :math:`A`, shape ``(k, d)``; default ``[[1, 0.8], [0, 0.6]]`` (a correlated posterior).
        noise: :math:`\sigma > 0`.
        prior_scale: :math:`\tau > 0`.

    Example:
        >>> import torch
        >>> sim = LinearGaussian(noise=0.5)
        >>> mean, cov = sim.posterior(torch.zeros(1, 2))
        >>> mean.tolist()
        [[0.0, 0.0]]
    """

    def __init__(self, matrix: Sequence[Sequence[float]] | Tensor | None = None, noise: float = 0.5,
                 prior_scale: float = 1.0) -> None:
        where = "LinearGaussian"
        A = torch.as_tensor([[1.0, 0.8], [0.0, 0.6]] if matrix is None else matrix, dtype=torch.float64)
        if A.dim() != 2 or not bool(torch.isfinite(A).all()):
            raise ValueError(f"{where}: matrix must be a finite 2-D array (k, d), got shape {tuple(A.shape)}")
        self.matrix = A
        self.noise = finite_real(noise, "noise", where, low=0.0, low_open=True)
        self.prior_scale = finite_real(prior_scale, "prior_scale", where, low=0.0, low_open=True)
        self.x_dim, self.theta_dim = A.shape
        precision = torch.eye(self.theta_dim, dtype=torch.float64) / self.prior_scale**2 + A.T @ A / self.noise**2
        self.posterior_cov = torch.linalg.inv(precision)

    def sample_prior(self, n: int, seed: int = 0) -> Tensor:
        """``n`` draws :math:`\\theta\\sim\\mathcal N(0,\\tau^2 I)`, shape ``(n, d)``, float32."""
        n = positive_int(n, "n", "LinearGaussian.sample_prior")
        return (self.prior_scale * torch.randn(n, self.theta_dim, generator=_generator(seed),
                                               dtype=torch.float64)).float()

    def simulate(self, theta: Tensor, seed: int = 0) -> Tensor:
        """One :math:`x = A\\theta + \\sigma\\varepsilon` per row of ``theta``, shape ``(n, k)``, float32."""
        th = _rows(theta, self.theta_dim, "theta", "LinearGaussian.simulate")
        eps = torch.randn(th.shape[0], self.x_dim, generator=_generator(seed), dtype=torch.float64)
        return (th @ self.matrix.T + self.noise * eps).float()

    def sample_joint(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``(theta, x)``: ``n`` simulated pairs from the joint :math:`p(\\theta)p(x\\mid\\theta)`."""
        theta = self.sample_prior(n, seed)
        return theta, self.simulate(theta, seed + 1)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, cov)`` of :math:`p(\\theta\\mid x)`: means ``(B, d)`` (float64) and the shared ``(d, d)`` covariance."""
        xs = _rows(x, self.x_dim, "x", "LinearGaussian.posterior")
        return xs @ self.matrix @ self.posterior_cov.T / self.noise**2, self.posterior_cov.clone()

    def log_posterior(self, theta: Tensor, x: Tensor) -> Tensor:
        r"""Normalised :math:`\log p(\theta\mid x)` (float64, shape ``(M,)``); one row of either is paired with every row of the other."""
        th, xs = _pair(_rows(theta, self.theta_dim, "theta", "LinearGaussian.log_posterior"),
                       _rows(x, self.x_dim, "x", "LinearGaussian.log_posterior"), "LinearGaussian.log_posterior")
        mean, cov = self.posterior(xs)
        diff = th - mean
        maha = (diff @ torch.linalg.inv(cov) * diff).sum(dim=1)
        return -0.5 * (maha + torch.logdet(cov) + self.theta_dim * _LOG_2PI)


class TwoMoonsSimulator:
    r"""The two-moons simulator of the SBI benchmark, with its exact likelihood (see the module docstring).

    Args:
        radius_mean: :math:`r_0` (0.1 in the benchmark).
        radius_sd: :math:`s` (0.01 in the benchmark); the width of each crescent.

    Example:
        >>> import torch
        >>> sim = TwoMoonsSimulator()
        >>> theta, x = sim.sample_joint(4, seed=0)
        >>> bool(torch.isfinite(sim.log_likelihood(theta, x)).all())
        True
    """

    theta_dim = x_dim = 2
    prior_bounds = (-1.0, 1.0)

    def __init__(self, radius_mean: float = 0.1, radius_sd: float = 0.01) -> None:
        self.radius_mean = finite_real(radius_mean, "radius_mean", "TwoMoonsSimulator", low=0.0, low_open=True)
        self.radius_sd = finite_real(radius_sd, "radius_sd", "TwoMoonsSimulator", low=0.0, low_open=True)

    @staticmethod
    def shift(theta: Tensor) -> Tensor:
        r""":math:`c(\theta) = (-|\theta_1+\theta_2|/\sqrt2,\ (-\theta_1+\theta_2)/\sqrt2)`, rows of float64."""
        th = theta.double()
        s = math.sqrt(2.0)
        return torch.stack([-(th[:, 0] + th[:, 1]).abs() / s, (th[:, 1] - th[:, 0]) / s], dim=1)

    def sample_prior(self, n: int, seed: int = 0) -> Tensor:
        """``n`` draws :math:`\\theta\\sim U[-1,1]^2`, shape ``(n, 2)``, float32."""
        n = positive_int(n, "n", "TwoMoonsSimulator.sample_prior")
        return (2.0 * torch.rand(n, 2, generator=_generator(seed), dtype=torch.float64) - 1.0).float()

    def simulate(self, theta: Tensor, seed: int = 0) -> Tensor:
        """One observation per row of ``theta``, shape ``(n, 2)``, float32."""
        th = _rows(theta, 2, "theta", "TwoMoonsSimulator.simulate")
        g = _generator(seed)
        a = (torch.rand(th.shape[0], generator=g, dtype=torch.float64) - 0.5) * math.pi
        r = self.radius_mean + self.radius_sd * torch.randn(th.shape[0], generator=g, dtype=torch.float64)
        p = torch.stack([r * torch.cos(a) + 0.25, r * torch.sin(a)], dim=1)
        return (p + self.shift(th)).float()

    def sample_joint(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``(theta, x)``: ``n`` simulated pairs from the joint."""
        theta = self.sample_prior(n, seed)
        return theta, self.simulate(theta, seed + 1)

    def log_likelihood(self, theta: Tensor, x: Tensor) -> Tensor:
        r"""Exact :math:`\log p(x\mid\theta)` (float64, ``(M,)``; ``-inf`` where :math:`q_1\le 0`); rows paired, a single row broadcast."""
        where = "TwoMoonsSimulator.log_likelihood"
        th, xs = _pair(_rows(theta, 2, "theta", where), _rows(x, 2, "x", where), where)
        q = xs - self.shift(th)
        q = torch.stack([q[:, 0] - 0.25, q[:, 1]], dim=1)
        r = torch.linalg.vector_norm(q, dim=1)
        z = (r - self.radius_mean) / self.radius_sd
        log_p = -0.5 * z**2 - math.log(self.radius_sd) - 0.5 * _LOG_2PI - math.log(math.pi) - torch.log(r)
        return torch.where(q[:, 0] > 0, log_p, torch.full_like(log_p, -math.inf))

    def log_posterior(self, theta: Tensor, x: Tensor) -> Tensor:
        r"""Unnormalised :math:`\log p(x\mid\theta) + \log p(\theta)` (``-inf`` outside the prior's box)."""
        lo, hi = self.prior_bounds
        th = _rows(theta, 2, "theta", "TwoMoonsSimulator.log_posterior")
        inside = ((th >= lo) & (th <= hi)).all(dim=1)
        log_prior = torch.where(inside, torch.full((th.shape[0],), -math.log((hi - lo) ** 2), dtype=torch.float64),
                                torch.full((th.shape[0],), -math.inf, dtype=torch.float64))
        return self.log_likelihood(th, x) + log_prior

    def rejection_sample(self, x: Tensor, n: int, seed: int = 0, batch: int = 200_000) -> Tensor:
        r"""``n`` exact posterior draws for one observation ``x`` ``(1, 2)``, by rejection from the prior.

        A prior draw is accepted with probability :math:`p(x\mid\theta)/M`, where
        :math:`M = \max_r \mathcal N(r; r_0, s^2)/(\pi r) \ge p(x\mid\theta)` for every :math:`\theta`
        (the bound is found on a fine grid of radii and raised by 1 %).
        """
        where = "TwoMoonsSimulator.rejection_sample"
        xs = _rows(x, 2, "x", where)
        if xs.shape[0] != 1:
            raise ValueError(f"{where}: x must be one observation of shape (1, 2), got {tuple(xs.shape)}")
        n = positive_int(n, "n", where)
        radii = torch.linspace(1e-4, self.radius_mean + 10 * self.radius_sd, 200_001, dtype=torch.float64)
        log_m = float((-0.5 * ((radii - self.radius_mean) / self.radius_sd) ** 2 - torch.log(radii)).max())
        log_m += -math.log(self.radius_sd) - 0.5 * _LOG_2PI - math.log(math.pi) + math.log(1.01)
        g, out, have = _generator(seed), [], 0
        while have < n:
            th = 2.0 * torch.rand(batch, 2, generator=g, dtype=torch.float64) - 1.0
            keep = torch.rand(batch, generator=g, dtype=torch.float64).log() < self.log_likelihood(th, xs) - log_m
            out.append(th[keep])
            have += int(keep.sum())
        return torch.cat(out)[:n].float()


def posterior_flow(theta_dim: int, x_dim: int, n_layers: int = 6, hidden: Sequence[int] = (64, 64), *,
                   seed: int | None = None, scale_bound: float | None = 5.0, direction: str = "generative") -> Flow:
    r"""A conditional coupling flow :math:`q(\theta\mid x)` for vectors: the amortised posterior.

    ``n_layers`` :class:`~flowkit.AffineCoupling` s whose MLP conditioners read
    :math:`[\theta_a, x]` (``context_features=x_dim``), a :class:`~flowkit.Reverse` between
    consecutive ones, and a :class:`~flowkit.ConditionalDiagNormal` base whose mean and
    log-scale come from :math:`x` through a one-hidden-layer MLP:
    :math:`\log q(\theta\mid x) = \log\mathcal N(z;\mu(x),\sigma(x)^2) + \log|\det\partial z/\partial\theta|`
    (Papamakarios & Murray, 2016). Zero-initialised, it starts as :math:`\mathcal N(0, I)` for every
    :math:`x`. ``seed`` seeds the initialisation without touching the global RNG (``None``: the
    global RNG as it is). ``python -m flowkit.train posterior`` trains it on a simulator.
    ``scale_bound`` and ``direction`` (:class:`~flowkit.AffineCoupling`) default to the
    parametrisation the shipped ``checkpoints/two_moons_posterior.pt`` was trained with.

    Example:
        >>> import torch
        >>> q = posterior_flow(theta_dim=2, x_dim=2, n_layers=2, hidden=(8,), seed=0)
        >>> round(float(q.log_prob(torch.zeros(1, 2), torch.ones(1, 2)).detach()), 4)   # log N(0; 0, I) = −log 2π
        -1.8379
    """
    from ..distributions import ConditionalDiagNormal
    from ..flow import Flow
    from ..nets import MLP
    from ..rng import seeded
    from ..transforms import AffineCoupling, Compose, Reverse, Transform

    theta_dim = positive_int(theta_dim, "theta_dim", "posterior_flow", minimum=2)
    x_dim = positive_int(x_dim, "x_dim", "posterior_flow")
    n_layers = positive_int(n_layers, "n_layers", "posterior_flow")
    with seeded(seed):
        layers: list[Transform] = []
        for k in range(n_layers):
            layers.append(AffineCoupling(theta_dim, hidden=hidden, context_features=x_dim, scale_bound=scale_bound,
                                         direction=direction))
            if k < n_layers - 1:
                layers.append(Reverse(theta_dim))
        base = ConditionalDiagNormal(theta_dim, context_features=x_dim,
                                     net=MLP(x_dim, 2 * theta_dim, hidden=(max(hidden, default=64),)))
        return Flow(Compose(layers), base)
