"""Two-layer soft-vs-hard experiments: prepare each difficulty level, train every student, tabulate.

The unit of work is a :class:`~softhard.student.Student` (width, seed, label mode, temperature,
kd_weight) on one task (dataset + difficulty).
:func:`prepare_task` loads the data, builds the teacher and (optionally) estimates the NTK
margin gamma; :func:`train_students` trains a list of students of one task with the configured
engine (``bank``: all at once, :mod:`softhard.engine`; ``loop``: one at a time with the
reference trainer); :func:`run_experiment` does both for a whole config and writes a run folder.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from softhard.config import (
    DataConfig,
    ExperimentConfig,
    MarginConfig,
    TeacherConfig,
    TrainConfig,
)
from softhard.data import Dataset, load_dataset, student_subset
from softhard.device import resolve_device
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError
from softhard.horizon import Horizon, choose_epochs, mean_curve
from softhard.models.two_layer import TwoLayerReLU
from softhard.ntk import KernelTeacher, MarginEstimate, cached_margin
from softhard.ntk.separability import certified_gamma, margin_info, margin_row
from softhard.progress import student_progress
from softhard.replication import unit_summary
from softhard.report import plot_width_sweep, write_run
from softhard.report.rundir import environment
from softhard.resources import check_experiment
from softhard.student import Student
from softhard.targets import make_targets
from softhard.teachers.logits import logits_teacher_output
from softhard.teachers.two_layer import TeacherOutput, chosen_teacher, validation_split
from softhard.teachers.weak import task_predictions, teacher_checks, weak_teacher_text
from softhard.train import CURVE_COLUMNS, VAL_COLUMNS, TrainResult, train_two_layer
from softhard.tuning import TUNED_COLUMNS, tuned_result, tuned_row


@dataclass(frozen=True)
class PreparedTask:
    """One difficulty level, ready to train on: data (float64, flattened), teacher and gamma.

    Attributes:
        index: position of the task in the experiment.
        config: the dataset settings.
        dataset: the loaded dataset.
        x, x_test: inputs ``(n, d)``; y_pm, y_test_pm: labels in {-1, +1}.
        teacher: teacher logits on train and test and the teacher's description.
        margin: the NTK margin estimate of the training set (``softhard.ntk``), or None.
        n_train_teacher: examples the teacher trained on (the whole training split); ``x`` and
            ``y_pm`` hold the student's examples, a nested subset when the task sets
            ``student_max_train`` (teacher logits restricted to them).
        x_val, y_val_pm: the students' validation examples (``val_fraction``), else None.
    """

    index: int
    config: DataConfig
    dataset: Dataset
    x: torch.Tensor
    x_test: torch.Tensor
    y_pm: torch.Tensor
    y_test_pm: torch.Tensor
    teacher: TeacherOutput
    margin: MarginEstimate | None = None
    n_train_teacher: int | None = None
    x_val: torch.Tensor | None = None
    y_val_pm: torch.Tensor | None = None

    @property
    def name(self) -> str:
        return self.config.display


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


def prepare_task(
    task: DataConfig,
    teacher: TeacherConfig,
    *,
    index: int = 0,
    margin: MarginConfig | None = None,
    cache: Path | None = None,
    val_fraction: float | None = None,
) -> PreparedTask:
    """Load a task, build its teacher and estimate its NTK margin gamma (if ``margin.estimate``).

    ``margin`` (default :class:`~softhard.config.MarginConfig`): whether to estimate gamma and
    with how many directions and which seed; a kernel teacher is built from that estimate
    whatever ``margin.estimate`` says.

    The teacher trains on the whole training split (never on the test split); with
    ``task.student_max_train`` the student's inputs, labels and soft labels are then restricted
    to a seeded nested subset (:func:`softhard.data.student_subset`), whose margin is reported.
    With ``val_fraction`` (students tuned on validation data, ``ExperimentConfig.tune``) the
    teacher's seeded validation split is held out of the student's examples and kept as
    ``x_val``/``y_val_pm``.
    """
    dataset = load_dataset(task)
    if dataset.num_classes != 2:
        raise ConfigError(
            f"two-layer experiments need a binary task, but task '{task.task}' of "
            f"{task.display} has {dataset.num_classes} classes; pick two with task=a-b "
            "(e.g. digits:3-8) or a binary grouping (odd-even, low-high)."
        )
    x, x_test = (t.to(torch.float64) for t in dataset.flat())
    y_pm, y_test_pm = dataset.y_train_pm, dataset.y_test_pm
    margin = margin or MarginConfig()
    estimate: MarginEstimate | None = None
    keep = student_subset(task, dataset.y_train.numpy())
    val = None
    if val_fraction is not None:  # the teacher's split (the teacher seed picks it)
        val = validation_split(x.shape[0], val_fraction, teacher.seed)[0]
        keep = np.setdiff1d(keep, val.numpy())
    subset = len(keep) < x.shape[0]  # the student sees a subset: its margin is estimated below
    if (margin.estimate and not subset) or teacher.kind == "kernel":
        estimate = cached_margin(
            x, y_pm, num_directions=margin.num_directions, seed=margin.seed, cache=cache
        )
    if teacher.kind == "kernel":
        assert estimate is not None  # estimated above for every kernel teacher
        output = _kernel_teacher(teacher, estimate, x, y_pm, x_test, y_test_pm)
    elif teacher.kind == "logits":
        output = TeacherOutput(*logits_teacher_output(teacher, dataset))
    else:
        output = chosen_teacher(
            teacher, x, y_pm, x_test, y_test_pm, data_fingerprint=dataset.fingerprint(), cache=cache
        )
    n_teacher = int(x.shape[0])
    x_val, y_val = (None, None) if val is None else (x[val], y_pm[val])
    if subset:
        idx = torch.from_numpy(keep)
        x, y_pm = x[idx], y_pm[idx]
        output = TeacherOutput(output.train_logits[idx], output.test_logits, output.info)
        if margin.estimate:
            estimate = cached_margin(
                x, y_pm, num_directions=margin.num_directions, seed=margin.seed, cache=cache
            )
    return PreparedTask(
        index, task, dataset, x, x_test, y_pm, y_test_pm, output, estimate, n_teacher, x_val, y_val
    )


def _kernel_teacher(
    cfg: TeacherConfig,
    estimate: MarginEstimate,
    x: torch.Tensor,
    y_pm: torch.Tensor,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
) -> TeacherOutput:
    """The kernel-limit teacher of docs/theory.md section 3 from the task's margin solution."""
    teacher = KernelTeacher.from_estimate(x, y_pm, estimate, beta=cfg.beta)
    train_logits, test_logits = teacher.logits(x).cpu(), teacher.logits(x_test).cpu()
    info = {
        "kind": "kernel",
        "beta": teacher.beta,
        "num_directions": teacher.num_directions,
        "train_acc": float(((train_logits > 0) == (y_pm > 0)).double().mean()),
        "test_acc": float(((test_logits > 0) == (y_test_pm > 0)).double().mean()),
    }
    return TeacherOutput(train_logits, test_logits, info)


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
    grid = cfg.tune.lrs if cfg.tune is not None else None
    runs = [
        (st, lr)
        for st in students
        for lr in (grid or [cfg.train.student_lr(st.label_mode, st.temperature)])
    ]
    results = _train_runs(task, runs, cfg, train_cfg, on_done, len(grid or [0]))
    if cfg.tune is None or grid is None:
        return results
    k = len(grid)
    stop = cfg.tune.early_stop
    return [
        tuned_result(results[i : i + k], grid, early_stop=stop) for i in range(0, len(results), k)
    ]


