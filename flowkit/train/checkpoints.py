r"""Checkpoints of ``python -m flowkit.train``: writing them safely, reading them with clear errors.

Files of a run with ``--out model.pt``
---------------------------------------
* ``model.pt`` — the checkpoint: ``torch.save`` of a dict holding only tensors, numbers,
  strings, lists and dicts, so ``torch.load(path, weights_only=True)`` reads it (no code runs)::

      {"format": 2, "model": "glow", "config": {builder kwargs}, "state_dict": {...},
       "metrics": {"val_bpd", "test_bpd", "test_bpd_iw", "steps", ...}, "estimators": {...},
       "eval": {...}, "data": "digits", "command": "python -m flowkit.train ...", "argv": [...],
       "seed": 0, "torch": "2.13.0", "wall_time_s": ..., "history": {...}}

  ``"model"`` names the builder (:data:`BUILDERS`): ``"realnvp"``, ``"glow"``,
  ``"conditional-realnvp"`` (image flows) or ``"posterior"`` (a
  :func:`~flowkit.data.simulators.posterior_flow`, ``"data"`` the simulator, ``"metrics"``
  validation NLLs). The digits classifier's checkpoint has ``"kind": "digits_classifier"``
  instead of ``"model"`` (and its own ``"format": 1``).
* ``model.json`` — the JSON sidecar: the same dict without the weights, plus file size and timing.
* ``model.state.pt`` — the resumable training state (``--resume``).

Every file is written to ``<name>.tmp`` and renamed into place (:func:`atomic_save`), so an
interrupted write never leaves a half-written checkpoint, and the ``.tmp`` is removed on failure.

Reading
-------
:func:`load_checkpoint` rebuilds the model. Every problem is a ``ValueError`` whose message starts
with the file's path and says what is wrong: an empty, truncated or non-torch file, a file that
is not a flowkit checkpoint (no ``config``/``model``/``state_dict``), a format written by
flowkit 0.1 (format 1: retrain with the recorded command), NaN/inf weights, weights that do not fit
the model built from ``config``. The JSON sidecar, when present, must agree with the checkpoint on
``format``, ``model``/``kind``, ``data``, ``config``, ``metrics``, ``command`` and ``seed``: a
mismatch is an error by default (``sidecar="error"``), a ``UserWarning`` with ``sidecar="warn"``,
and not checked with ``sidecar="ignore"``.

Example:
    >>> import tempfile, torch, flowkit as fk
    >>> from pathlib import Path
    >>> from flowkit.train.checkpoints import load_checkpoint
    >>> path = Path(tempfile.mkdtemp()) / "empty.pt"
    >>> _ = path.write_bytes(b"")
    >>> load_checkpoint(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../empty.pt: empty file (0 bytes), not a flowkit checkpoint; was the run that wrote it interrupted?
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["FORMAT", "BUILDERS", "SHIPPED", "atomic_save", "write_json", "sidecar_path", "state_path", "read_checkpoint",
           "load_checkpoint", "load_training_state", "build_model", "check_sidecar"]

FORMAT = 2  # 2: flowkit 0.2 module layout (generative-order MultiScale, Split as a coupling); 1: flowkit 0.1
BUILDERS = ("realnvp", "glow", "conditional-realnvp", "posterior")
IMAGE_MODELS = BUILDERS[:3]
CLASSIFIER_FORMAT = 1
SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints"
"""The repository's ``checkpoints/`` folder (the shipped flows and the digits classifier)."""
_SIDECAR_KEYS = ("format", "model", "kind", "data", "config", "metrics", "command", "seed")
_STATE_KEYS = ("format", "model", "out", "config", "args", "state_dict", "optimizer", "best_state_dict", "step",
               "best_val", "best_step", "bad_evals", "rng", "perm", "perm_pos", "history", "wall_time_s")


