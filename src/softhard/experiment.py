"""Two-layer soft-vs-hard experiments: prepare each difficulty level, train every student, tabulate.

The unit of work is a *student*: one task (dataset + difficulty), width, seed and label mode.
:func:`prepare_task` loads the data, builds the teacher and (optionally) estimates the NTK
margin gamma; :func:`train_students` trains a list of students of one task with the configured
engine (``bank``: all at once, :mod:`softhard.engine`; ``loop``: one at a time with the
reference trainer); :func:`run_experiment` does both for a whole config and writes a run folder.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from softhard.config import DataConfig, ExperimentConfig, LabelMode, TeacherConfig
from softhard.data import Dataset, load_dataset, student_subset
from softhard.device import resolve_device
from softhard.errors import ConfigError
from softhard.horizon import Horizon, choose_epochs, mean_curve
from softhard.models.two_layer import TwoLayerReLU
from softhard.targets import make_targets
from softhard.teacher import TeacherOutput, network_teacher, weak_teacher_text, weak_teachers
from softhard.train import CURVE_COLUMNS, TrainResult, train_two_layer


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
    """

    index: int
    config: DataConfig
    dataset: Dataset
    x: torch.Tensor
    x_test: torch.Tensor
    y_pm: torch.Tensor
    y_test_pm: torch.Tensor
    teacher: TeacherOutput
    margin: Any = None
    n_train_teacher: int | None = None

    @property
    def name(self) -> str:
        return self.config.display


@dataclass(frozen=True)
class StudentJob:
    """One student of a task: width, seed and label mode (with temperature and kd_weight)."""

    width: int
    seed: int
    label_mode: LabelMode
    temperature: float = 1.0
    kd_weight: float = 0.5


@dataclass(frozen=True)
class ExperimentResult:
    """What :func:`run_experiment` produced: the run folder and its tables.

    ``horizons``: the T of each task (see :class:`~softhard.horizon.Horizon`); ``weak_teachers``:
    the tasks whose teacher tests below the best hard-label student (see
    :func:`softhard.teacher.weak_teachers`).
    """

    path: Path | None
    results: pd.DataFrame
    curves: pd.DataFrame
    horizons: list[Horizon] = field(default_factory=list)
    weak_teachers: list[dict[str, Any]] = field(default_factory=list)


def prepare_task(
    task: DataConfig,
    teacher: TeacherConfig,
    *,
    index: int = 0,
    margin: bool = True,
    cache: Path | None = None,
) -> PreparedTask:
    """Load a task, build its teacher and estimate its margin gamma (if ``margin``).

    The teacher trains on the whole training split (never on the test split); with
    ``task.student_max_train`` the student's inputs, labels and soft labels are then restricted
    to a seeded nested subset (:func:`softhard.data.student_subset`), whose margin is reported.
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
    estimate = None
    keep = student_subset(task, dataset.y_train.numpy())
    subset = len(keep) < x.shape[0]  # the student sees a subset: its margin is estimated below
    if (margin and not subset) or teacher.kind == "kernel":
        from softhard.ntk import cached_margin

        estimate = cached_margin(
            x, y_pm, num_directions=teacher.num_directions, seed=teacher.seed, cache=cache
        )
    if teacher.kind == "kernel":
        output = _kernel_teacher(teacher, estimate, x, y_pm, x_test, y_test_pm)
    else:
        output = network_teacher(
            teacher, x, y_pm, x_test, y_test_pm, data_fingerprint=dataset.fingerprint(), cache=cache
        )
    n_teacher = int(x.shape[0])
    if subset:
        idx = torch.from_numpy(keep)
        x, y_pm = x[idx], y_pm[idx]
        output = TeacherOutput(output.train_logits[idx], output.test_logits, output.info)
        if margin:
            from softhard.ntk import cached_margin

            estimate = cached_margin(
                x, y_pm, num_directions=teacher.num_directions, seed=teacher.seed, cache=cache
            )
    return PreparedTask(
        index, task, dataset, x, x_test, y_pm, y_test_pm, output, estimate, n_teacher
    )


def _kernel_teacher(
    cfg: TeacherConfig,
    estimate: Any,
    x: torch.Tensor,
    y_pm: torch.Tensor,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
) -> TeacherOutput:
    """The kernel-limit teacher of docs/theory.md section 3 from the task's margin solution."""
    from softhard.ntk import KernelTeacher

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
    jobs: Sequence[StudentJob],
    cfg: ExperimentConfig,
    *,
    epochs: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[TrainResult]:
    """Train ``jobs`` on ``task`` with ``cfg.engine``; results in the order of ``jobs``.

    ``epochs``: the horizon T (default ``cfg.train.epochs``, which must then be a number:
    ``'auto'`` is resolved per task by :func:`task_horizon`).
    """
    epochs = cfg.train.epochs if epochs is None else epochs
    if not isinstance(epochs, int):
        raise ConfigError(
            "train.epochs='auto' is resolved per task by run_experiment "
            "(softhard.experiment.task_horizon); "
            "give train_students a number of epochs, or set train.epochs to a whole number"
        )
    train_cfg = cfg.train.model_copy(update={"epochs": epochs})
    dtype = getattr(torch, cfg.dtype)
    device = resolve_device(cfg.device)
    targets = [
        make_targets(
            j.label_mode,
            task.y_pm,
            task.teacher.train_logits,
            temperature=j.temperature,
            kd_weight=j.kd_weight,
            t2_scaling=cfg.train.t2_scaling,
        ).to(dtype, device)
        for j in jobs
    ]
    x, x_test = task.x.to(device, dtype), task.x_test.to(device, dtype)
    y_test = task.y_test_pm.to(device, dtype)
    if cfg.engine == "bank" and cfg.train.optimizer != "adam":
        from softhard.engine import StudentSpec, train_bank

        specs = [
            StudentSpec(
                j.width,
                j.seed,
                t,
                init=cfg.student.init,
                signs=cfg.student.signs,
                lr=cfg.train.student_lr(j.label_mode, j.temperature),
            )
            for j, t in zip(jobs, targets, strict=True)
        ]
        results = train_bank(
            x, specs, train_cfg, x_test=x_test, y_test_pm=y_test, device=device, dtype=dtype
        )
        if on_done:
            on_done(len(jobs))
        return results
    results = []
    for job, tgt in zip(jobs, targets, strict=True):
        model = TwoLayerReLU(
            x.shape[1],
            job.width,
            seed=job.seed,
            init=cfg.student.init,
            signs=cfg.student.signs,
            dtype=dtype,
        ).to(device)
        job_cfg = train_cfg.model_copy(
            update={"lr": cfg.train.student_lr(job.label_mode, job.temperature)}
        )
        results.append(train_two_layer(model, x, tgt, job_cfg, x_test=x_test, y_test_pm=y_test))
        if on_done:
            on_done(1)
    return results


