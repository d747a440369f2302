"""Teachers for binary two-layer experiments, cached on disk by content.

``network``: a wide two-layer ReLU network (default 4096 neurons, docs/theory.md section 1) trained
with full-batch gradient descent on the hard training labels, through the bank engine (a
one-student bank, float64), to the stopping rule ``teacher.stop`` (:class:`TeacherStop`):
a fixed number of epochs on the whole training set, or, with a seeded validation split held
out, the best validation loss with patience (the teacher keeps the weights of its best check,
trained on the training set minus the validation part; it is not refit on the whole set) or a
training-loss tolerance. The teacher's info records the rule, the epochs used, and its train,
validation and test accuracy. It is stored in the cache folder under a key that hashes the
teacher config (the rule included) and the dataset's content; the file holds the weights, the
config, the dataset fingerprint, the info and a sha256 of the weights, and is reused by later
runs with the same settings (a file whose weights no longer match their hash is rebuilt).

:func:`weak_teachers` flags a run's teachers that test below its best hard-label student.

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
from softhard.engine import BankEntry, train_bank
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.teachers.cache import teachers_dir
from softhard.teachers.selection import (
    CheckTracker,
    candidate_configs,
    fit_temperature,
    hard_reference,
    rank_key,
)
from softhard.teachers.weak import correct, significantly_worse
from softhard.train import TrainResult


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


def teacher_key(cfg: TeacherConfig, data_fingerprint: str) -> str:
    """Content key of a teacher: sha256 of its config and the dataset's fingerprint."""
    settings = cfg.model_dump(mode="json", exclude=_NOT_TRAINING)
    return json_digest({"teacher": settings, "data": data_fingerprint}, 20)


_NOT_TRAINING = {"candidates", "try_all", "reference", "weak_alpha", "calibrate"}
"""Teacher settings that do not change the trained weights (kept out of the cache key)."""


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
    path = teachers_dir(cache) / f"{key}.pt"
    model = TwoLayerReLU(x.shape[1], cfg.width, seed=cfg.seed, init="plain", signs="balanced")
    state = _load(path)
    from_cache = state is not None
    if state is not None:
        model.weight.data.copy_(state["weight"])
        fit = json.loads(state.get("info", "{}"))
    else:
        weight, fit = train_teacher(cfg, x.to(torch.float64), y_pm.to(torch.float64))
        model.weight.data.copy_(weight)
        _save(path, model, cfg, data_fingerprint, fit)
    with torch.no_grad():
        train_logits, test_logits = model(x), model(x_test)
    info = {
        "kind": "network",
        "key": key,
        "from_cache": from_cache,
        **fit,
        "train_acc": _accuracy(train_logits, y_pm),
        "test_acc": _accuracy(test_logits, y_test_pm),
    }
    return TeacherOutput(train_logits, test_logits, info)


def chosen_teacher(
    cfg: TeacherConfig,
    x: torch.Tensor,
    y_pm: torch.Tensor,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
    *,
    data_fingerprint: str,
    cache: Path | None = None,
) -> TeacherOutput:
    """The network teacher chosen on validation among ``cfg.candidates``, optionally calibrated.

    Without candidates and calibration this is :func:`network_teacher`. Otherwise each
    candidate (:func:`~softhard.teachers.selection.candidate_configs`) is trained (or read from
    the cache) in order; with two or more, each is compared on the validation part with the
    hard-label reference (:func:`~softhard.teachers.selection.hard_reference`, exact McNemar at
    ``cfg.weak_alpha``) and the search stops at the first that is not significantly worse
    (unless ``cfg.try_all``). The best tried on validation accuracy, ties broken by validation
    loss, is kept; ``info`` records every tried candidate and the choice. With ``calibrate``
    its logits are divided by the temperature fitted to the validation NLL.
    """
    configs = candidate_configs(cfg)
    if len(configs) == 1 and not cfg.calibrate:
        return network_teacher(
            configs[0], x, y_pm, x_test, y_test_pm, data_fingerprint=data_fingerprint, cache=cache
        )
    val, fit = validation_split(x.shape[0], cfg.stop.val_fraction, cfg.seed)
    reference: tuple[Any, dict[str, Any]] | None = None
    if len(configs) > 1:
        reference = hard_reference(cfg, x[fit], y_pm[fit], x[val], y_pm[val])
    tried: list[TeacherOutput] = []
    records: list[dict[str, Any]] = []
    for candidate in configs:
        out = network_teacher(
            candidate, x, y_pm, x_test, y_test_pm, data_fingerprint=data_fingerprint, cache=cache
        )
        record = {k: candidate.model_dump()[k] for k in ("width", "lr")}
        record |= {"max_epochs": candidate.stop.max_epochs}
        record |= {k: out.info.get(k) for k in ("epochs_used", "val_acc", "val_loss", "test_acc")}
        tried.append(out)
        records.append(record)
        if reference is not None:
            worse, test = significantly_worse(
                correct(out.train_logits[val], y_pm[val]), reference[0], cfg.weak_alpha
            )
            record["vs_reference"] = {**test.info(), "weak": worse}
            if not worse and not cfg.try_all:
                break
    chosen = max(range(len(tried)), key=lambda i: rank_key(tried[i].info))
    out = tried[chosen]
    info = {**out.info, "candidates": records, "chosen": chosen}
    if reference is not None:
        info["reference"] = reference[1]
    if cfg.calibrate:
        calib = fit_temperature(out.train_logits[val], y_pm[val])
        info["calibration"] = calib
        t = calib["temperature"]
        out = TeacherOutput(out.train_logits / t, out.test_logits / t, info)
    return TeacherOutput(out.train_logits, out.test_logits, info)


