"""Each arm at its own best learning rate and stopping epoch, chosen on validation data.

A practitioner who trains on hard labels (or on soft labels) picks the step size and the epoch
to stop at by validation accuracy, never by test accuracy. :func:`tuned_result` does exactly
that for one student trained once per rate of a grid (``tune.lrs``, one bank): for each
horizon e (a budget of e epochs) it chooses the rate and the stopping epoch ``t <= e`` whose
weights ``W_t`` have the best validation accuracy, ties broken by the lower validation
(logistic) loss, then by the earlier epoch, then by the smaller rate; the test accuracy of
those weights is what is reported. With ``early_stop=False`` the stopping epoch is ``e``
itself (only the rate is chosen).

The tuned :class:`~softhard.train.TrainResult` carries:

- ``test_acc`` (curve row e and ``final`` at the horizon T): the test accuracy of the student
  tuned within a budget of e epochs, so every horizon read from the curves is tuned there;
- ``tuned_lr`` and ``tuned_epoch`` (curve row e and ``final``): the choices at that budget;
- every other curve and final value (losses, train accuracy, validation metrics) of the rate
  chosen at the horizon T, and ``last_test_acc``, its test accuracy at ``W_T``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from softhard.train import TrainResult

TUNED_COLUMNS = ("tuned_lr", "tuned_epoch", "tuned_temperature")
"""Per-horizon choices of a tuned student (curves and final values); ``tuned_temperature`` only
where the soft arm's temperature is chosen too (``tune.temperatures``)."""
_LOSS_WEIGHT = 1e-6  # val_loss (clipped to [0, 50]) only breaks ties of val_acc (steps >= 1e-4)


def _padded(result: TrainResult, column: str, horizon: int) -> np.ndarray:
    """``column`` at epochs 0..horizon (the curve, then the final value), NaN where not run."""
    out = np.full(horizon + 1, np.nan)
    curve = np.asarray(result.curves.get(column, []), dtype=np.float64)[:horizon]
    out[: len(curve)] = curve
    if result.epochs_run >= horizon and not result.diverged:
        out[horizon] = result.final.get(column, np.nan)
    return out


def selection_keys(val_acc: np.ndarray, val_loss: np.ndarray) -> np.ndarray:
    """One number per checkpoint ordering by validation accuracy, then lower validation loss;
    ``-inf`` where either is NaN (a diverged or missing checkpoint is never chosen)."""
    key = val_acc - _LOSS_WEIGHT * np.clip(val_loss, 0.0, 50.0)
    return np.where(np.isfinite(key), key, -np.inf)


