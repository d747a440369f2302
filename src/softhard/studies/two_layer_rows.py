"""Two-layer result tables: one tidy row and one curve frame per student, the summary, panel titles.

Used by :mod:`softhard.studies.two_layer` (which re-exports the public names).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from softhard.config import ExperimentConfig
from softhard.horizon import Horizon
from softhard.ntk.separability import certified_gamma, margin_info, margin_row
from softhard.replication import unit_summary
from softhard.report.rundir import environment
from softhard.student import Student
from softhard.studies.two_layer_task import PreparedTask
from softhard.train import CURVE_COLUMNS, VAL_COLUMNS, TrainResult
from softhard.tuning import TUNED_COLUMNS, tuned_row


def result_row(
    task: PreparedTask,
    student: Student,
    result: TrainResult,
    cfg: ExperimentConfig,
    horizon: Horizon | None = None,
) -> dict[str, Any]:
    """One tidy row: the task's settings, the student's, its final metrics and the versions.

    Theorem loss (KL for soft, logistic for hard, their mixture for mixed): ``final_loss`` at
    ``W_T``, ``avg_loss`` over epochs ``t < T``, ``best_loss`` over ``t <= T``. Yardstick, the
    same for every label mode (logistic loss against the training labels y):
    ``yard_final_loss``, ``yard_avg_loss``, ``yard_best_loss``, ``train_error`` (0-1 error
    against y at ``W_T``) and ``test_loss`` (logistic on the test set at ``W_T``).
    ``epochs`` is the horizon T used (``horizon.epochs``; else ``cfg.train.epochs``) and
    ``epochs_auto`` whether it was chosen by ``train.epochs: auto``.
    """
    return {
        **_task_columns(task),
        **_outcome_columns(student, result, cfg, horizon),
        **_context_columns(task, student, cfg),
        **({} if cfg.tune is None else _tuned_columns(result, cfg, task)),
    }


def _tuned_columns(
    result: TrainResult, cfg: ExperimentConfig, task: PreparedTask
) -> dict[str, Any]:
    assert cfg.tune is not None
    return tuned_row(result, cfg.tune.lrs, task.y_val_pm, cfg.tune.temperatures)


def _task_columns(task: PreparedTask) -> dict[str, Any]:
    """The task's settings and its margin (gamma NaN unless separable, with gap and stop reason)."""
    return {
        "task": task.name,
        "task_index": task.index,
        "source": task.config.source,
        "task_spec": task.config.task,
        "noise": task.config.noise,
        "flip": task.config.flip,
        "mix": task.config.mix,
        **margin_row(task.margin),
    }


def _outcome_columns(
    student: Student, result: TrainResult, cfg: ExperimentConfig, horizon: Horizon | None
) -> dict[str, Any]:
    """The student's settings, its horizon and its final metrics."""
    return {
        "width": student.width,
        "seed": student.seed,
        "label_mode": student.label_mode,
        "temperature": student.temperature,
        "soft_weight": student.soft_weight,
        "optimizer": cfg.train.optimizer,
        "lr": cfg.train.student_lr(student.label_mode, student.temperature),
        "epochs": horizon.epochs if horizon else cfg.train.epochs,
        "epochs_auto": bool(horizon and horizon.auto),
        "epochs_run": result.epochs_run,
        "final_loss": result.final["loss"],
        "avg_loss": result.final["avg_loss"],
        "best_loss": result.final["best_loss"],
        "train_acc": result.final["train_acc"],
        "test_acc": result.final["test_acc"],
        "kl_to_teacher": result.final["kl"],
        "yard_final_loss": result.final["yard_loss"],
        "yard_avg_loss": result.final["yard_avg_loss"],
        "yard_best_loss": result.final["yard_best_loss"],
        "train_error": 1.0 - result.final["train_acc"],
        "test_loss": result.final["test_loss"],
        "diverged": result.diverged,
        "reason": result.reason or "",
    }


def _context_columns(task: PreparedTask, student: Student, cfg: ExperimentConfig) -> dict[str, Any]:
    """Sizes, versions, and the settings paired regimes compare (data seed, both arms)."""
    env = environment()
    return {
        "n_train": int(task.y_pm.shape[0]),
        "n_test": task.dataset.n_test,
        "dim": task.dataset.dim,
        "teacher_test_acc": task.teacher.info.get("test_acc", math.nan),
        "softhard_version": env["softhard"],
        "torch_version": env["torch"],
        "git_revision": env["git_revision"] or "",
        # paired regimes (softhard.studies.regimes.compare): data seed and the settings of both arms
        "data_seed": task.config.seed,
        "max_train": task.config.max_train,
        "student_max_train": task.config.student_max_train,
        "n_train_teacher": task.n_train_teacher or task.dataset.n_train,
        # the configured teacher: epochs only where they are a setting (a network teacher with
        # stop.rule 'epochs'); what the stop rule chose is the outcome teacher_epochs_used
        "teacher_stop_rule": _teacher_rule(cfg),
        "teacher_epochs": _teacher_epochs(cfg),
        "teacher_epochs_used": task.teacher.info.get("epochs_used", math.nan),
        "batch_size": cfg.train.batch_size,
        "t2_scaling": cfg.train.t2_scaling,
        "lr_soft": cfg.train.student_lr("soft", student.temperature),
        "lr_hard": cfg.train.student_lr("hard", student.temperature),
    }


