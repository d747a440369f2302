"""Choosing a network teacher on validation data, as practitioners do.

Pure parts, each tested on its own:

* :class:`CheckTracker`: which checkpoint a stop rule keeps, and when patience stops it. Rule
  ``val_acc`` keeps the check with the best validation accuracy, ties broken by the lower
  validation loss; ``val_loss`` the lowest validation loss.
* the paired test of a candidate against the reference is
  :func:`softhard.teachers.weak.significantly_worse` (exact McNemar).
* :func:`fit_temperature`: one temperature T fitted to the validation negative log-likelihood of
  ``sigmoid(F / T)`` (temperature calibration).
* :func:`hard_reference`: the cheap hard-label reference of ``teacher.reference``: two-layer
  students of a few widths trained on the teacher's fit part, the best on validation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from softhard.config import StopRule, TeacherConfig, TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.student import Student
from softhard.teachers.weak import student_correct


class CheckTracker:
    """Follows a stop rule's checks (dicts with ``epochs_used``, ``val_acc``, ``val_loss``).

    ``offer(check)`` records a check and returns True when training should stop: the kept
    check (:attr:`best`) has not improved for ``patience`` epochs. ``train_tol`` keeps the
    latest check and never stops on patience (its own tolerance stops it).
    """

    def __init__(self, rule: StopRule, patience: int) -> None:
        self.rule = rule
        self.patience = patience
        self.best: dict[str, Any] = {}

    def improves(self, check: dict[str, Any]) -> bool:
        """Whether ``check`` replaces the kept one under the rule."""
        if not self.best or self.rule == "train_tol":
            return True
        if self.rule == "val_acc":
            now = (check["val_acc"], -check["val_loss"])
            return now > (self.best["val_acc"], -self.best["val_loss"])
        return bool(check["val_loss"] < self.best["val_loss"])

    def offer(self, check: dict[str, Any]) -> bool:
        """Record ``check``; True when patience says stop."""
        if self.improves(check):
            self.best = check
            return False
        if self.rule == "train_tol":
            return False
        return int(check["epochs_used"]) - int(self.best["epochs_used"]) >= self.patience


def rank_key(info: dict[str, Any]) -> tuple[float, float]:
    """Sort key of a teacher (or check) on validation: higher accuracy, then lower loss."""
    return (float(info["val_acc"]), -float(info["val_loss"]))


def logistic_nll(logits: torch.Tensor, y_pm: torch.Tensor) -> float:
    """Mean ``ln(1 + exp(-y F))``: the negative log-likelihood of ``sigmoid(F)`` for y in {-1, 1}."""
    return float(torch.nn.functional.softplus(-y_pm.double() * logits.double()).mean())


def fit_temperature(logits: torch.Tensor, y_pm: torch.Tensor) -> dict[str, float]:
    """One temperature T > 0 minimising the NLL of ``sigmoid(F / T)`` on (validation) data.

    Searched over ``log T`` in [-5, 5] (bounded Brent, scipy ``minimize_scalar``); T = 1 is
    kept if the search does not improve on it. Returns ``temperature``, ``val_nll_before``
    (T = 1) and ``val_nll_after``.
    """
    before = logistic_nll(logits, y_pm)

    def nll(log_t: float) -> float:
        return logistic_nll(logits / math.exp(log_t), y_pm)

    res = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-6})
    t, after = math.exp(float(res.x)), float(res.fun)
    if not after < before:
        t, after = 1.0, before
    return {"temperature": t, "val_nll_before": before, "val_nll_after": after}


def candidate_configs(cfg: TeacherConfig) -> list[TeacherConfig]:
    """The teachers to try, in order: ``cfg`` with each of ``cfg.candidates``'s settings (or
    ``cfg`` alone), each without candidates or calibration of its own."""
    base = cfg.model_copy(update={"candidates": [], "calibrate": False})
    if not cfg.candidates:
        return [base]
    out = []
    for cand in cfg.candidates:
        update = cand.model_dump(exclude_none=True)
        if "max_epochs" in update:
            update["stop"] = base.stop.model_copy(update={"max_epochs": update.pop("max_epochs")})
        out.append(base.model_copy(update=update))
    return out


def hard_reference(
    cfg: TeacherConfig,
    x_fit: torch.Tensor,
    y_fit: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The hard-label reference of ``cfg.reference`` on the validation part.

    Two-layer students of ``reference.widths`` (seed 0, plain init, balanced signs, full-batch
    GD at ``reference.lr`` for ``reference.epochs``) train on the fit part in one bank; the one
    with the best validation accuracy is the reference. Returns its per-example validation
    correctness and a description (width, validation accuracy).
    """
    ref = cfg.reference
    x64, y64 = x_fit.to(torch.float64), y_fit.to(torch.float64)
    specs = [BankEntry.of(Student(w, 0, "hard"), y64, None) for w in ref.widths]
    train_cfg = TrainConfig(optimizer="gd", lr=ref.lr, epochs=ref.epochs)
    xv, yv = x_val.to(torch.float64), y_val.to(torch.float64)
    results = train_bank(x64, specs, train_cfg, x_test=xv, y_test_pm=yv, dtype=torch.float64)
    accs = [r.final["test_acc"] for r in results]
    best = int(np.argmax(accs))  # the first (narrowest) of equals
    weight = results[best].weight.to(torch.float64).cpu()
    correct = student_correct(weight, 0, xv, yv)
    return correct, {"width": ref.widths[best], "val_acc": float(correct.mean())}
