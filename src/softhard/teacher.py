"""Teachers for binary two-layer experiments, cached on disk by content.

``network``: a wide two-layer ReLU network (default 4096 neurons, docs/theory.md section 1) trained
with full-batch gradient descent on the hard training labels. It is stored in the cache folder
under a key that hashes the teacher config and the dataset's content; the file holds the
weights, the config, the dataset fingerprint and a sha256 of the weights, and is reused by
later runs with the same settings (a file whose weights no longer match their hash is rebuilt).

``kernel``: the kernel-limit teacher of docs/theory.md section 3, built from the margin solution
(:mod:`softhard.ntk.teacher`).

Soft labels are ``sigmoid(F(x) / T)`` of the teacher's logits F (:func:`softhard.losses.soft_targets`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from softhard.config import TeacherConfig, TrainConfig, json_digest
from softhard.data._dataset import tensor_digest
from softhard.models.two_layer import TwoLayerReLU
from softhard.targets import Targets
from softhard.train import train_two_layer


@dataclass(frozen=True)
class TeacherOutput:
    """Teacher logits on the training and test inputs, with a description of the teacher.

    Attributes:
        train_logits: F(x) on the training inputs, shape ``(n_train,)``.
        test_logits: F(x) on the test inputs, shape ``(n_test,)``.
        info: kind, key, train/test accuracy, whether it came from the cache.
    """

    train_logits: torch.Tensor
    test_logits: torch.Tensor
    info: dict[str, Any]


def cache_dir() -> Path:
    """The cache folder: ``$SOFTHARD_CACHE`` or ``~/.cache/softhard``."""
    return Path(os.environ.get("SOFTHARD_CACHE", Path.home() / ".cache" / "softhard"))


def teacher_key(cfg: TeacherConfig, data_fingerprint: str) -> str:
    """Content key of a teacher: sha256 of its config and the dataset's fingerprint."""
    return json_digest({"teacher": cfg.model_dump(mode="json"), "data": data_fingerprint}, 20)


def _weights_hash(weight: torch.Tensor, a: torch.Tensor) -> str:
    return tensor_digest(weight, a, shapes=False)


def network_teacher(
    cfg: TeacherConfig,
    x: torch.Tensor,
    y_pm: torch.Tensor,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
    *,
    data_fingerprint: str,
    cache: Path | None = None,
) -> TeacherOutput:
    """Train (or load from the cache) the wide network teacher and return its logits."""
    key = teacher_key(cfg, data_fingerprint)
    path = (cache or cache_dir()) / "teachers" / f"{key}.pt"
    model = TwoLayerReLU(x.shape[1], cfg.width, seed=cfg.seed, init="plain", signs="balanced")
    state = _load(path)
    from_cache = state is not None
    if state is not None:
        model.weight.data.copy_(state["weight"])
    else:
        train_cfg = TrainConfig(optimizer="gd", lr=cfg.lr, epochs=cfg.epochs)
        targets = Targets(y_pm, None, 0.0)
        train_two_layer(model, x, targets, train_cfg)
        _save(path, model, cfg, data_fingerprint)
    with torch.no_grad():
        train_logits, test_logits = model(x), model(x_test)
    info = {
        "kind": "network",
        "key": key,
        "from_cache": from_cache,
        "train_acc": float(((train_logits > 0) == (y_pm > 0)).double().mean()),
        "test_acc": float(((test_logits > 0) == (y_test_pm > 0)).double().mean()),
    }
    return TeacherOutput(train_logits, test_logits, info)


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt or foreign file: rebuild it
        return None
    if state.get("sha256") != _weights_hash(state["weight"], state["a"]):
        return None
    return state


def _save(path: Path, model: TwoLayerReLU, cfg: TeacherConfig, fingerprint: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "weight": model.weight.detach().clone(),
        "a": model.a.clone(),
        "config": json.dumps(cfg.model_dump(mode="json")),
        "data_fingerprint": fingerprint,
        "sha256": _weights_hash(model.weight, model.a),
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: concurrent runs never see half a file
