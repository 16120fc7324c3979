"""Building blocks shared by the exercise checks (all through the :class:`Student` protocol)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .student import Student, StudentError
from .verdict import CheckFailed, as_array, as_pair, as_remote
from .wire import Lib, Remote, Tensor

__all__ = ["require_defined", "tensor", "state_of", "load_state", "build_transform", "run_pair", "learner_float64"]


def require_defined(student: Student, *names: str) -> None:
    for name in names:
        if not student.has(name):
            raise CheckFailed(f"`{name}` is not defined: run the exercise cell first (and keep its name)")


def tensor(values: Any, dtype: str = "float64") -> Tensor:
    return Tensor(np.asarray(values, dtype=np.float64 if dtype.startswith("float") else None), dtype)


def state_of(module: torch.nn.Module) -> dict[str, Tensor]:
    """A local module's parameters and buffers, ready to send (float64 or float32 kept)."""
    out = {}
    for k, v in module.state_dict().items():
        name = "float64" if v.dtype == torch.float64 else "float32" if v.dtype == torch.float32 else "int64"
        out[k] = Tensor(v.detach().cpu().numpy(), name)
    return out


def load_state(student: Student, obj: Remote, state: dict[str, Tensor], what: str) -> None:
    """``obj.load_state_dict(state)`` on the learner's side; a clear message when names differ."""
    try:
        student.call_method(obj, "load_state_dict", state)
    except StudentError as e:
        names = ", ".join(sorted(state))
        raise CheckFailed(f"{what} should keep the parameters it was given ({names}): {e.message}") from None


def build_transform(student: Student, spec: tuple, local: torch.nn.Module) -> Remote:
    """Build the flowkit transform ``spec`` on the learner's side, with ``local``'s parameters.

    ``spec`` is ``(class name, args, kwargs)`` of a public flowkit class, or ``("Compose",
    [spec, ...])``; ``local`` is the same transform built by the check.
    """
    def build(s: tuple) -> Remote:
        if s[0] == "Compose":
            return student.call(Lib("flowkit:Compose"), [build(p) for p in s[1]])
        name, args, kwargs = s
        return student.call(Lib(f"flowkit:{name}"), *args, **kwargs)

    remote = as_remote(build(spec), "the flowkit transform built for the check")
    remote = as_remote(student.call_method(remote, "double"), "transform.double()") \
        if next(local.parameters()).dtype == torch.float64 else remote
    load_state(student, remote, state_of(local), "the transform")
    return remote


def run_pair(student: Student, obj: Any, method: str, x: np.ndarray | Tensor, what: str,
             out_shape: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``obj.method(x)`` -> validated ``(output, logabsdet)`` arrays (log-det of shape (batch,))."""
    arg = x if isinstance(x, Tensor) else tensor(x)
    out, ld = as_pair(student.call_method(obj, method, arg), what)
    shape = tuple(out_shape) if out_shape is not None else arg.shape
    out = as_array(out, f"the output of {what}", shape)
    ld = as_array(ld, f"the log-det of {what}", None)
    if ld.shape != (shape[0],):
        raise CheckFailed(f"the log-det of {what} has shape {ld.shape}, expected ({shape[0]},): one value per "
                          "row of the batch (e.g. `.expand(batch)` or `.sum(dim=1)`)")
    return out, ld


def learner_float64(student: Student, obj: Remote, what: str) -> Remote:
    """``obj.double()`` on the learner's side (a module moved to float64 for exact comparisons)."""
    try:
        return as_remote(student.call_method(obj, "double"), f"{what}.double()")
    except StudentError as e:
        raise CheckFailed(f"{what} should be a torch module (an fk.Transform): .double() failed: {e.message}") from None