def _train_runs(
    task: PreparedTask,
    runs: Sequence[tuple[Student, float]],
    cfg: ExperimentConfig,
    train_cfg: TrainConfig,
    on_done: Callable[[int], None] | None,
    per_student: int = 1,
) -> list[TrainResult]:
    """Each ``(student, learning rate)`` trained on ``task`` (one bank, or the reference loop);
    ``per_student``: consecutive runs of one student (``on_done`` counts students)."""
    dtype = getattr(torch, cfg.dtype)
    device = resolve_device(cfg.device)
    targets = {
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
            on_done(len(runs) // per_student)
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
        if on_done and (i + 1) % per_student == 0:
            on_done(1)
    return out


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
    env = environment()
    margin = task.margin
    return {
        "task": task.name,
        "task_index": task.index,
        "source": task.config.source,
        "task_spec": task.config.task,
        "noise": task.config.noise,
        "flip": task.config.flip,
        "mix": task.config.mix,
        **margin_row(margin),  # gamma NaN unless separable, with its gap and stop reason
        "width": student.width,
        "seed": student.seed,
        "label_mode": student.label_mode,
        "temperature": student.temperature,
        "kd_weight": student.soft_weight,
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
        **({} if cfg.tune is None else tuned_row(result, cfg.tune.lrs, task.y_val_pm)),
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
                results,
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