def _sibling(path: str | os.PathLike, suffix: str) -> Path:
    p = Path(path)
    return p.with_name((p.name[:-3] if p.name.endswith(".pt") else p.name) + suffix)


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a checkpoint: ``x.pt`` → ``x.json`` (other names: ``+ ".json"``).

    Example:
        >>> sidecar_path("checkpoints/glow_digits.pt").as_posix()
        'checkpoints/glow_digits.json'
    """
    return _sibling(path, ".json")


def state_path(path: str | os.PathLike) -> Path:
    """The resumable training state next to a checkpoint: ``x.pt`` → ``x.state.pt``.

    Example:
        >>> state_path("runs/g.pt").as_posix()
        'runs/g.state.pt'
    """
    return _sibling(path, ".state.pt")


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:  # after a failure or an interrupt: no stray .tmp
        if tmp.exists():
            tmp.unlink()


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path`` via ``path.tmp`` and a rename; the ``.tmp`` never outlives a failure.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> d = Path(tempfile.mkdtemp())
        >>> atomic_save({"w": torch.ones(2)}, d / "a.pt")
        >>> sorted(p.name for p in d.iterdir())
        ['a.pt']
    """
    _atomic_write(Path(path), lambda tmp: torch.save(obj, tmp))


def write_json(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``obj`` as indented JSON (trailing newline) to ``path``, atomically like :func:`atomic_save`.

    Example:
        >>> import tempfile, json
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp()) / "a.json"
        >>> write_json({"x": 1}, p); json.loads(p.read_text())
        {'x': 1}
    """
    _atomic_write(Path(path), lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n"))


def _torch_load(path: Path, map_location: str | torch.device) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a checkpoint file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a flowkit checkpoint; was the run that wrote it "
                         "interrupted?")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, not a torch file, or objects weights_only refuses
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if "Weights only load failed" in first or "weights_only" in str(e):
            why = ("it holds Python objects other than tensors and plain values, which "
                   "torch.load(weights_only=True) refuses to unpickle; not a flowkit checkpoint")
        else:
            why = f"cannot be read by torch.load ({size} bytes; truncated or not a torch file?): {first}"
        raise ValueError(f"{path}: {why}") from None


def _nonfinite_report(state_dict: dict[str, Any]) -> str | None:
    bad = [(k, int((~torch.isfinite(v)).sum()), v.numel()) for k, v in state_dict.items()
           if isinstance(v, Tensor) and (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all())]
    if not bad:
        return None
    listed = ", ".join(f"{k} ({n} of {total})" for k, n, total in bad[:3]) + (", ..." if len(bad) > 3 else "")
    return f"{len(bad)} weight tensor(s) hold NaN or infinite values: {listed}"


def _check_weights(ckpt: dict[str, Any], path: Path, key: str = "state_dict") -> None:
    sd = ckpt[key]
    if not isinstance(sd, dict) or not all(isinstance(v, Tensor) for v in sd.values()):
        raise ValueError(f"{path}: '{key}' must be a dict of tensors, got {type(sd).__name__}")
    report = _nonfinite_report(sd)
    if report:
        raise ValueError(f"{path}: {report}; the run that wrote it diverged. Retrain (e.g. with a smaller --lr) "
                         "or use an earlier checkpoint")


def _check_format(ckpt: dict[str, Any], path: Path, expected: int, what: str) -> None:
    fmt = ckpt.get("format")
    if fmt == expected:
        return
    command = ckpt.get("command") or "python -m flowkit.train ..."
    if what == "flow" and fmt == 1:
        raise ValueError(f"{path}: written by flowkit 0.1 (checkpoint format 1), whose module layout flowkit "
                         f"{'0.2'} (format {FORMAT}) cannot load; retrain with: {command}")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise ValueError(f"{path}: has no valid 'format' (got {fmt!r}); not a flowkit {what} checkpoint")
    newer = " (written by a newer flowkit?)" if fmt > expected else ""
    raise ValueError(f"{path}: checkpoint format {fmt}{newer}; this flowkit reads format {expected} "
                     f"for a {what} checkpoint; retrain with: {command}")


def read_checkpoint(path: str | os.PathLike, *, kind: str = "flow", map_location: str | torch.device = "cpu",
                    sidecar: str = "error") -> dict[str, Any]:
    """The checked checkpoint dict at ``path``: ``kind="flow"`` (any of :data:`BUILDERS`) or ``"digits_classifier"``.

    Raises ``ValueError`` (message starting with the path) for every problem listed in the module
    docstring, ``FileNotFoundError`` for a missing file.

    Example:
        >>> d = read_checkpoint(SHIPPED / "glow_digits.pt")
        >>> d["model"], d["format"], d["config"]["n_steps"]
        ('glow', 2, [8, 4])
    """
    if kind not in ("flow", "digits_classifier"):
        raise ValueError(f"read_checkpoint: kind must be 'flow' or 'digits_classifier', got {kind!r}")
    p = Path(path)
    ckpt = _torch_load(p, map_location)
    if not isinstance(ckpt, dict):
        raise ValueError(f"{p}: not a flowkit checkpoint: it holds a {type(ckpt).__name__}, not a dict")
    tag, allowed = ("model", BUILDERS) if kind == "flow" else ("kind", ("digits_classifier",))
    if kind == "flow" and ckpt.get("kind") == "digits_classifier":
        raise ValueError(f"{p}: a digits-classifier checkpoint, not a flow; load it with "
                         "flowkit.metrics.classifier.load_classifier")
    if ckpt.get("trainer") == "flowkit.train.conditional":
        raise ValueError(f"{p}: written by the retired `python -m flowkit.train.conditional`; retrain with "
                         "`python -m flowkit.train conditional-realnvp ...` or `... posterior ...` (see --help)")
    missing = [k for k in (tag, "config", "state_dict", "format") if k not in ckpt]
    if missing:
        raise ValueError(f"{p}: not a flowkit checkpoint: missing {', '.join(repr(k) for k in missing)} "
                         f"(it has {sorted(map(str, ckpt))[:8]})")
    if ckpt[tag] not in allowed:
        raise ValueError(f"{p}: unknown {tag} {ckpt[tag]!r}; expected one of {allowed}")
    _check_format(ckpt, p, FORMAT if kind == "flow" else CLASSIFIER_FORMAT, kind)
    if not isinstance(ckpt["config"], dict):
        raise ValueError(f"{p}: 'config' must be a dict of builder arguments, got {type(ckpt['config']).__name__}")
    _check_weights(ckpt, p)
    check_sidecar(ckpt, p, sidecar)
    return ckpt


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def check_sidecar(ckpt: dict[str, Any], path: str | os.PathLike, mode: str = "error") -> list[str]:
    """Compare the JSON sidecar of ``path`` with the checkpoint dict; returns the disagreeing keys.

    ``mode="error"``: a disagreement (or an unreadable sidecar) raises ``ValueError`` naming both
    files and the values; ``"warn"``: a ``UserWarning`` instead; ``"ignore"``: no check. A missing
    sidecar is not an error (the checkpoint is complete without it).

    Example:
        >>> import torch
        >>> ckpt = torch.load(SHIPPED / "realnvp_digits.pt", weights_only=True)
        >>> check_sidecar(ckpt, SHIPPED / "realnvp_digits.pt")
        []
    """
    if mode not in ("error", "warn", "ignore"):
        raise ValueError(f"sidecar must be 'error', 'warn' or 'ignore', got {mode!r}")
    side_path = sidecar_path(path)
    if mode == "ignore" or not side_path.exists():
        return []
    try:
        side = json.loads(side_path.read_text())
        problems = [] if isinstance(side, dict) else ["<not a JSON object>"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        side, problems = {}, [f"<unreadable: {e}>"]
    details = []
    for key in _SIDECAR_KEYS if not problems else ():
        if key not in ckpt and key not in side:
            continue
        mine = json.loads(json.dumps(ckpt.get(key, "<missing>")))
        if not _same(mine, side.get(key, "<missing>")):
            problems.append(key)
            details.append(f"{key}: checkpoint {_short(mine)} vs sidecar {_short(side.get(key, '<missing>'))}")
    if problems and mode != "ignore":
        msg = (f"{path}: its JSON sidecar {side_path} disagrees with it on {', '.join(problems)}"
               f"{' (' + '; '.join(details) + ')' if details else ''}; the two files come from different runs or "
               "one was edited. Restore the matching pair, or pass sidecar='warn' to load the checkpoint anyway")
        if mode == "error":
            raise ValueError(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)
    return problems


def _short(v: Any, n: int = 80) -> str:
    s = repr(v)
    return s if len(s) <= n else s[:n - 3] + "..."


def build_model(model: str, config: dict[str, Any]) -> torch.nn.Module:
    """The flow of ``model`` (one of :data:`BUILDERS`) built with ``config`` (its builder's keyword arguments).

    ``"realnvp"``/``"glow"``/``"conditional-realnvp"``: :class:`~flowkit.image.RealNVP`,
    :class:`~flowkit.image.Glow`, :class:`~flowkit.image.ConditionalRealNVP`; ``"posterior"``:
    :func:`~flowkit.data.simulators.posterior_flow`.

    Example:
        >>> m = build_model("realnvp", {"n_couplings": 1, "hidden": 8, "seed": 0})
        >>> type(m).__name__
        'RealNVP'
    """
    from ..data.simulators import posterior_flow
    from ..image import ConditionalRealNVP, Glow, RealNVP

    if model not in BUILDERS:
        raise ValueError(f"unknown model {model!r}; expected one of {BUILDERS}")
    cfg = dict(config)
    for key in ("shape", "hidden"):
        if isinstance(cfg.get(key), list):
            cfg[key] = tuple(cfg[key])
    builder = {"realnvp": RealNVP, "glow": Glow, "conditional-realnvp": ConditionalRealNVP,
               "posterior": posterior_flow}[model]
    return builder(**cfg)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu", return_info: bool = False,
                    sidecar: str = "error") -> Any:
    """Rebuild the flow saved at ``path`` (read with ``weights_only=True``), in eval mode.

    Checks everything listed in the module docstring first (``sidecar``: ``"error"``, ``"warn"``
    or ``"ignore"``). With ``return_info=True`` returns ``(model, checkpoint_dict_without_state_dict)``.

    Example:
        >>> model, info = load_checkpoint(SHIPPED / "glow_digits.pt", return_info=True)
        >>> type(model).__name__, model.training, info["metrics"]["steps"]
        ('Glow', False, 2800)
    """
    ckpt = read_checkpoint(path, kind="flow", map_location=map_location, sidecar=sidecar)
    try:
        model = build_model(ckpt["model"], ckpt["config"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: its config does not build a {ckpt['model']}: {e}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        first = " ".join(str(e).split())[:400]
        raise ValueError(f"{path}: the weights do not fit the {ckpt['model']} built from its config: {first}") from None
    model.to(map_location).eval()
    if return_info:
        return model, {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """The resumable training state at ``path`` (``<out>.state.pt``), checked like a checkpoint.

    Example:
        >>> load_training_state("no_such.state.pt")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no_such.state.pt: no such checkpoint file
    """
    p = Path(path)
    state = _torch_load(p, "cpu")
    if not isinstance(state, dict):
        raise ValueError(f"{p}: not a flowkit training state: it holds a {type(state).__name__}, not a dict")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"{p}: not a flowkit training state (<out>.state.pt): missing "
                         f"{', '.join(repr(k) for k in missing)}")
    if state["format"] != FORMAT:
        raise ValueError(f"{p}: training state format {state['format']!r} (flowkit 0.1 wrote format 1); this flowkit "
                         f"resumes format {FORMAT} only: start a new run")
    for key in ("state_dict", "best_state_dict"):
        _check_weights(state, p, key)
    return state