def choose(keys: np.ndarray, *, early_stop: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For keys ``(rates, horizon + 1)``: the chosen rate index and epoch at each budget e.

    With ``early_stop`` the epoch is the first ``t <= e`` where the rate's best key so far is
    reached, and the rate the one with the best such key (the first on a tie); without it the
    epoch is e.
    """
    rates, length = keys.shape
    epochs = np.broadcast_to(np.arange(length), keys.shape)
    if early_stop:
        best = np.maximum.accumulate(keys, axis=1)
        before = np.concatenate([np.full((rates, 1), -np.inf), best[:, :-1]], axis=1)
        record = keys > before
        epochs = np.maximum.accumulate(np.where(record, epochs, 0), axis=1)
        keys = best
    rate = np.argmax(keys, axis=0)
    return rate, epochs[rate, np.arange(length)]


def tuned_result(
    results: Sequence[TrainResult],
    lrs: Sequence[float],
    *,
    early_stop: bool = True,
    temperatures: Sequence[float] | None = None,
) -> TrainResult:
    """The student tuned on validation data from its runs at each rate of ``lrs`` (module
    docstring); every run needs the ``val_acc``/``val_loss`` curves (a validation set).

    With ``temperatures`` (one per run, beside its rate) the soft labels' temperature is a
    setting chosen with the rate: ``tuned_temperature`` records it. Ties go to the earlier run.
    A run whose losses turned NaN or infinite has ``-inf`` keys from there on, so a diverged
    rate is never chosen past the epoch it diverged at.
    """
    if temperatures is not None and len(temperatures) != len(results):
        raise ValueError(f"tuned_result needs one temperature per run, got {temperatures}")
    if len(results) != len(lrs) or not results:
        raise ValueError(f"tuned_result needs one result per rate, got {len(results)} for {lrs}")
    if any("val_acc" not in r.curves for r in results):
        raise ValueError("tuned_result needs validation curves: train with x_val and y_val_pm")
    horizon = max(r.epochs_run for r in results)
    keys = np.stack(
        [
            selection_keys(_padded(r, "val_acc", horizon), _padded(r, "val_loss", horizon))
            for r in results
        ]
    )
    tests = np.stack([_padded(r, "test_acc", horizon) for r in results])
    rate, epoch = choose(keys, early_stop=early_stop)
    tuned_test = tests[rate, epoch]
    tuned_lr = np.asarray(lrs, dtype=np.float64)[rate]
    # the other curves: the rate chosen at the horizon, or the best one that ran all epochs
    ran = [i for i, r in enumerate(results) if not r.diverged and r.epochs_run == horizon]
    if not ran:
        return results[0]  # every rate diverged: nothing to choose from
    base = int(rate[-1]) if int(rate[-1]) in ran else max(ran, key=lambda i: keys[i].max())
    chosen = results[base]
    curves = dict(chosen.curves)
    curves["test_acc"] = tuned_test[:horizon]
    curves["tuned_lr"], curves["tuned_epoch"] = tuned_lr[:horizon], epoch[:horizon] * 1.0
    tuned_t = None if temperatures is None else np.asarray(temperatures, dtype=np.float64)[rate]
    if tuned_t is not None:
        curves["tuned_temperature"] = tuned_t[:horizon]
    val_acc = np.stack([_padded(r, "val_acc", horizon) for r in results])[rate, epoch]
    final = dict(chosen.final)
    final["last_test_acc"] = chosen.final.get("test_acc", np.nan)
    final["test_acc"], final["tuned_val_acc"] = float(tuned_test[-1]), float(val_acc[-1])
    final["tuned_lr"], final["tuned_epoch"] = float(tuned_lr[-1]), float(epoch[-1])
    if tuned_t is not None:
        final["tuned_temperature"] = float(tuned_t[-1])
    return dataclasses.replace(chosen, curves=curves, final=final)


def tuned_row(
    result: TrainResult,
    lrs: Sequence[float],
    y_val: torch.Tensor | None,
    temperatures: Sequence[float] | None = None,
) -> dict[str, Any]:
    """A tuned student's columns of the results table: ``lr`` the rate chosen at the horizon,
    ``lr_soft``/``lr_hard`` NaN (neither is a setting), ``steps`` "tuned", the grid, the
    stopping epoch, the validation accuracy there, ``last_test_acc`` and ``n_val``.
    With a temperature grid: ``temperature_grid`` and ``tuned_temperature`` (NaN for a student
    whose targets have no temperature, the hard arm)."""
    end = result.final
    temps = (
        {}
        if temperatures is None
        else {
            "temperature_grid": ",".join(f"{v:g}" for v in temperatures),
            "tuned_temperature": end.get("tuned_temperature", math.nan),
        }
    )
    return {
        "lr": end.get("tuned_lr", math.nan),
        "lr_soft": math.nan,
        "lr_hard": math.nan,
        "steps": "tuned",
        "lr_grid": ",".join(f"{v:g}" for v in lrs),
        "tuned_epoch": end.get("tuned_epoch", math.nan),
        "tuned_val_acc": end.get("tuned_val_acc", math.nan),
        "last_test_acc": end.get("last_test_acc", math.nan),
        "n_val": 0 if y_val is None else int(y_val.shape[0]),
        **temps,
    }


def on_edge(lr: float, lrs: Sequence[float]) -> str:
    """``"top"`` or ``"bottom"`` when a chosen rate is the grid's largest or smallest (the
    grid may censor it: the best rate may lie beyond), else ``""`` (interior, or a one-rate
    grid, or NaN)."""
    if len(lrs) < 2 or not math.isfinite(lr):
        return ""
    if math.isclose(lr, max(lrs)):
        return "top"
    return "bottom" if math.isclose(lr, min(lrs)) else ""


__all__ = ["TUNED_COLUMNS", "choose", "on_edge", "selection_keys", "tuned_result", "tuned_row"]
