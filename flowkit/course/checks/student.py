"""How a check talks to the learner's code: the :class:`Student` protocol and its direct transport.

A check function receives a :class:`Student` and uses only these calls::

    student.has("ScaleShift")                       # is the name defined?
    layer = student.call("ScaleShift", 3)           # call a function or class -> value or Remote
    x, ld = student.call_method(layer, "forward", Tensor(z))
    student.get(layer, "log_scale")                 # an attribute (a Tensor here)
    student.get("flow")                             # a global
    T = student.call(Lib("flowkit:Planar"), 3)      # a library object, built on the learner's side
    student.param_count(T)

Arguments and results cross as JSON (:mod:`.wire`): what comes back is plain data —
``float``/``int``/``bool``/``str``/``None``, lists, tuples, dicts, :class:`~.wire.Tensor` (NumPy
values) or :class:`~.wire.Remote` (an object that stays with the learner). An exception raised by
the learner's code arrives as :class:`StudentError`.

Two transports implement :meth:`Student._transport`: :class:`DirectStudent` (here: the
learner's own namespace, for the check cell in their notebook) and the grader's channel to a
sandboxed kernel (``exercises/grader/channel.py``). Both pass the same JSON texts, so a check
computes the same verdict from the same answers in both.
"""

from __future__ import annotations

import json
from typing import Any

from . import agent
from .wire import ChannelError, Lib, Name, Remote, WireLimits, decode, encode, read_json

__all__ = ["Student", "DirectStudent", "StudentError", "parse_reply"]


class StudentError(Exception):
    """The learner's code raised ``type``: ``message`` while the check called ``what``.

    Example:
        >>> def log_prob(x):                             # a learner's unfinished function
        ...     raise NotImplementedError("your code here")
        >>> try:
        ...     DirectStudent({"log_prob": log_prob}).call("log_prob", 0.0)
        ... except StudentError as e:
        ...     print(e); print(e.type_name, "|", e.message)
        log_prob(…) raised NotImplementedError: your code here
        NotImplementedError | your code here
    """

    def __init__(self, what: str, type_name: str, message: str) -> None:
        super().__init__(f"{what} raised {type_name}: {message}")
        self.what, self.type_name, self.message = what, type_name, message


def parse_reply(text: Any, limits: WireLimits) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", (type, message))`` from a reply text, validated.

    Example:
        >>> parse_reply('{"ok": {"$tuple": [1.5, null]}}', WireLimits())
        ('ok', (1.5, None))
        >>> parse_reply('{"error": {"type": "ValueError", "message": "bad shape"}}', WireLimits())
        ('error', ('ValueError', 'bad shape'))
        >>> parse_reply('{"ok": 1, "verdict": "passed"}', WireLimits())
        Traceback (most recent call last):
            ...
        flowkit.course.checks.wire.ChannelError: the reply is not of the form {'ok': ...} or {'error': ...}
    """
    envelope = read_json(text, limits)
    if isinstance(envelope, dict) and set(envelope) == {"ok"}:
        return "ok", decode(envelope["ok"], limits)
    if isinstance(envelope, dict) and set(envelope) == {"error"} and isinstance(envelope["error"], dict):
        err = envelope["error"]
        kind, message = err.get("type"), err.get("message")
        if isinstance(kind, str) and isinstance(message, str):
            return "error", (kind[:100], message[: limits.max_str])
    raise ChannelError("the reply is not of the form {'ok': ...} or {'error': ...}")


def _target(obj: Any) -> Any:
    if isinstance(obj, str):
        return Name(obj)
    if isinstance(obj, (Name, Lib, Remote)):
        return obj
    raise TypeError(f"cannot call a {type(obj).__name__}: give a name, a Lib or a Remote")


def _label(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Name):
        return obj.name
    if isinstance(obj, Lib):
        return obj.path.replace(":", ".")
    if isinstance(obj, Remote):
        return f"your {obj.type}"
    return repr(obj)


class Student:
    """The learner's code, seen through requests that return plain data (see the module doc).

    A transport subclass implements ``_transport(request_text) -> reply_text``; everything else
    (encoding, strict decoding, turning the learner's exceptions into :class:`StudentError`)
    is here, so every transport gives a check the same values.

    Example:
        >>> import torch, flowkit as fk
        >>> from flowkit.course.checks.wire import Tensor
        >>> student = DirectStudent({"flow": fk.Flow(fk.Affine(2), fk.StandardNormal(2))})
        >>> student.has("flow"), student.has("model")
        (True, False)
        >>> student.param_count("flow")                  # the Affine's log_scale and shift
        4
        >>> logp = student.call_method("flow", "log_prob", Tensor(torch.zeros(1, 2).numpy(), "float32"))
        >>> logp.dtype, round(float(logp.values[0]), 4)  # log N(0; 0, I) = −log 2π
        ('float32', -1.8379)
    """

    limits = WireLimits()

    def _transport(self, request_text: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _request(self, what: str, op: str, **fields: Any) -> Any:
        text = json.dumps({"op": op, **{k: encode(v) for k, v in fields.items()}}, allow_nan=True)
        status, value = parse_reply(self._transport(text), self.limits)
        if status == "error":
            raise StudentError(what, *value)
        return value

    def has(self, name: str) -> bool:
        return self._request(name, "has", name=name) is True

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self._request(f"{_label(fn)}(…)", "call", fn=_target(fn), args=list(args), kwargs=kwargs)

    def call_method(self, obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._request(f"{_label(obj)}.{name}(…)", "method", obj=_target(obj), name=name,
                             args=list(args), kwargs=kwargs)

    def get(self, obj: Any, attr: str | None = None) -> Any:
        what = _label(obj) + (f".{attr}" if attr else "")
        return self._request(what, "get", obj=_target(obj), attr=attr)

    def param_count(self, obj: Any) -> int:
        n = self._request(f"{_label(obj)}.parameters()", "param_count", obj=_target(obj))
        if type(n) is not int:
            raise ChannelError("parameter count is not an int")
        return n

    def forget(self) -> None:
        """Drop the references the learner's side keeps for this check."""
        self._request("forget", "forget")


class DirectStudent(Student):
    """The learner's own namespace (their notebook's ``globals()``), for immediate feedback.

    Example:
        >>> import math, torch
        >>> from flowkit.course.checks.wire import Tensor
        >>> class ScaleShift(torch.nn.Module):           # what a learner wrote in their notebook
        ...     def __init__(self, dim):
        ...         super().__init__()
        ...         self.log_scale = torch.nn.Parameter(torch.full((dim,), math.log(2.0)))
        ...     def forward(self, z):
        ...         return z * self.log_scale.exp(), self.log_scale.sum().expand(z.shape[0])
        >>> student = DirectStudent({"ScaleShift": ScaleShift})
        >>> layer = student.call("ScaleShift", 3)
        >>> layer.type
        'ScaleShift'
        >>> x, ld = student.call_method(layer, "forward", Tensor([[1.0, 2.0, 3.0]]))
        >>> x.values.tolist(), x.grad, round(float(ld.values[0]), 4)    # log|det| = 3·log 2
        ([[2.0, 4.0, 6.0]], True, 2.0794)
    """

    def __init__(self, namespace: dict) -> None:
        if not isinstance(namespace, dict):
            raise TypeError(f"namespace must be a dict such as globals(), got {type(namespace).__name__}")
        self.namespace = namespace

    def _transport(self, request_text: str) -> str:
        return agent.handle(self.namespace, request_text)
