"""Two-layer soft-vs-hard experiments: prepare each difficulty level, train every student, tabulate.

The unit of work is a :class:`~softhard.student.Student` (width, seed, label mode, temperature,
kd_weight) on one task (dataset + difficulty).
:func:`prepare_task` (:mod:`softhard.studies.two_layer_task`) loads the data, builds the teacher
and (optionally) estimates the NTK margin gamma; :func:`train_students` trains a list of students
of one task with the configured engine (``bank``: all at once, :mod:`softhard.engine`; ``loop``:
one at a time with the reference trainer); :func:`run_experiment` does both for a whole config
and writes a run folder. Rows, curves and the summary live in
:mod:`softhard.studies.two_layer_rows`; both modules' public names are re-exported here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from softhard.config import ExperimentConfig, TrainConfig
from softhard.device import resolve_device
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError
from softhard.horizon import Horizon, choose_epochs, mean_curve
from softhard.models.two_layer import TwoLayerReLU
from softhard.progress import student_progress
from softhard.report import plot_width_sweep, write_run
from softhard.resources import check_experiment
from softhard.student import Student
from softhard.studies.two_layer_rows import (
    _margin_info,
    _task_titles,
    curves_frame,
    result_row,
    summarize,
)
from softhard.studies.two_layer_task import PreparedTask, prepare_task
from softhard.targets import Targets, make_targets
from softhard.teachers.weak import task_predictions, teacher_checks, weak_teacher_text
from softhard.train import TrainResult, train_two_layer
from softhard.tuning import tuned_result

__all__ = [
    "ExperimentResult",
    "PreparedTask",
    "checkpoints",
    "curves_frame",
    "prepare_task",
    "result_row",
    "run_experiment",
    "summarize",
    "task_horizon",
    "train_students",
]


@dataclass(frozen=True)
class ExperimentResult:
    """What :func:`run_experiment` produced: the run folder and its tables.

    ``horizons``: the T of each task (see :class:`~softhard.horizon.Horizon`);
    ``teacher_checks``: per task and data seed, the teacher against the best hard-label student
    on test data (exact McNemar, :mod:`softhard.teachers.weak`); ``weak_teachers``: those
    significantly worse.
    """

    path: Path | None
    results: pd.DataFrame
    curves: pd.DataFrame
    horizons: list[Horizon] = field(default_factory=list)
    weak_teachers: list[dict[str, Any]] = field(default_factory=list)
    teacher_checks: list[dict[str, Any]] = field(default_factory=list)


def train_students(
    task: PreparedTask,
    students: Sequence[Student],
    cfg: ExperimentConfig,
    *,
    epochs: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[TrainResult]:
    """Train ``students`` on ``task`` with ``cfg.engine``; results in the order of ``students``.

    ``epochs``: the horizon T (default ``cfg.train.epochs``, which must then be a number:
    ``'auto'`` is resolved per task by :func:`task_horizon`). With ``cfg.tune`` every student
    trains at each rate of ``tune.lrs`` (one bank) and comes back tuned on the task's
    validation split (:func:`softhard.tuning.tuned_result`).
    """
    horizon = cfg.train.epochs if epochs is None else epochs
    if not isinstance(horizon, int):
        raise ConfigError(
            "train.epochs='auto' is resolved per task by run_experiment "
            "(softhard.studies.two_layer.task_horizon); "
            "give train_students a number of epochs, or set train.epochs to a whole number"
        )
    if cfg.tune is not None and task.x_val is None:
        raise ConfigError(
            "tune needs the students' validation split: prepare the task with "
            "prepare_task(..., val_fraction=cfg.val_fraction())"
        )
    train_cfg = cfg.train.model_copy(update={"epochs": horizon})
    grids = [_student_grid(st, cfg) for st in students]
    runs = [run for grid in grids for run in grid]
    ends = {int(i) for i in np.cumsum([len(g) for g in grids]) - 1}
    results = _train_runs(task, runs, cfg, train_cfg, on_done, ends)
    if cfg.tune is None:
        return results
    out, start = [], 0
    for grid in grids:
        part, start = results[start : start + len(grid)], start + len(grid)
        has_t = cfg.tune.temperatures and grid[0][0].label_mode != "hard"
        temps = [st.temperature for st, _ in grid] if has_t else None
        lrs = [lr for _, lr in grid]
        out.append(tuned_result(part, lrs, early_stop=cfg.tune.early_stop, temperatures=temps))
    return out


def _student_grid(student: Student, cfg: ExperimentConfig) -> list[tuple[Student, float]]:
    """The runs ``(student, learning rate)`` behind one student: its one rate, or with
    ``cfg.tune`` every rate of ``tune.lrs`` (and, for a student whose targets have a
    temperature, every temperature of ``tune.temperatures``, temperature major)."""
    if cfg.tune is None:
        return [(student, cfg.train.student_lr(student.label_mode, student.temperature))]
    temps = cfg.tune.temperatures
    if not temps or student.label_mode == "hard":
        temps = [student.temperature]
    return [(dataclasses.replace(student, temperature=t), lr) for t in temps for lr in cfg.tune.lrs]


def _train_runs(
    task: PreparedTask,
    runs: Sequence[tuple[Student, float]],
    cfg: ExperimentConfig,
    train_cfg: TrainConfig,
    on_done: Callable[[int], None] | None,
    ends: set[int] | None = None,
) -> list[TrainResult]:
    """Each ``(student, learning rate)`` trained on ``task`` (one bank, or the reference loop);
    ``ends``: the indices of each student's last run (``on_done`` counts students; default:
    one run per student)."""
    ends = set(range(len(runs))) if ends is None else ends
    dtype = getattr(torch, cfg.dtype)
    device = resolve_device(cfg.device)
    targets = _run_targets(task, runs, cfg, dtype, device)
    x, x_test = task.x.to(device, dtype), task.x_test.to(device, dtype)
    y_test = task.y_test_pm.to(device, dtype)
    x_val, y_val = (None if t is None else t.to(device, dtype) for t in (task.x_val, task.y_val_pm))
    init, signs = cfg.student.init, cfg.student.signs
    if cfg.engine == "bank" and cfg.train.optimizer != "adam":
        specs = [BankEntry(st, targets[st], init=init, signs=signs, lr=lr) for st, lr in runs]
        results = train_bank(
            x,
            specs,
            train_cfg,
            x_test=x_test,
            y_test_pm=y_test,
            x_val=x_val,
            y_val_pm=y_val,
            device=device,
            dtype=dtype,
        )
        if on_done:
            on_done(len(ends))
        return results
    out = []
    for i, (student, lr) in enumerate(runs):
        model = TwoLayerReLU(
            x.shape[1], student.width, seed=student.seed, init=init, signs=signs, dtype=dtype
        ).to(device)
        one_cfg = train_cfg.model_copy(update={"lr": lr})
        out.append(
            train_two_layer(
                model,
                x,
                targets[student],
                one_cfg,
                x_test=x_test,
                y_test_pm=y_test,
                x_val=x_val,
                y_val_pm=y_val,
            )
        )
        if on_done and i in ends:
            on_done(1)
    return out


def _run_targets(
    task: PreparedTask,
    runs: Sequence[tuple[Student, float]],
    cfg: ExperimentConfig,
    dtype: torch.dtype,
    device: torch.device,
) -> dict[Student, Targets]:
    """The training targets of each distinct student of ``runs`` (on ``device``, in ``dtype``)."""
    return {
        st: make_targets(
            st.label_mode,
            task.y_pm,
            task.teacher.train_logits,
            temperature=st.temperature,
            kd_weight=st.kd_weight,
            t2_scaling=cfg.train.t2_scaling,
        ).to(dtype, device)
        for st in dict.fromkeys(st for st, _ in runs)
    }


def checkpoints(
    task: PreparedTask,
    students: Sequence[Student],
    results: Sequence[TrainResult],
    cfg: ExperimentConfig,
) -> list[TrainResult]:
    """``results`` with each tuned hard-label student's weights at its chosen (early-stopped)
    epoch, the weights its reported test accuracy comes from (the weak-teacher check compares
    their per-example predictions with the teacher's). A tuned result holds the weights at the
    horizon of its chosen rate; full-batch GD is deterministic, so the student is trained again
    at that rate for ``tuned_epoch`` epochs (one bank per distinct epoch). Others unchanged."""
    out = list(results)
    if cfg.tune is None:
        return out
    todo: dict[int, list[int]] = {}
    for i, (st, res) in enumerate(zip(students, results, strict=True)):
        epoch = int(res.final.get("tuned_epoch", res.epochs_run))
        if st.label_mode == "hard" and not res.diverged and epoch < res.epochs_run:
            todo.setdefault(epoch, []).append(i)
    for epoch, idx in todo.items():
        runs = [(students[i], float(results[i].final["tuned_lr"])) for i in idx]
        if epoch == 0:  # the seeded start
            starts = [_start_weight(task, st, cfg) for st, _ in runs]
        else:
            train_cfg = cfg.train.model_copy(update={"epochs": epoch})
            starts = [r.weight for r in _train_runs(task, runs, cfg, train_cfg, None)]
        for i, weight in zip(idx, starts, strict=True):
            out[i] = dataclasses.replace(results[i], weight=weight)
    return out


def _start_weight(task: PreparedTask, student: Student, cfg: ExperimentConfig) -> torch.Tensor:
    model = TwoLayerReLU(
        task.x.shape[1],
        student.width,
        seed=student.seed,
        init=cfg.student.init,
        signs=cfg.student.signs,
        dtype=getattr(torch, cfg.dtype),
    )
    return model.weight.detach().clone()


def task_horizon(task: PreparedTask, students: Sequence[Student], cfg: ExperimentConfig) -> Horizon:
    """The horizon T for ``task``: ``cfg.train.epochs``, or chosen by ``train.epochs: auto``.

    Auto trains only the widest of ``students`` (every seed and label mode) at each T tried and
    compares their seed-mean epoch-averaged loss at T and T/2 (:func:`softhard.horizon.choose_epochs`).
    """
    if cfg.train.epochs != "auto":
        return Horizon(int(cfg.train.epochs))
    widest = max(st.width for st in students)
    probe = [st for st in students if st.width == widest]

    def avg_curves(epochs: int) -> dict[str, Any]:
        results = train_students(task, probe, cfg, epochs=epochs)
        modes: dict[str, list[np.ndarray]] = {}
        for student, res in zip(probe, results, strict=True):
            modes.setdefault(student.label_mode, []).append(res.curves["avg_loss"])
        return {mode: mean_curve(curves, epochs) for mode, curves in modes.items()}

    return choose_epochs(avg_curves, cfg.train.auto)


def run_experiment(
    cfg: ExperimentConfig,
    *,
    out_dir: str | Path | None = None,
    write: bool = True,
    progress: bool = True,
    cache: Path | None = None,
) -> ExperimentResult:
    """Run a whole experiment; with ``write`` store it in a new folder under ``out_dir``.

    Every task is prepared (data, teacher, gamma) before the run folder is created, so bad
    input fails before anything is written; the folder is complete or absent (see
    :func:`softhard.report.run_folder`).
    """
    start = time.perf_counter()
    check_experiment(cfg)  # refuse a config that cannot fit in memory before any work
    tasks = [
        prepare_task(
            t, cfg.teacher, index=i, margin=cfg.margin, cache=cache, val_fraction=cfg.val_fraction()
        )
        for i, t in enumerate(cfg.task_list())
    ]
    students = cfg.students()
    rows, curves, horizons, preds = [], [], [], {}
    with student_progress(len(tasks) * len(students), enabled=progress) as advance:
        for task in tasks:
            horizon = task_horizon(task, students, cfg)
            horizons.append(horizon)
            results = train_students(task, students, cfg, epochs=horizon.epochs, on_done=advance)
            found = task_predictions(
                task.teacher.test_logits,
                task.x_test,
                task.y_test_pm,
                students,
                checkpoints(task, students, results, cfg),
                init=cfg.student.init,
                signs=cfg.student.signs,
            )
            if found is not None:
                preds[task.index] = found
            for student, trained in zip(students, results, strict=True):
                rows.append(result_row(task, student, trained, cfg, horizon))
                curves.append(curves_frame(task, student, trained))
    table = pd.DataFrame(rows)
    curve_table = pd.concat(curves, ignore_index=True)
    checks = teacher_checks(table, preds, cfg.teacher.weak_alpha)
    result = ExperimentResult(None, table, curve_table, horizons, [c for c in checks if c["weak"]])
    result = dataclasses.replace(result, teacher_checks=checks)
    if write:
        path = _write_run(
            cfg, tasks, result, Path(out_dir or cfg.out_dir), time.perf_counter() - start
        )
        result = dataclasses.replace(result, path=path)
    return result


def _write_run(
    cfg: ExperimentConfig,
    tasks: list[PreparedTask],
    result: ExperimentResult,
    out_dir: Path,
    seconds: float,
) -> Path:
    weak = {w["task"]: w for w in result.weak_teachers}
    titles = _task_titles(tasks, result.horizons, weak)

    def figures(folder: Path) -> None:
        plot_width_sweep(
            result.results,
            folder / "soft_vs_hard.png",
            metrics=("test_acc", "avg_loss", "yard_avg_loss"),
            title=cfg.name
            + "".join(f"\n{w['task']}: {weak_teacher_text(w)}" for w in result.weak_teachers),
            task_titles=titles,
        )

    return write_run(
        out_dir,
        cfg,
        name=cfg.name,
        tables={"results": result.results, "curves": result.curves},
        figures=figures,
        manifest={
            "seeds": cfg.seeds,
            "teacher_seed": cfg.teacher.seed,
            "data_seeds": [t.config.seed for t in tasks],
            "device": str(resolve_device(cfg.device)),
            "dtype": cfg.dtype,
            "engine": cfg.engine,
            "threads": torch.get_num_threads(),
            "seconds": round(seconds, 2),
            "teachers": [t.teacher.info for t in tasks],
            "margins": [_margin_info(t) for t in tasks],
            "horizons": [
                {"task": t.name, **h.info()} for t, h in zip(tasks, result.horizons, strict=True)
            ],
            "weak_teachers": result.weak_teachers,
            "teacher_checks": result.teacher_checks,
        },
    )
