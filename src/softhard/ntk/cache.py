"""A disk cache of margin estimates, so that runs and sweep groups of one task estimate gamma once.

The key is the sha256 of the exact inputs (x, y) and of every setting that can change the answer
(K, seed, tolerance, iteration caps, fresh directions, dtype, device type) and
:data:`~softhard.ntk.margin.SOLVER_VERSION`. Entries live in ``cache_dir()/margins/KEY.pt``
(``$SOFTHARD_CACHE`` or ``~/.cache/softhard``, the teacher cache's folder), are written atomically
(temporary file, then rename) and carry a hash of their tensors: a corrupt, foreign or truncated
entry is recomputed and rewritten.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS, json_digest
from softhard.data._dataset import tensor_digest
from softhard.ntk.margin import SOLVER_VERSION, MarginEstimate, estimate_margin
from softhard.teachers.cache import cache_dir

__all__ = ["cached_margin", "margin_key"]

_TENSORS = ("q", "hardest", "directions", "primal")


def margin_key(
    x: torch.Tensor, y: torch.Tensor, settings: dict[str, Any], dtype: torch.dtype, device: str
) -> str:
    """Content key of an estimate: inputs, settings, dtype, device type and solver version."""
    inputs = tensor_digest(torch.as_tensor(x).double(), torch.as_tensor(y).double())
    payload = {
        "inputs": inputs,
        "settings": settings,
        "dtype": str(dtype),
        "device": torch.device(device).type,
        "solver": SOLVER_VERSION,
    }
    return json_digest(payload, 20)


def cached_margin(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    num_directions: int = DEFAULT_NUM_DIRECTIONS,
    seed: int = DEFAULT_MARGIN_SEED,
    tol: float = 1e-3,
    max_iter: int = 5000,
    fresh_directions: int | None = None,
    max_newton_steps: int = 100,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    cache: Path | None = None,
) -> MarginEstimate:
    """:func:`~softhard.ntk.estimate_margin` through the disk cache (same arguments, same answer).

    ``cache`` is the cache root (default :func:`softhard.teachers.cache.cache_dir`). A hit returns the
    stored estimate, including the ``seconds`` the original solve took.
    """
    settings = {
        "num_directions": num_directions,
        "seed": seed,
        "tol": tol,
        "max_iter": max_iter,
        "fresh_directions": fresh_directions,
        "max_newton_steps": max_newton_steps,
    }
    key = margin_key(torch.as_tensor(x), torch.as_tensor(y), settings, dtype, str(device))
    path = (cache or cache_dir()) / "margins" / f"{key}.pt"
    hit = _load(path, key)
    if hit is not None:
        return hit
    est = estimate_margin(x, y, device=device, dtype=dtype, **settings)  # type: ignore[arg-type]
    _save(path, key, est)
    return est


def _tensor_hash(state: dict[str, Any]) -> str:
    return tensor_digest(*(state[name] for name in _TENSORS))


def _load(path: Path, key: str) -> MarginEstimate | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("key") != key or state.get("sha256") != _tensor_hash(state):
            return None
        scalars = json.loads(state["scalars"])
        return MarginEstimate(**scalars, **{name: state[name] for name in _TENSORS})
    except Exception:  # corrupt, truncated or foreign file: recompute and rewrite it
        return None


def _save(path: Path, key: str, est: MarginEstimate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    values = asdict(est)
    scalars = {f.name: values[f.name] for f in fields(est) if f.name not in _TENSORS}
    state: dict[str, Any] = {name: getattr(est, name).detach().cpu() for name in _TENSORS}
    state.update(key=key, scalars=json.dumps(scalars), sha256=_tensor_hash(state))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: concurrent runs never see half a file
