"""Building blocks shared by the exercise checks (all through the :class:`Student` protocol).

The examples use :class:`~.student.DirectStudent` on a plain dictionary: it stands for the
learner's notebook namespace, exactly as in the check cell of a notebook.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .student import Student, StudentError
from .verdict import CheckFailed, as_array, as_pair, as_remote
from .wire import Lib, Remote, Tensor

__all__ = ["require_defined", "tensor", "state_of", "load_state", "build_transform", "run_pair", "learner_float64"]


def require_defined(student: Student, *names: str) -> None:
    """Fail with a clear message unless every name in ``names`` is defined on the learner's side.

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> student = DirectStudent({"ScaleShift": object})
        >>> require_defined(student, "ScaleShift")
        >>> require_defined(student, "ScaleShift", "log_prob")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: `log_prob` is not defined: run the exercise cell first (and keep its name)
    """
    for name in names:
        if not student.has(name):
            raise CheckFailed(f"`{name}` is not defined: run the exercise cell first (and keep its name)")


def tensor(values: Any, dtype: str = "float64") -> Tensor:
    """A :class:`~.wire.Tensor` to send (floating dtypes are held as float64 on this side).

    Example:
        >>> z = tensor([[0.0, 1.0], [2.0, 3.0]], "float32")
        >>> z.dtype, z.shape, z.values.dtype
        ('float32', (2, 2), dtype('float64'))
    """
    return Tensor(np.asarray(values, dtype=np.float64 if dtype.startswith("float") else None), dtype)


def state_of(module: torch.nn.Module) -> dict[str, Tensor]:
    """A local module's parameters and buffers, ready to send (float64 or float32 kept).

    Example:
        >>> import flowkit as fk
        >>> state = state_of(fk.Affine(2, shift=1.0))
        >>> sorted(state), state["shift"].dtype, state["shift"].values
        (['log_scale', 'shift'], 'float32', array([1., 1.], dtype=float32))
    """
    out = {}
    for k, v in module.state_dict().items():
        name = "float64" if v.dtype == torch.float64 else "float32" if v.dtype == torch.float32 else "int64"
        out[k] = Tensor(v.detach().cpu().numpy(), name)
    return out


def load_state(student: Student, obj: Remote, state: dict[str, Tensor], what: str) -> None:
    """``obj.load_state_dict(state)`` on the learner's side; a clear message when names differ.

    Example:
        >>> import flowkit as fk
        >>> from flowkit.course.checks.student import DirectStudent
        >>> student = DirectStudent({"layer": fk.Affine(2)})
        >>> layer = student.get("layer")
        >>> load_state(student, layer, state_of(fk.Affine(2, shift=1.0)), "your layer")
        >>> student.get(layer, "shift").values
        array([1., 1.])
        >>> load_state(student, layer, {"bias": tensor([0.0, 0.0])}, "your layer")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: your layer should keep the parameters it was given (bias): Error(s) in loading state_dict for Affine:...
    """
    try:
        student.call_method(obj, "load_state_dict", state)
    except StudentError as e:
        names = ", ".join(sorted(state))
        raise CheckFailed(f"{what} should keep the parameters it was given ({names}): {e.message}") from None


def build_transform(student: Student, spec: tuple, local: torch.nn.Module) -> Remote:
    """Build the flowkit transform ``spec`` on the learner's side, with ``local``'s parameters.

    ``spec`` is ``(class name, args, kwargs)`` of a public flowkit class, or ``("Compose",
    [spec, ...])``; ``local`` is the same transform built by the check.

    Example:
        >>> import numpy as np, flowkit as fk
        >>> from flowkit.course.checks.student import DirectStudent
        >>> student = DirectStudent({})
        >>> local = fk.Affine(2, log_scale=0.5).double()           # x = e^0.5 · z
        >>> remote = build_transform(student, ("Affine", [2], {}), local)
        >>> x, ld = run_pair(student, remote, "forward", [[1.0, 2.0]], "Affine.forward")
        >>> np.round(x, 4), ld                                     # log|det| = 2 · 0.5
        (array([[1.6487, 3.2974]]), array([1.]))
        >>> build_transform(student, ("Reverse", [2], {}), local)  # spec and local must match
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: the transform should keep the parameters it was given (log_scale, shift): ...
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
    """``obj.method(x)`` -> validated ``(output, logabsdet)`` arrays (log-det of shape (batch,)).

    ``out_shape`` is the expected output shape (default: the input's, for shape-keeping maps).

    Example:
        >>> import math, torch
        >>> from flowkit.course.checks.student import DirectStudent
        >>> class Double(torch.nn.Module):          # a learner's x = 2z that forgot to sum the log-det
        ...     def forward(self, z):
        ...         return 2 * z, torch.full_like(z, math.log(2))
        >>> student = DirectStudent({"Double": Double})
        >>> layer = student.call("Double")
        >>> run_pair(student, layer, "forward", [[1.0, 2.0]], "Double().forward(z)")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: the log-det of Double().forward(z) has shape (1, 2), expected (1,): one value per row of the batch (e.g. `.expand(batch)` or `.sum(dim=1)`)
    """
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
    """``obj.double()`` on the learner's side (a module moved to float64 for exact comparisons).

    Example:
        >>> import flowkit as fk
        >>> from flowkit.course.checks.student import DirectStudent
        >>> student = DirectStudent({"layer": fk.Affine(2), "f": lambda z: z})
        >>> layer = learner_float64(student, student.get("layer"), "your layer")
        >>> student.get(layer, "shift").dtype
        'float64'
        >>> learner_float64(student, student.get("f"), "f")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.verdict.CheckFailed: f should be a torch module (an fk.Transform): .double() failed: 'function' object has no attribute 'double'
    """
    try:
        return as_remote(student.call_method(obj, "double"), f"{what}.double()")
    except StudentError as e:
        raise CheckFailed(f"{what} should be a torch module (an fk.Transform): .double() failed: {e.message}") from None
