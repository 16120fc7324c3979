"""The record of a training run: losses, validation NLLs or KLs, timings, and a plot of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]

_SERIES = ("step", "loss", "lr", "grad_norm", "time_s", "val_step", "val_nll", "beta", "kl")


@dataclass
class History:
    """What a training run recorded, one entry per optimisation step (and per evaluation).

    Attributes:
        objective: ``"nll"`` (from :func:`fit`) or ``"reverse_kl"`` (from :func:`fit_reverse_kl`).
        step: step numbers ``1, 2, …``.
        loss: training loss at each step (nats; for ``"nll"`` the mini-batch mean −log p(x),
            for ``"reverse_kl"`` the Monte-Carlo estimate of E_q[log q − log p̃] at β = 1,
            i.e. the reverse KL up to the unknown log Z).
        lr: learning rate used at each step.
        grad_norm: total gradient norm at each step, *before* clipping.
        time_s: wall-clock seconds since the start of the run, at each step.
        val_step, val_nll: steps at which the validation set was evaluated (0 = before
            training) and its mean −log p(x) there (``fit`` with ``val_data`` only).
        beta: inverse temperature β_t used at each step (``fit_reverse_kl`` only).
        kl: the true reverse KL, loss + log Z, at each step (``fit_reverse_kl`` with
            ``log_normalizer`` only).
        log_normalizer: the log Z given to ``fit_reverse_kl``, if any.
        seed: the seed of the run.
        extra: any other per-step series a custom loss records (name -> values).

    Example:
        >>> h = History(step=[1, 2], loss=[1.5, 1.25])
        >>> len(h), h.final_loss
        (2, 1.25)
    """

    objective: str = "nll"
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_nll: list[float] = field(default_factory=list)
    beta: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    log_normalizer: float | None = None
    seed: int | None = None
    extra: dict[str, list[float]] = field(default_factory=dict)

    def record(self, key: str, value: float) -> None:
        """Append ``value`` to the per-step series ``key`` (a field such as ``beta``, else ``extra[key]``).

        Example:
            >>> h = History()
            >>> h.record("beta", 0.5); h.record("accuracy", 0.9)
            >>> h.beta, h.extra
            ([0.5], {'accuracy': [0.9]})
        """
        series = getattr(self, key, None) if key in _SERIES else None
        if series is None:
            series = self.extra.setdefault(key, [])
        series.append(value)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def final_loss(self) -> float | None:
        """The training loss of the last step (``None`` before any step)."""
        return self.loss[-1] if self.loss else None

    @property
    def final_val_nll(self) -> float | None:
        """Validation NLL at the end of training (``None`` without validation data)."""
        return self.val_nll[-1] if self.val_nll else None

    @property
    def best_val_nll(self) -> float | None:
        """Lowest validation NLL seen during training (``None`` without validation data)."""
        return min(self.val_nll) if self.val_nll else None

    @property
    def best_val_step(self) -> int | None:
        """Step at which :attr:`best_val_nll` was reached."""
        if not self.val_nll:
            return None
        return self.val_step[min(range(len(self.val_nll)), key=self.val_nll.__getitem__)]

    @property
    def final_kl(self) -> float | None:
        """True reverse KL at the last step (``fit_reverse_kl`` with ``log_normalizer`` only)."""
        return self.kl[-1] if self.kl else None

    def plot(self, ax: Any = None, *, smooth: int | None = None, title: str | None = None) -> Any:
        """Draw the training curve(s) on ``ax`` (a new figure if ``None``) and return the Axes.

        The per-step loss is drawn faintly with a moving average on top (window
        ``smooth``, default ≈ 2 % of the run); validation NLL and the true KL, when
        recorded, are drawn as their own labelled curves.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.8))
        kl_mode = self.objective == "reverse_kl"
        train_label = "train −ELBO (KL − log Z)" if kl_mode else "train NLL"
        if self.loss:
            ax.plot(self.step, self.loss, color="C0", alpha=0.3, lw=0.8, label=f"{train_label}, per step")
            w = smooth if smooth is not None else max(1, len(self.loss) // 50)
            if w > 1 and len(self.loss) >= w:
                ma = _moving_average(self.loss, w)
                ax.plot(self.step[w - 1:], ma, color="C0", lw=1.8, label=f"{train_label}, mean of {w}")
        if self.val_nll:
            ax.plot(self.val_step, self.val_nll, "o-", color="C1", ms=3.5, lw=1.5, label="validation NLL")
        if self.kl:
            ax.plot(self.step, self.kl, color="C2", alpha=0.9, lw=1.0, label="true KL(q‖p)")
        ax.set_xlabel("step")
        if kl_mode:
            ax.set_ylabel("reverse KL (nats, up to log Z)" if not self.kl else "reverse KL (nats)")
        else:
            ax.set_ylabel("negative log-likelihood (nats)")
        ax.set_title(title or ("reverse-KL training" if kl_mode else "maximum-likelihood training"))
        if self.loss and len(self.loss) > 20:
            # Ignore the first few steps when choosing the y range: they can be huge.
            vals = self.loss[len(self.loss) // 20:] + self.val_nll[len(self.val_nll) // 20:] + self.kl[len(self.kl) // 20:]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                lo, hi = min(vals), max(vals)
                pad = 0.1 * (hi - lo) + 1e-3
                ax.set_ylim(lo - pad, hi + pad)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        return ax

    def __repr__(self) -> str:
        parts = [f"objective={self.objective!r}", f"steps={len(self.step)}"]
        if self.loss:
            parts.append(f"final_loss={self.loss[-1]:.4f}")
        if self.val_nll:
            parts.append(f"final_val_nll={self.val_nll[-1]:.4f}")
            parts.append(f"best_val_nll={min(self.val_nll):.4f}")
        if self.kl:
            parts.append(f"final_kl={self.kl[-1]:.4f}")
        if self.time_s:
            parts.append(f"time_s={self.time_s[-1]:.1f}")
        return f"History({', '.join(parts)})"


def _moving_average(values: list[float], w: int) -> list[float]:
    out, s = [], 0.0
    for i, v in enumerate(values):
        s += v
        if i >= w:
            s -= values[i - w]
        if i >= w - 1:
            out.append(s / w)
    return out