def _teacher_rule(cfg: ExperimentConfig) -> str:
    """The teacher's stop rule as a setting (the kind for kernel and logits teachers: no rule)."""
    return cfg.teacher.stop.rule if cfg.teacher.kind == "network" else cfg.teacher.kind


def _teacher_epochs(cfg: ExperimentConfig) -> int | None:
    """``teacher.epochs`` where it is used (network teacher, stop rule 'epochs'), else None."""
    if cfg.teacher.kind == "network" and cfg.teacher.stop.rule == "epochs":
        return cfg.teacher.epochs
    return None


def curves_frame(task: PreparedTask, student: Student, result: TrainResult) -> pd.DataFrame:
    """Per-epoch curves of one student as a tidy frame."""
    columns = [c for c in (*CURVE_COLUMNS, *VAL_COLUMNS, *TUNED_COLUMNS) if c in result.curves]
    frame: pd.DataFrame = pd.DataFrame({c: result.curves[c] for c in columns})
    frame.insert(0, "epoch", range(len(frame)))
    for key, value in (
        ("label_mode", student.label_mode),
        ("seed", student.seed),
        ("width", student.width),
        ("task", task.name),
    ):
        frame.insert(0, key, value)
    frame["task_index"] = task.index
    frame["data_seed"] = task.config.seed
    return frame


def _task_titles(
    tasks: list[PreparedTask], horizons: list[Horizon], weak: dict[str, Any]
) -> dict[str, str]:
    """One panel title per task name: gamma (its mean, and its range over the task's data seeds
    where there are several, as in :mod:`softhard.replication`) and the horizon (epochs)."""
    by_name: dict[str, list[tuple[PreparedTask, Horizon]]] = {}
    for task, horizon in zip(tasks, horizons, strict=True):
        by_name.setdefault(task.name, []).append((task, horizon))
    return {name: _task_title(name, group, weak.get(name)) for name, group in by_name.items()}


def _task_title(
    name: str, group: list[tuple[PreparedTask, Horizon]], weak: dict[str, Any] | None
) -> str:
    margins = [t.margin for t, _ in group if t.margin is not None]
    apart = [m for m in margins if not m.separable]
    gammas = [certified_gamma(m) for m in margins if m not in apart]
    title = name
    if apart:
        statuses = sorted({m.status.replace("_", " ") for m in apart})
        title += f"\n(gamma: {', '.join(statuses)} on {len(margins) - len(gammas)} data seeds)"
    elif len(gammas) == 1:
        title += f"\n(gamma = {gammas[0]:.4f})"
    elif gammas:
        title += (
            f"\n(gamma = {np.mean(gammas):.4f}, {min(gammas):.4f}..{max(gammas):.4f}"
            f" over {len(gammas)} data seeds)"
        )
    epochs = sorted({h.epochs for _, h in group})
    auto = any(h.auto for _, h in group)
    capped = any(h.auto and not h.converged for _, h in group)
    title += (
        "\nhorizon "
        + (str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}..{epochs[-1]}")
        + " epochs"
    )
    title += "" if not auto else " (auto, hit cap)" if capped else " (auto)"
    if weak:  # said once, in the figure's red suptitle (which lists the weak tasks)
        title += "\n(weak teacher: see title)"
    return title


def _margin_info(task: PreparedTask) -> dict[str, Any] | None:
    return None if task.margin is None else margin_info(task.margin)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over the units of replication per task x width x label mode: test accuracy, the
    epoch-averaged theorem loss (``avg_loss``: KL for soft, logistic for hard) and the
    epoch-averaged yardstick (``yard_avg_loss``: logistic loss against the true training labels,
    every mode). The units are those of :mod:`softhard.replication` (data seeds, each the mean of
    its student seeds; the student seeds where there is one data seed). Tasks keep run order."""
    keys = ["task", "width", "label_mode"]
    metrics = [m for m in ("test_acc", "avg_loss", "yard_avg_loss") if m in table]
    agg = unit_summary(table, keys, metrics)[[*keys, *metrics]]
    wide = agg.pivot_table(index=["task", "width"], columns="label_mode", values=metrics)
    order = {m: i for i, m in enumerate(metrics)}
    wide = wide[sorted(wide.columns, key=lambda c: (order[c[0]], c[1] != "soft", c[1]))]
    wide.columns = [f"{metric}_{mode}" for metric, mode in wide.columns]
    first = table.groupby("task", sort=False)["task_index"].min()
    summary = wide.reset_index()
    summary = summary.iloc[np.lexsort((summary["width"], summary["task"].map(first)))]
    out: pd.DataFrame = summary.reset_index(drop=True)
    return out
