"""The one-model training loop for two-layer students: the reference every engine is tested against.

Per epoch t = 0..T-1 it records, at the weights ``W_t`` *before* that epoch's updates: the
reported training loss ``L(W_t)`` (see :class:`~softhard.targets.Targets`), its running average
``(1/(t+1)) sum_{s<=t} L(W_s)`` (after T epochs this is the theorem's ``(1/T) sum_t L(W_t)``),
train and test accuracy, the KL to the teacher and the *yardstick* (see below). The final
metrics are taken at ``W_T``.

The yardstick is the same for every student, whatever its targets: ``yard_loss``, the mean
logistic loss ``ln(1 + exp(-y f))`` on the training set against the training labels y, and
``test_loss``, the same on the test set. :func:`epoch_summaries` adds, from the curves and the
final values, the epoch averages (``avg_loss``, ``yard_avg_loss``) and the best values over
``t = 0..T`` including the final weights (``best_loss``, ``yard_best_loss``).
Optimisers: full-batch gradient descent (``gd``), mini-batch SGD (``sgd``) and Adam (``adam``),
each optionally projected onto ``||w_s - w_s(0)|| <= rho / sqrt(m)`` after every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from softhard import losses
from softhard.config import TrainConfig
from softhard.errors import ConfigError
from softhard.inequality import INEQUALITY_COLUMNS, linearised_logits
from softhard.models.two_layer import TwoLayerReLU
from softhard.targets import Targets

CURVE_COLUMNS = ("loss", "avg_loss", "train_acc", "test_acc", "kl", "yard_loss", "test_loss")
"""Per-epoch columns: ``loss`` is the theorem's loss (KL for soft, logistic for hard, their
mixture for mixed), ``yard_loss``/``test_loss`` the logistic yardstick on train/test."""
VAL_COLUMNS = ("val_acc", "val_loss")
"""Extra per-epoch columns when a validation set is given (accuracy and logistic loss on it)."""
EPOCH_METRICS = ("loss", "train_acc", "test_acc", "kl", "yard_loss", "test_loss")
"""What :func:`evaluate` returns at one set of weights."""


@dataclass(frozen=True)
class TrainResult:
    """Outcome of training one student.

    Attributes:
        weight: final first-layer weights ``W_T``, shape ``(m, d)``.
        curves: per-epoch arrays (length = epochs run) named by :data:`CURVE_COLUMNS`.
        final: metrics at ``W_T`` (:data:`EPOCH_METRICS`) and the summaries of
            :func:`epoch_summaries`: avg_loss (the theorem's average), best_loss,
            yard_avg_loss, yard_best_loss.
        diverged: True if the loss became NaN or infinite (training stopped there).
        reason: why training stopped early, or None.
    """

    weight: torch.Tensor
    curves: dict[str, np.ndarray]
    final: dict[str, float]
    diverged: bool = False
    reason: str | None = None
    epochs_run: int = field(default=0)


def batch_order(
    n: int, batch_size: int | None, epoch: int, shuffle_seed: int
) -> list[torch.Tensor]:
    """The mini-batches of one epoch: a permutation seeded by ``(shuffle_seed, epoch)``, cut in order.

    Shared by every student of a bank, so the engines and this loop see the same batches.
    """
    if batch_size is None or batch_size >= n:
        return [torch.arange(n)]
    gen = torch.Generator().manual_seed(int(shuffle_seed) * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=gen)
    return list(torch.split(perm, batch_size))


def evaluate(
    f_train: torch.Tensor,
    targets: Targets,
    f_test: torch.Tensor | None,
    y_test_pm: torch.Tensor | None,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, float]:
    """Loss, accuracies, KL to the teacher and the yardstick from the logits on train and test;
    with ``val`` (logits and labels on a validation set) also ``val_acc`` and ``val_loss``."""
    loss = float(targets.loss(f_train).mean())
    yard_loss = float(losses.logistic(f_train, targets.y_pm).mean())
    train_acc = float(((f_train > 0) == (targets.y_pm > 0)).double().mean())
    test_acc = test_loss = math.nan
    if f_test is not None and y_test_pm is not None and len(y_test_pm):
        test_acc = float(((f_test > 0) == (y_test_pm > 0)).double().mean())
        test_loss = float(losses.logistic(f_test, y_test_pm).mean())
    kl = math.nan
    if targets.p is not None:
        kl = float(losses.binary_kl(f_train, targets.p, targets.temperature).mean())
    out = {
        "loss": loss,
        "train_acc": train_acc,
        "test_acc": test_acc,
        "kl": kl,
        "yard_loss": yard_loss,
        "test_loss": test_loss,
    }
    if val is not None:
        f_val, y_val = val
        out["val_acc"] = float(((f_val > 0) == (y_val > 0)).double().mean())
        out["val_loss"] = float(losses.logistic(f_val, y_val).mean())
    return out


def epoch_summaries(curves: dict[str, np.ndarray], final: dict[str, float]) -> dict[str, float]:
    """Epoch averages and best values of the theorem loss and the yardstick.

    ``avg_loss``/``yard_avg_loss``: ``(1/T) sum_{t<T} L(W_t)`` over the T epochs run (NaN if
    none). ``best_loss``/``yard_best_loss``: ``min_{t<=T} L(W_t)``, the final weights ``W_T``
    included; NaN values are skipped (NaN if there is no value at all).
    """
    out = {}
    for name, column in (("", "loss"), ("yard_", "yard_loss")):
        values = np.asarray(curves[column], dtype=np.float64)
        out[f"{name}avg_loss"] = float(values.mean()) if len(values) else math.nan
        every = np.append(values, final[column])
        every = every[~np.isnan(every)]
        out[f"{name}best_loss"] = float(every.min()) if len(every) else math.nan
    return out


def train_two_layer(
    model: TwoLayerReLU,
    x: torch.Tensor,
    targets: Targets,
    cfg: TrainConfig,
    *,
    x_test: torch.Tensor | None = None,
    y_test_pm: torch.Tensor | None = None,
    x_val: torch.Tensor | None = None,
    y_val_pm: torch.Tensor | None = None,
    shuffle_seed: int = 0,
    reference: torch.Tensor | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``(x, targets)`` with the explicit gradient (docs/theory.md section 1).

    With ``x_val``/``y_val_pm`` the curves and final values also hold ``val_acc`` and
    ``val_loss`` (logistic) on that validation set (:data:`VAL_COLUMNS`).

    ``reference``: a point U (shape of the weights; full-batch ``gd`` only) whose online-GD
    inequality is logged, adding the curves :data:`~softhard.inequality.INEQUALITY_COLUMNS`
    (see :mod:`softhard.inequality`). None (the default) logs nothing and costs nothing.
    """
    if not isinstance(cfg.epochs, int):
        raise ConfigError(
            f"train_two_layer needs a whole number of epochs, got train.epochs={cfg.epochs!r} "
            "('auto' is resolved per task by softhard.studies.two_layer.task_horizon)"
        )
    weight = model.weight
    step = _stepper(cfg, weight)
    columns = CURVE_COLUMNS if x_val is None else (*CURVE_COLUMNS, *VAL_COLUMNS)
    rows: dict[str, list[float]] = {c: [] for c in columns}
    _start_inequality(rows, cfg, weight, reference)
    total, reason = 0.0, None

    def val() -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if x_val is None or y_val_pm is None else (model(x_val), y_val_pm)

    for epoch in range(cfg.epochs):
        f, metrics = _evaluate_model(model, x, targets, x_test, y_test_pm, val)
        if not math.isfinite(metrics["loss"]):
            reason = f"loss became {metrics['loss']} at epoch {epoch}"
            break
        total += metrics["loss"]
        metrics["avg_loss"] = total / (epoch + 1)  # running average: the curve
        for c in columns:
            rows[c].append(metrics[c])
        order = batch_order(x.shape[0], _batch_size(cfg), epoch, shuffle_seed)
        _epoch_steps(model, x, f, targets, cfg, order, step, rows, reference)
    f, final = _evaluate_model(model, x, targets, x_test, y_test_pm, val)
    epochs_run = len(rows["loss"])
    if reason is None and not math.isfinite(final["loss"]):
        reason = f"loss became {final['loss']} after epoch {epochs_run}"
    curves = {c: np.asarray(v, dtype=np.float64) for c, v in rows.items()}
    final.update(epoch_summaries(curves, final))
    return TrainResult(
        weight.detach().clone(), curves, final, reason is not None, reason, epochs_run
    )


def _evaluate_model(
    model: TwoLayerReLU,
    x: torch.Tensor,
    targets: Targets,
    x_test: torch.Tensor | None,
    y_test_pm: torch.Tensor | None,
    val: Callable[[], tuple[torch.Tensor, torch.Tensor] | None],
) -> tuple[torch.Tensor, dict[str, float]]:
    """The model's training logits and :func:`evaluate`'s metrics (no gradients)."""
    with torch.no_grad():
        f = model(x)
        f_test = model(x_test) if x_test is not None else None
        return f, evaluate(f, targets, f_test, y_test_pm, val())


def _epoch_steps(
    model: TwoLayerReLU,
    x: torch.Tensor,
    f: torch.Tensor,
    targets: Targets,
    cfg: TrainConfig,
    order: Iterable[torch.Tensor],
    step: Callable[[], None],
    rows: dict[str, list[float]],
    reference: torch.Tensor | None,
) -> None:
    """One epoch of explicit-gradient steps over the batches ``order`` (``f``: logits at its start)."""
    weight = model.weight
    for idx in order:
        xb = x[idx]
        with torch.no_grad():
            fb = f if len(idx) == x.shape[0] else model(xb)
            sub = _subset(targets, idx)
            weight.grad = model.explicit_grad(xb, sub.objective_grad(fb))
        if reference is not None:
            _log_inequality(rows, model, x, f, targets, reference)
        step()
        if cfg.rho is not None:
            model.project_(cfg.rho)


def _start_inequality(
    rows: dict[str, list[float]],
    cfg: TrainConfig,
    weight: torch.Tensor,
    reference: torch.Tensor | None,
) -> None:
    """Check the reference point and add its curves to ``rows`` (nothing when it is None)."""
    if reference is None:
        return
    rows.update({c: [] for c in INEQUALITY_COLUMNS})
    if cfg.optimizer != "gd":
        raise ConfigError(
            f"the GD inequality is logged for full-batch gd only, got train.optimizer="
            f"{cfg.optimizer!r}"
        )
    if reference.shape != weight.shape:
        raise ConfigError(
            f"reference point of shape {tuple(reference.shape)}, weights {tuple(weight.shape)}"
        )


@torch.no_grad()
def _log_inequality(
    rows: dict[str, list[float]],
    model: TwoLayerReLU,
    x: torch.Tensor,
    f: torch.Tensor,
    targets: Targets,
    reference: torch.Tensor,
) -> None:
    """L(W_t), L^(t)(U) and ||grad L(W_t)||^2 at this step (the gradient is in weight.grad)."""
    f_ref = linearised_logits(x, model.weight, model.a, reference.to(x.dtype))
    grad = model.weight.grad
    assert grad is not None
    rows["gd_objective"].append(float(targets.objective(f).mean()))
    rows["gd_reference"].append(float(targets.objective(f_ref).mean()))
    rows["gd_grad_sq"].append(float((grad * grad).sum()))


def _batch_size(cfg: TrainConfig) -> int | None:
    """Full batch for ``gd``; the configured mini-batch for ``sgd`` and ``adam``."""
    return None if cfg.optimizer == "gd" else cfg.batch_size


def _subset(targets: Targets, idx: torch.Tensor) -> Targets:
    if idx.shape[0] == targets.y_pm.shape[0]:
        return targets
    p = None if targets.p is None else targets.p[idx]
    return Targets(
        targets.y_pm[idx], p, targets.soft_weight, targets.temperature, targets.t2_scaling
    )


def _stepper(cfg: TrainConfig, weight: torch.nn.Parameter) -> Callable[[], None]:
    """One update from ``weight.grad``: ``W -= lr G`` for gd and sgd; torch's Adam for adam."""
    if cfg.optimizer in ("gd", "sgd"):

        def sgd_step() -> None:
            grad = weight.grad
            assert grad is not None, "sgd_step needs weight.grad"
            with torch.no_grad():
                weight.sub_(grad, alpha=cfg.lr)

        return sgd_step
    if cfg.optimizer == "adam":
        return torch.optim.Adam([weight], lr=cfg.lr).step
    raise ValueError(f"optimizer must be 'gd', 'sgd' or 'adam', got {cfg.optimizer!r}")