def task_horizon(task: PreparedTask, jobs: Sequence[StudentJob], cfg: ExperimentConfig) -> Horizon:
    """The horizon T for ``task``: ``cfg.train.epochs``, or chosen by ``train.epochs: auto``.

    Auto trains only the widest of ``jobs`` (every seed and label mode) at each T tried and
    compares their seed-mean epoch-averaged loss at T and T/2 (:func:`softhard.horizon.choose_epochs`).
    """
    if cfg.train.epochs != "auto":
        return Horizon(int(cfg.train.epochs))
    widest = max(j.width for j in jobs)
    probe = [j for j in jobs if j.width == widest]

    def avg_curves(epochs: int) -> dict[str, Any]:
        results = train_students(task, probe, cfg, epochs=epochs)
        modes: dict[str, list] = {}
        for job, res in zip(probe, results, strict=True):
            modes.setdefault(job.label_mode, []).append(res.curves["avg_loss"])
        return {mode: mean_curve(curves, epochs) for mode, curves in modes.items()}

    return choose_epochs(avg_curves, cfg.train.auto)


def jobs_for(cfg: ExperimentConfig) -> list[StudentJob]:
    """Every width x seed x label mode of the config, in a stable order."""
    return [
        StudentJob(w, s, mode, cfg.temperature, cfg.kd_weight)
        for mode in cfg.label_modes
        for w in cfg.widths
        for s in cfg.seeds
    ]


def result_row(
    task: PreparedTask,
    job: StudentJob,
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
    from softhard.report.rundir import environment

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
        "gamma": getattr(margin, "gamma", math.nan),
        "gamma_stderr": getattr(margin, "stderr", math.nan),
        "width": job.width,
        "seed": job.seed,
        "label_mode": job.label_mode,
        "temperature": job.temperature,
        "kd_weight": {"hard": 0.0, "soft": 1.0}.get(job.label_mode, job.kd_weight),
        "optimizer": cfg.train.optimizer,
        "lr": cfg.train.student_lr(job.label_mode, job.temperature),
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
        # paired regimes (softhard.studies.regimes): data seed and the settings of both arms
        "data_seed": task.config.seed,
        "max_train": task.config.max_train,
        "student_max_train": task.config.student_max_train,
        "n_train_teacher": task.n_train_teacher or task.dataset.n_train,
        "teacher_epochs": cfg.teacher.epochs,
        "batch_size": cfg.train.batch_size,
        "t2_scaling": cfg.train.t2_scaling,
        "lr_soft": cfg.train.student_lr("soft", job.temperature),
        "lr_hard": cfg.train.student_lr("hard", job.temperature),
    }


