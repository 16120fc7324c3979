"""The learner's side of a check: run one request against the learner's namespace.

:func:`handle` reads a request (JSON text, see :mod:`.wire`), resolves what it names in the
learner's namespace, calls it, and writes the result back as JSON text: numbers, strings,
tensors as nested lists, references for other objects, or the text of the error it raised.

This module runs **where the learner's code runs** — in their own kernel for immediate
feedback, or in the grader's sandboxed kernel. Nothing here decides whether an answer is
right: a learner who changes this module can only change what the check is told, which is no
more than their own functions could return anyway. The verdict is computed by the check, on
the other side, from the plain data in the reply.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
from typing import Any

import numpy as np
import torch

__all__ = ["handle", "serve", "REPLY_MIME"]

REPLY_MIME = "application/x-flowkit-reply+json"
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64,
                 "int32": torch.int32, "bool": torch.bool}
_DTYPE_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_objects: dict[int, Any] = {}
_counter = itertools.count(1)


# ------------------------------------------------------------------------------- callbacks
def _cb_constant(value: float):
    return lambda p: torch.full((p.shape[0],), float(value), dtype=p.dtype)


def _cb_gaussian(mean: list, std: list):
    def log_density(p):
        m = torch.tensor(mean, dtype=p.dtype)
        s = torch.tensor(std, dtype=p.dtype)
        return (-0.5 * ((p - m) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)).sum(dim=1)
    return log_density


def _cb_log_affine(coef: list, offset: float):
    return lambda p: torch.log(p @ torch.tensor(coef, dtype=p.dtype) + float(offset))


CALLBACKS = {"constant": _cb_constant, "gaussian": _cb_gaussian, "log_affine": _cb_log_affine}


# ----------------------------------------------------------------------------- request side
def _resolve(node: Any, ns: dict) -> Any:
    if isinstance(node, list):
        return [_resolve(v, ns) for v in node]
    if not isinstance(node, dict):
        return node
    if "$tensor" in node:
        return torch.tensor(node["$tensor"], dtype=_TORCH_DTYPES[node["dtype"]]).reshape(node["shape"])
    if "$ref" in node:
        if node["$ref"] not in _objects:
            raise LookupError(f"object #{node['$ref']} is gone (the kernel was restarted?)")
        return _objects[node["$ref"]]
    if "$name" in node:
        if node["$name"] not in ns:
            raise NameError(f"name '{node['$name']}' is not defined")
        return ns[node["$name"]]
    if "$lib" in node:
        module, _, attr = node["$lib"].partition(":")
        obj = importlib.import_module(module)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj
    if "$fn" in node:
        params = {k: _resolve(v, ns) for k, v in node.items() if k != "$fn"}
        return CALLBACKS[node["$fn"]](**params)
    if "$tuple" in node:
        return tuple(_resolve(v, ns) for v in node["$tuple"])
    if "$dict" in node:
        return {k: _resolve(v, ns) for k, v in node["$dict"].items()}
    raise ValueError(f"malformed request value with keys {sorted(node)}")


# ------------------------------------------------------------------------------- reply side
def _encode(value: Any, depth: int = 0) -> Any:
    if depth > 10:
        raise ValueError("the value is nested too deeply to be checked")
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return float.__float__(value)          # the stored value, whatever a subclass says
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        name = _DTYPE_NAMES.get(t.dtype)
        if name is None:
            name, t = ("float64", t.double()) if t.is_floating_point() else ("int64", t.long())
        return {"$tensor": t.tolist(), "dtype": name, "shape": list(t.shape), "grad": bool(value.requires_grad)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return _encode(torch.from_numpy(np.ascontiguousarray(value)), depth)
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: _encode(v, depth + 1) for k, v in value.items()}}
    ref = next(_counter)
    _objects[ref] = value
    return {"$ref": ref, "type": type(value).__name__}


def _error(e: BaseException) -> dict:
    try:
        message = str(e)
    except Exception:  # noqa: BLE001 - a learner's exception whose __str__ fails
        message = "(no message)"
    return {"error": {"type": type(e).__name__, "message": message[:2000]}}


def _run(request: dict, ns: dict) -> Any:
    op = request["op"]
    if op == "forget":
        _objects.clear()
        return None
    if op == "has":
        return request["name"] in ns
    target = _resolve(request.get("obj", request.get("fn")), ns)
    if op == "get":
        attr = request.get("attr")
        return target if attr is None else getattr(target, attr)
    if op == "param_count":
        return int(sum(p.numel() for p in target.parameters()))
    args = _resolve(request.get("args", []), ns)
    kwargs = _resolve(request.get("kwargs", {"$dict": {}}), ns)
    if op == "call":
        return target(*args, **kwargs)
    if op == "method":
        return getattr(target, request["name"])(*args, **kwargs)
    raise ValueError(f"unknown operation {op!r}")


def handle(ns: dict, request_text: str) -> str:
    r"""Run one request (JSON text) against the namespace ``ns``; the reply as JSON text.

    The reply is ``{"ok": value}`` (see :mod:`.wire` for the encoding) or ``{"error": {"type":
    …, "message": …}}`` when the learner's code raised; :class:`~.student.Student` writes the
    requests and reads the replies, so a check never calls this directly.

    Example:
        >>> ns = {"scale": 2.0, "double": lambda x: 2 * x}
        >>> handle(ns, '{"op": "call", "fn": {"$name": "double"}, "args": [1.5]}')
        '{"ok":3.0}'
        >>> handle(ns, '{"op": "call", "fn": {"$name": "double"}, "args": [{"$tensor": [1.0], "dtype": "float32", "shape": [1]}]}')
        '{"ok":{"$tensor":[2.0],"dtype":"float32","shape":[1],"grad":false}}'
        >>> handle(ns, '{"op": "get", "obj": {"$name": "shift"}}')
        '{"error":{"type":"NameError","message":"name \'shift\' is not defined"}}'
    """
    request = json.loads(request_text)
    try:
        reply = {"ok": _encode(_run(request, ns))}
    except Exception as e:  # noqa: BLE001 - the learner's code raised: report it as data
        reply = _error(e)
    try:
        return json.dumps(reply, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        return json.dumps(_error(e))


def serve(ns: dict, request_text: str, nonce: str) -> None:
    """Kernel transport: handle the request and publish the reply as display data.

    The grader runs ``serve(globals(), request, nonce)`` in the learner's sandboxed kernel; the
    reply comes back as display data of type :data:`REPLY_MIME`, tagged with ``nonce`` so the
    grader can match it to its request (``exercises/grader/channel.py``).

    Example:
        >>> from unittest import mock
        >>> with mock.patch("IPython.display.publish_display_data") as publish:
        ...     serve({"n": 3}, '{"op": "has", "name": "n"}', nonce="c0ffee")
        >>> publish.call_args
        call({'application/x-flowkit-reply+json': '{"ok":true}'}, metadata={'application/x-flowkit-reply+json': {'nonce': 'c0ffee'}})
    """
    from IPython.display import publish_display_data

    publish_display_data({REPLY_MIME: handle(ns, request_text)}, metadata={REPLY_MIME: {"nonce": nonce}})