def train_teacher(
    cfg: TeacherConfig, x: torch.Tensor, y_pm: torch.Tensor
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Train the network teacher to ``cfg.stop``; its first-layer weights and a description.

    The description holds the rule, ``epochs_used`` (the epochs behind the kept weights),
    ``epochs_trained`` (all epochs run) and, with a validation split, its size, the
    validation loss and accuracy of the kept weights and the accuracy on the part trained on.
    """
    rule = cfg.stop.rule
    weight: torch.Tensor | None  # None: the seeded start (before the first segment)
    if rule == "epochs":
        weight, _ = _segment(cfg, x, y_pm, None, cfg.epochs, None, None)
        return weight, {"stop_rule": rule, "epochs_used": cfg.epochs, "epochs_trained": cfg.epochs}
    val, fit = validation_split(x.shape[0], cfg.stop.val_fraction, cfg.seed)
    xf, yf, xv, yv = x[fit], y_pm[fit], x[val], y_pm[val]
    stop, weight, done = cfg.stop, None, 0
    tracker = CheckTracker(rule, stop.patience)
    while done < stop.max_epochs:
        epochs = min(stop.check_every, stop.max_epochs - done)
        new, res = _segment(cfg, xf, yf, weight, epochs, xv, yv)
        if res.diverged:
            break
        weight, done = new, done + epochs
        now = {"weight": weight, "epochs_used": done, "val_loss": res.final["test_loss"]}
        now |= {"val_acc": res.final["test_acc"], "fit_acc": res.final["train_acc"]}
        if tracker.offer(now):
            break
        if rule == "train_tol":
            before, after = float(res.curves["loss"][0]), res.final["loss"]
            if abs(before - after) <= stop.tol * abs(after):
                break
    best = tracker.best
    if "weight" not in best:  # diverged before the first check
        raise ValueError(f"the network teacher diverged within {stop.check_every} epochs")
    info = {k: v for k, v in best.items() if k != "weight"}
    return best["weight"], {
        "stop_rule": rule,
        **info,
        "epochs_trained": done,
        "n_val": len(val),
        "n_fit": len(fit),
    }


def validation_split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(validation, fit)`` indices: a seeded permutation of ``range(n)``, its first
    ``round(fraction n)`` (at least 1, at most n - 1) held out; both sorted."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    n_val = min(max(1, round(fraction * n)), n - 1)
    return perm[:n_val].sort().values, perm[n_val:].sort().values


def _segment(
    cfg: TeacherConfig,
    x: torch.Tensor,
    y_pm: torch.Tensor,
    weight: torch.Tensor | None,
    epochs: int,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
) -> tuple[torch.Tensor, TrainResult]:
    """``epochs`` of full-batch GD of the teacher from ``weight`` (None: its seeded start)."""
    spec = BankEntry.of(Student(cfg.width, cfg.seed, "hard"), y_pm, None, weight=weight)
    train_cfg = TrainConfig(optimizer="gd", lr=cfg.lr, epochs=epochs)
    (res,) = train_bank(x, [spec], train_cfg, x_test=x_val, y_test_pm=y_val, dtype=torch.float64)
    return res.weight, res


def _accuracy(logits: torch.Tensor, y_pm: torch.Tensor) -> float:
    return float(((logits > 0) == (y_pm > 0)).double().mean())


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt or foreign file: rebuild it
        return None
    if state.get("sha256") != _weights_hash(state["weight"], state["a"]):
        return None
    return state


def _save(
    path: Path, model: TwoLayerReLU, cfg: TeacherConfig, fingerprint: str, info: dict[str, Any]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "weight": model.weight.detach().clone(),
        "a": model.a.clone(),
        "config": json.dumps(cfg.model_dump(mode="json")),
        "data_fingerprint": fingerprint,
        "info": json.dumps(info),
        "sha256": _weights_hash(model.weight, model.a),
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: concurrent runs never see half a file