def curves_frame(task: PreparedTask, job: StudentJob, result: TrainResult) -> pd.DataFrame:
    """Per-epoch curves of one student as a tidy frame."""
    frame = pd.DataFrame({c: result.curves[c] for c in CURVE_COLUMNS})
    frame.insert(0, "epoch", range(len(frame)))
    for key, value in (
        ("label_mode", job.label_mode),
        ("seed", job.seed),
        ("width", job.width),
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
    import time

    from softhard.report.progress import student_progress
    from softhard.resources import check_experiment

    start = time.perf_counter()
    check_experiment(cfg)  # refuse a config that cannot fit in memory before any work
    tasks = [
        prepare_task(t, cfg.teacher, index=i, margin=cfg.margin, cache=cache)
        for i, t in enumerate(cfg.task_list())
    ]
    jobs = jobs_for(cfg)
    rows, curves, horizons = [], [], []
    with student_progress(len(tasks) * len(jobs), enabled=progress) as advance:
        for task in tasks:
            horizon = task_horizon(task, jobs, cfg)
            horizons.append(horizon)
            results = train_students(task, jobs, cfg, epochs=horizon.epochs, on_done=advance)
            for job, result in zip(jobs, results, strict=True):
                rows.append(result_row(task, job, result, cfg, horizon))
                curves.append(curves_frame(task, job, result))
    table = pd.DataFrame(rows)
    curve_table = pd.concat(curves, ignore_index=True)
    result = ExperimentResult(None, table, curve_table, horizons, weak_teachers(table))
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
    from softhard.report import (
        plot_width_sweep,
        run_folder,
        write_config,
        write_manifest,
        write_table,
    )
    from softhard.report.rundir import new_run_name

    name = new_run_name(cfg.name, cfg.digest())
    with run_folder(out_dir, name) as folder:
        write_config(folder, cfg)
        write_table(folder, "results", result.results)
        write_table(folder, "curves", result.curves, csv=False)
        weak = {w["task"]: w for w in result.weak_teachers}
        titles = {
            t.name: _task_title(t, h, weak.get(t.name))
            for t, h in zip(tasks, result.horizons, strict=True)
        }
        plot_width_sweep(
            result.results,
            folder / "soft_vs_hard.png",
            metrics=("test_acc", "avg_loss", "yard_avg_loss"),
            title=cfg.name
            + "".join(f"\n{w['task']}: {weak_teacher_text(w)}" for w in result.weak_teachers),
            task_titles=titles,
        )
        write_manifest(
            folder,
            config_digest=cfg.digest(),
            seeds=cfg.seeds,
            teacher_seed=cfg.teacher.seed,
            data_seeds=[t.config.seed for t in tasks],
            device=str(resolve_device(cfg.device)),
            dtype=cfg.dtype,
            engine=cfg.engine,
            threads=torch.get_num_threads(),
            seconds=round(seconds, 2),
            teachers=[t.teacher.info for t in tasks],
            margins=[_margin_info(t) for t in tasks],
            horizons=[
                {"task": t.name, **h.info()} for t, h in zip(tasks, result.horizons, strict=True)
            ],
            weak_teachers=result.weak_teachers,
        )
    return folder.with_name(name)


def _task_title(task: PreparedTask, horizon: Horizon, weak: dict[str, Any] | None) -> str:
    gamma = getattr(task.margin, "gamma", None)
    title = task.name if gamma is None else f"{task.name}\n(gamma = {gamma:.4f})"
    title += f"\nT = {horizon.epochs}" + (
        "" if not horizon.auto else " (auto)" if horizon.converged else " (auto, hit cap)"
    )
    if weak:  # said once, in the figure's red suptitle (which lists the weak tasks)
        title += "\n(weak teacher: see title)"
    return title


def _margin_info(task: PreparedTask) -> dict[str, Any] | None:
    m = task.margin
    if m is None:
        return None
    return {k: getattr(m, k) for k in ("gamma", "lower", "upper", "stderr") if hasattr(m, k)}


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per task x width x label mode: test accuracy, the epoch-averaged theorem
    loss (``avg_loss``: KL for soft, logistic for hard) and the epoch-averaged yardstick
    (``yard_avg_loss``: logistic loss against the true training labels, every mode)."""
    keys = ["task_index", "task", "width", "label_mode"]
    metrics = [m for m in ("test_acc", "avg_loss", "yard_avg_loss") if m in table]
    agg = table.groupby(keys, sort=True)[metrics].mean().reset_index()
    wide = agg.pivot_table(
        index=["task_index", "task", "width"], columns="label_mode", values=metrics
    )
    order = {m: i for i, m in enumerate(metrics)}
    wide = wide[sorted(wide.columns, key=lambda c: (order[c[0]], c[1] != "soft", c[1]))]
    wide.columns = [f"{metric}_{mode}" for metric, mode in wide.columns]
    return wide.reset_index().drop(columns="task_index")
