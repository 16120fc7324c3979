"""The data that crosses between an exercise check and the learner's code: plain JSON only.

A check never touches the learner's objects. It sends a request (a JSON text) naming what to
call and with which arguments, and gets back a JSON text that holds only numbers, strings,
lists, dictionaries, tensors written out as nested lists, references to objects that stay on
the learner's side, or the text of an error. :func:`decode` reads such a reply **strictly**:
size, nesting depth and element counts are capped, every tensor's nested lists must match its
declared shape, and nothing but plain Python values and the small classes below comes out.

The same encoding is used in both transports (the learner's own kernel and the grader's
channel to a sandboxed kernel), so a check sees exactly the same values in both.

Markers (a JSON object whose only key or first key starts with ``$``)::

    {"$tensor": [[...]], "dtype": "float64", "shape": [n, d], "grad": false}
    {"$ref": 3, "type": "PlanarFlow"}         an object that stays with the learner
    {"$name": "flow"}                          a name in the learner's namespace (requests only)
    {"$lib": "flowkit:Planar"}                 an attribute of an importable module (requests only)
    {"$fn": "gaussian", "mean": [...], ...}    a callback from a fixed menu (requests only)
    {"$tuple": [...]}                          a tuple
    {"$dict": {"key": value}}                  a dictionary (keys are strings)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Tensor", "Remote", "Name", "Lib", "Fn", "ChannelError", "WireLimits", "encode", "decode", "dumps", "loads"]

DTYPES = ("float32", "float64", "int64", "int32", "bool")


class ChannelError(Exception):
    """The reply could not be used: malformed, too large, too deep, or it never came.

    Example:
        >>> loads('{"$tensor": [1.0, 2.0, 3.0], "dtype": "float64", "shape": [2]}')
        Traceback (most recent call last):
            ...
        flowkit.course.checks.wire.ChannelError: tensor values do not match its shape (2,)
    """


@dataclass(frozen=True)
class WireLimits:
    """Caps on one reply, checked by :func:`loads` / :func:`decode` before anything is built.

    Example:
        >>> loads("[[[1]]]", WireLimits(max_depth=2))
        Traceback (most recent call last):
            ...
        flowkit.course.checks.wire.ChannelError: the reply is nested deeper than 2 levels
        >>> loads('"' + "x" * 10 + '"', WireLimits(max_str=4))
        'xxxx…'
    """

    max_bytes: int = 64 << 20        # one reply
    max_depth: int = 12              # nesting of lists / dicts / markers
    max_items: int = 4_000_000       # numbers and strings in one reply
    max_str: int = 4000              # characters of one string (longer ones are cut)


@dataclass
class Tensor:
    """A tensor's values (as a float64/int64/bool NumPy array), its dtype name and grad flag.

    ``dtype`` is the torch dtype on the learner's side; the values are held in NumPy here.

    Example:
        >>> import numpy as np
        >>> t = Tensor(np.zeros((4, 2)), "float32")
        >>> t.shape, t.dtype, t.grad
        ((4, 2), 'float32', False)
        >>> Tensor(np.zeros(2), "float16")
        Traceback (most recent call last):
            ...
        ValueError: unsupported dtype 'float16'; one of ('float32', 'float64', 'int64', 'int32', 'bool')
    """

    values: np.ndarray
    dtype: str = "float64"
    grad: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"unsupported dtype {self.dtype!r}; one of {DTYPES}")
        self.values = np.asarray(self.values)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)


@dataclass(frozen=True)
class Remote:
    """An object that lives in the learner's process, known by its reference number.

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> layer = DirectStudent({}).call(Lib("flowkit:Planar"), 2)
        >>> type(layer).__name__, layer.type
        ('Remote', 'Planar')
        >>> encode(Remote(3, "Planar"))
        {'$ref': 3, 'type': 'Planar'}
    """

    ref: int
    type: str = "object"


@dataclass(frozen=True)
class Name:
    """A name in the learner's namespace, e.g. ``Name("flow")``.

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> DirectStudent({"n_layers": 4}).get(Name("n_layers"))
        4
        >>> encode(Name("flow"))
        {'$name': 'flow'}
    """

    name: str


@dataclass(frozen=True)
class Lib:
    """``module:attribute`` resolved in the learner's process, e.g. ``Lib("flowkit:Planar")``.

    Example:
        >>> from flowkit.course.checks.student import DirectStudent
        >>> DirectStudent({}).call(Lib("math:hypot"), 3.0, 4.0)
        5.0
        >>> encode(Lib("flowkit:Planar"))
        {'$lib': 'flowkit:Planar'}
    """

    path: str


@dataclass(frozen=True)
class Fn:
    """A callback from the agent's fixed menu (see ``agent.CALLBACKS``), with its parameters.

    Use it to hand the learner's code a function, e.g. a log-density to integrate; ``gaussian``
    is ``log N(x; mean, diag(std²)) = Σ_i −½((x_i − μ_i)/σ_i)² − log σ_i − ½ log 2π``.

    Example:
        >>> import flowkit as fk
        >>> from flowkit.course.checks.student import DirectStudent
        >>> gaussian = Fn("gaussian", {"mean": [1.0, -1.0], "std": [0.5, 2.0]})
        >>> encode(gaussian)
        {'$fn': 'gaussian', 'mean': [1.0, -1.0], 'std': [0.5, 2.0]}
        >>> student = DirectStudent({"integrate": fk.grid.integrate_on_grid})
        >>> round(student.call("integrate", gaussian, 12.0, 400), 4)
        1.0
    """

    kind: str
    params: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------- encoding
def encode(value: Any) -> Any:
    """A JSON-ready form of ``value`` (used for requests, and by the agent for replies).

    Example:
        >>> import numpy as np
        >>> encode((1, np.float32(0.5), {"mask": np.array([True, False])}))
        {'$tuple': [1, 0.5, {'$dict': {'mask': {'$tensor': [True, False], 'dtype': 'bool', 'shape': [2], 'grad': False}}}]}
        >>> encode({1: 2})
        Traceback (most recent call last):
            ...
        TypeError: only dictionaries with string keys can be sent
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, Tensor):
        return {"$tensor": value.values.tolist(), "dtype": value.dtype, "shape": list(value.shape),
                "grad": bool(value.grad)}
    if isinstance(value, np.ndarray):
        dtype = "bool" if value.dtype == bool else "int64" if value.dtype.kind in "iu" else "float64"
        return encode(Tensor(value, dtype))
    if isinstance(value, Remote):
        return {"$ref": int(value.ref), "type": value.type}
    if isinstance(value, Name):
        return {"$name": value.name}
    if isinstance(value, Lib):
        return {"$lib": value.path}
    if isinstance(value, Fn):
        return {"$fn": value.kind, **{k: encode(v) for k, v in value.params.items()}}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dictionaries with string keys can be sent")
        return {"$dict": {k: encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot send a {type(value).__name__} to the learner's code")


def dumps(value: Any) -> str:
    """:func:`encode` as compact JSON text (``NaN``/``Infinity`` allowed); :func:`loads` reads it back.

    Example:
        >>> import numpy as np
        >>> z = Tensor(np.array([[0.1, -2.5], [np.pi, 1e-300]]))
        >>> dumps(z)
        '{"$tensor":[[0.1,-2.5],[3.141592653589793,1e-300]],"dtype":"float64","shape":[2,2],"grad":false}'
        >>> back = loads(dumps(z))
        >>> np.array_equal(back.values, z.values), back.dtype, back.shape   # float64 round-trips exactly
        (True, 'float64', (2, 2))
    """
    return json.dumps(encode(value), allow_nan=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------- decoding
class _Budget:
    def __init__(self, limits: WireLimits) -> None:
        self.limits, self.items = limits, 0

    def take(self, n: int = 1) -> None:
        self.items += n
        if self.items > self.limits.max_items:
            raise ChannelError(f"the reply holds more than {self.limits.max_items} values")


def _number(x: Any, where: str) -> float | int | bool:
    if isinstance(x, bool) or (isinstance(x, (int, float)) and type(x) in (int, float, bool)):
        return x
    raise ChannelError(f"{where}: expected a number, got {type(x).__name__}")


def _tensor(obj: dict, budget: _Budget) -> Tensor:
    dtype, shape, data = obj.get("dtype"), obj.get("shape"), obj.get("$tensor")
    if dtype not in DTYPES:
        raise ChannelError(f"tensor with unknown dtype {dtype!r}")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(type(s) is int and 0 <= s <= budget.limits.max_items for s in shape)):
        raise ChannelError(f"tensor with a bad shape {str(shape)[:80]}")
    size = math.prod(shape)
    budget.take(size)

    def walk(node: Any, depth: int) -> list | float | int | bool:
        if depth == len(shape):
            return _number(node, "tensor entry")
        if not isinstance(node, list) or len(node) != shape[depth]:
            raise ChannelError(f"tensor values do not match its shape {tuple(shape)}")
        return [walk(n, depth + 1) for n in node]

    nested = walk(data, 0)
    np_dtype = {"bool": bool, "int64": np.int64, "int32": np.int64}.get(dtype, np.float64)
    try:
        values = np.array(nested, dtype=np_dtype).reshape(shape)
    except (OverflowError, ValueError) as e:
        raise ChannelError(f"tensor values cannot be read: {e}") from None
    return Tensor(values, dtype, bool(obj.get("grad", False)))


def _decode(node: Any, budget: _Budget, depth: int) -> Any:
    if depth > budget.limits.max_depth:
        raise ChannelError(f"the reply is nested deeper than {budget.limits.max_depth} levels")
    budget.take()
    if node is None or isinstance(node, (bool, int, float)):
        return _number(node, "value") if node is not None else None
    if isinstance(node, str):
        return node if len(node) <= budget.limits.max_str else node[: budget.limits.max_str] + "…"
    if isinstance(node, list):
        return [_decode(v, budget, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise ChannelError(f"unexpected {type(node).__name__} in the reply")
    if "$tensor" in node:
        return _tensor(node, budget)
    if "$ref" in node:
        ref, kind = node["$ref"], node.get("type", "object")
        if type(ref) is not int or not isinstance(kind, str):
            raise ChannelError("malformed object reference")
        return Remote(ref, kind[:200])
    if "$tuple" in node and isinstance(node["$tuple"], list):
        return tuple(_decode(v, budget, depth + 1) for v in node["$tuple"])
    if "$dict" in node and isinstance(node["$dict"], dict):
        return {str(k)[: budget.limits.max_str]: _decode(v, budget, depth + 1) for k, v in node["$dict"].items()}
    raise ChannelError(f"unexpected object with keys {sorted(node)[:5]} in the reply")


def decode(node: Any, limits: WireLimits | None = None) -> Any:
    """Plain Python / :class:`Tensor` / :class:`Remote` values from a parsed reply, validated.

    Example:
        >>> decode({"$tuple": [{"$tensor": [1.5], "dtype": "float32", "shape": [1]}, {"$ref": 2, "type": "Planar"}]})
        (Tensor(values=array([1.5]), dtype='float32', grad=False), Remote(ref=2, type='Planar'))
        >>> decode({"$name": "flow"})                     # names are for requests, never in replies
        Traceback (most recent call last):
            ...
        flowkit.course.checks.wire.ChannelError: unexpected object with keys ['$name'] in the reply
    """
    return _decode(node, _Budget(limits or WireLimits()), 0)


def loads(text: str | bytes, limits: WireLimits | None = None) -> Any:
    """Parse a JSON reply text strictly (size cap first) and :func:`decode` it.

    Example:
        >>> loads('{"$dict": {"integral": 0.9999, "ok": true}}')
        {'integral': 0.9999, 'ok': True}
        >>> loads("{'integral': 1}")
        Traceback (most recent call last):
            ...
        flowkit.course.checks.wire.ChannelError: the reply is not valid JSON (JSONDecodeError)
    """
    limits = limits or WireLimits()
    return decode(read_json(text, limits), limits)


def read_json(text: str | bytes, limits: WireLimits) -> Any:
    """A reply's raw JSON, size-checked; a :class:`ChannelError` for anything else (not decoded)."""
    if not isinstance(text, (str, bytes)):
        raise ChannelError(f"the reply is a {type(text).__name__}, not text")
    if len(text) > limits.max_bytes:
        raise ChannelError(f"the reply is larger than {limits.max_bytes >> 20} MiB")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ChannelError(f"the reply is not valid JSON ({type(e).__name__})") from None
