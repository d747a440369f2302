"""Run a deep soft-vs-hard experiment: a teacher per task, students over width x seed x label mode.

For every task (a noise level): load the data (:func:`softhard.data.load_dataset`), standardise
it per channel, train the teacher on hard labels or load it from the cache, get its logits from
the verified output cache (:mod:`softhard.teachers.cache`), then train every student with
:func:`softhard.studies.deep.train.train_model`. The run folder (written atomically, see
:mod:`softhard.report.rundir`) holds ``config.yaml``, ``manifest.json``, ``results.parquet`` /
``.csv`` (one row per task x width x seed x label mode), ``summary.csv`` (means over seeds),
``curves.parquet`` (per epoch, teachers and students) and ``test_acc_vs_width.png``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.models.table import build_model, count_parameters, predict_logits
from softhard.progress import student_progress
from softhard.report.plots import plot_width_sweep
from softhard.report.rundir import write_run
from softhard.student import Student
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.train import DeepTrainResult, accuracy, standardize, train_model
from softhard.studies.deep.tune import tuned_columns, tuned_history
from softhard.targets import ClassTargets
from softhard.teachers.cache import CachedLogits, TeacherCache, teachers_dir
from softhard.teachers.two_layer import validation_split

FIGURE = "test_acc_vs_width.png"


def run_deep_experiment(
    cfg: DeepExperimentConfig, out_dir: str | Path | None = None, progress: bool = True
) -> Path:
    """Run ``cfg`` and return the completed run folder (``<out_dir>/<name>-<time>-<digest>``).

    ``out_dir`` defaults to ``cfg.out_dir``; teachers are cached in
    :func:`~softhard.teachers.cache.teachers_dir` of ``cfg.cache_dir`` (the one convention of
    every study). ``progress`` shows a rich progress bar.
    """
    out = Path(out_dir if out_dir is not None else cfg.out_dir)
    cache = TeacherCache(teachers_dir(cfg.cache_dir))
    device = resolve_device(cfg.device)
    students = len(cfg.widths) * len(cfg.seeds) * len(cfg.label_modes)
    tables = len(cfg.task_list())
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = []
    teachers: list[dict[str, Any]] = []
    start = time.perf_counter()
    with (
        deterministic_mode(cfg.deterministic),
        cpu_threads(cfg.cpu_threads),
        student_progress(tables * (1 + students), enabled=progress, label=cfg.name) as step,
    ):
        for task in cfg.task_list():
            result = _run_task(cfg, task, cache, device, step)
            rows += result["rows"]
            curves += result["curves"]
            grid += result["grid"]
            teachers.append(result["teacher"])
        threads = torch.get_num_threads()
    results = pd.DataFrame(rows)
    return write_run(
        out,
        cfg,
        name=cfg.name,
        tables={"results": results, "summary": summarize_deep(results),
                "curves": pd.DataFrame(curves),
                **({"grid_curves": pd.DataFrame(grid)} if grid else {})},
        figures=lambda folder: _plot(results, teachers, folder / FIGURE, cfg),
        manifest={
            "kind": "deep",
            "device": str(device),
            "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "amp": cfg.amp and device.type == "cuda",
            "deterministic": cfg.deterministic,
            "torch_threads": threads,
            "seeds": cfg.seeds,
            "data_seeds": [t.seed for t in cfg.task_list()],
            "tune": None if cfg.tune is None else cfg.tune.model_dump(mode="json"),
            "teachers": teachers,
            "seconds": round(time.perf_counter() - start, 2),
        },
    )  # fmt: skip


def summarize_deep(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of test accuracy, per task, width and label mode (wide table).

    Columns: ``task, noise, width, params`` then ``test_acc_<mode>`` and ``test_acc_std_<mode>``.
    """
    keys = ["task", "noise", "width", "params"]
    stats = results.groupby([*keys, "label_mode"], sort=False)["test_acc"].agg(["mean", "std"])
    wide = pd.DataFrame(stats.unstack("label_mode"))
    wide.columns = [
        f"test_acc_{mode}" if s == "mean" else f"test_acc_std_{mode}"
        for s, mode in wide.columns.to_list()
    ]
    out: pd.DataFrame = wide.reset_index()
    return out


@dataclass(frozen=True)
class DeepTask:
    """One task of the deep study, ready for students: data on the device and teacher logits.

    Attributes:
        name: the dataset's name (the ``task`` column).
        noise: the task's input noise (the ``noise`` column).
        data: ``(x_train, y_train, x_test, y_test)`` on the device, standardised; with a
            validation split ``x_train`` is the fit part (the training split minus ``val``).
        in_shape: one example's shape.
        num_classes: the number of classes.
        teacher_logits: the teacher's logits on the training inputs, on the device.
        teacher: the teacher's summary (manifest ``teachers`` entry).
        teacher_curves: the teacher's per-epoch rows (empty when it came from the cache).
        data_seed: the task's seed (split, noise, teacher): the unit of replication.
        val: ``(x_val, y_val)``, the teacher's seeded validation split (``tune``), else None.
    """

    name: str
    noise: float
    data: tuple[Tensor, Tensor, Tensor, Tensor]
    in_shape: tuple[int, ...]
    num_classes: int
    teacher_logits: Tensor
    teacher: dict[str, Any]
    teacher_curves: tuple[dict[str, Any], ...]
    data_seed: int = 0
    val: tuple[Tensor, Tensor] | None = None


def students_of(cfg: DeepExperimentConfig) -> list[Student]:
    """Every student of ``cfg``, in the order the study trains them (width, seed, label mode)."""
    return cfg.students(width_major=True)


def prepare_deep_task(
    cfg: DeepExperimentConfig, task: DataConfig, cache: TeacherCache, device: torch.device
) -> DeepTask:
    """Load ``task``, standardise it, and train (or load) its teacher and verified logits.

    With ``cfg.tune`` the training split loses a seeded validation part (``validation_split``
    with ``teacher.seed`` and ``tune.val_fraction``, the two-layer teacher's split) to both the
    teacher, chosen there on validation accuracy, and the students; standardisation statistics
    come from the remaining fit part.
    """
    ds = load_dataset(task)
    data, val = _prepare(ds, cfg, device)
    in_shape = tuple(ds.x_train.shape[1:])
    outputs, teacher_info, history = _teacher(cfg, task, ds, (data, val), in_shape, cache, device)
    base = {"task": ds.name, "noise": task.noise, "data_seed": task.seed}
    curves = tuple({**base, "role": "teacher", "width": cfg.teacher.width,
                    "seed": cfg.teacher.seed, "label_mode": "hard", **h}
                   for h in history)  # fmt: skip
    return DeepTask(ds.name, task.noise, data, in_shape, ds.num_classes,
                    outputs.train_logits.to(device), teacher_info, curves, task.seed,
                    val)  # fmt: skip


def train_deep_student(
    cfg: DeepExperimentConfig, task: DeepTask, student: Student, device: torch.device
) -> tuple[dict[str, Any], DeepTrainResult]:
    """Train one student of ``cfg.student.arch`` on ``task``: its result row and training result.

    Without ``cfg.tune`` it trains once at ``train.lr``; with it, once per rate of
    ``tune.lrs``, and the row and ``history`` are those of the student tuned on validation data
    (:mod:`softhard.studies.deep.tune`; ``grid`` keeps each rate's history).
    """
    lrs = [cfg.train.lr] if cfg.tune is None else cfg.tune.lrs
    runs = [_train_at(cfg, task, student, device, lr) for lr in lrs]
    params = count_parameters(build_model(cfg.student.arch, task.in_shape, task.num_classes,
                                          student.width, seed=student.seed))  # fmt: skip
    row = {"task": task.name, "noise": task.noise, "data_seed": task.data_seed,
           "width": student.width, "seed": student.seed, "label_mode": student.label_mode,
           **_row(runs[0], params), "arch": cfg.student.arch, "soft_weight": student.soft_weight,
           "temperature": student.temperature, "epochs": cfg.train.epochs,
           "teacher_test_acc": task.teacher["test_acc"], "steps": "fixed",
           "lr": cfg.train.lr}  # fmt: skip
    if cfg.tune is None:
        return row, runs[0]
    curve, final = tuned_history([r.history for r in runs], lrs, early_stop=cfg.tune.early_stop)
    best = runs[lrs.index(final["lr"])]
    n_val = 0 if task.val is None else int(task.val[1].shape[0])
    row.update(_row(best, params), test_acc=final["test_acc"])
    row.update(tuned_columns(final, lrs, n_val))
    res = replace(best, test_acc=final["test_acc"], history=tuple(curve),
                  grid=tuple(r.history for r in runs))  # fmt: skip
    return row, res


def _train_at(
    cfg: DeepExperimentConfig, task: DeepTask, student: Student, device: torch.device, lr: float
) -> DeepTrainResult:
    """One run of ``student`` at peak learning rate ``lr`` (validation metrics with a split)."""
    model = build_model(
        cfg.student.arch, task.in_shape, task.num_classes, student.width, seed=student.seed
    ).to(device)
    targets = ClassTargets(
        task.data[1], task.teacher_logits, student.soft_weight, student.temperature,
        cfg.train.t2_scaling,
    )  # fmt: skip
    train_cfg = cfg.train.model_copy(update={"lr": lr})
    return train_model(model, task.data, train_cfg, seed=student.seed, targets=targets,
                       amp=cfg.amp, val=task.val)  # fmt: skip


def _run_task(
    cfg: DeepExperimentConfig,
    task: DataConfig,
    cache: TeacherCache,
    device: torch.device,
    step: Any,
) -> dict[str, Any]:
    """The teacher and all students of one task: result rows, curve rows, teacher summary."""
    prepared = prepare_deep_task(cfg, task, cache, device)
    step(1)
    curves = list(prepared.teacher_curves)
    rows, grid = [], []
    lrs = [cfg.train.lr] if cfg.tune is None else cfg.tune.lrs
    for student in students_of(cfg):
        row, res = train_deep_student(cfg, prepared, student, device)
        rows.append(row)
        key = {k: row[k] for k in ("task", "noise", "data_seed", "width", "seed", "label_mode")}
        curves += [{**key, "role": "student", **h} for h in res.history]
        for lr, history in zip(lrs, res.grid, strict=False):  # empty at a fixed rate
            grid += [{**key, "run_lr": lr, **h} for h in history]
        step(1)
    return {"rows": rows, "curves": curves, "grid": grid, "teacher": prepared.teacher}


def _prepare(
    ds: Any, cfg: DeepExperimentConfig, device: torch.device
) -> tuple[tuple[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor] | None]:
    """``(x_train, y_train, x_test, y_test)`` as float32 / int64 on ``device``, standardised,
    and, with ``cfg.tune``, the held-out ``(x_val, y_val)`` (``x_train`` is then the fit part)."""
    x_train, x_test = ds.x_train.to(torch.float32), ds.x_test.to(torch.float32)
    y_train = ds.y_train
    x_val = y_val = None
    fraction = cfg.val_fraction()
    if fraction is not None:
        val_idx, fit_idx = validation_split(int(x_train.shape[0]), fraction, cfg.teacher.seed)
        x_val, y_val = x_train[val_idx], y_train[val_idx]
        x_train, y_train = x_train[fit_idx], y_train[fit_idx]
    if cfg.train.standardize:
        if x_val is not None:
            x_val = standardize(x_train, x_val)[1]
        x_train, x_test = standardize(x_train, x_test)
    data = (x_train.to(device), y_train.to(device), x_test.to(device), ds.y_test.to(device))
    if x_val is None or y_val is None:
        return data, None
    return data, (x_val.to(device), y_val.to(device))


def _teacher(
    cfg: DeepExperimentConfig,
    task: DataConfig,
    ds: Any,
    split: tuple[tuple[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor] | None],
    in_shape: tuple[int, ...],
    cache: TeacherCache,
    device: torch.device,
) -> tuple[CachedLogits, dict[str, Any], tuple[dict[str, float], ...]]:
    """Train the teacher (or load its cached weights) and get its verified, cached outputs.

    With a validation split the teacher trains on the fit part and is the checkpoint with the
    best validation accuracy (ties: lower validation loss), as the two-layer teachers are.
    """
    t, (data, val) = cfg.teacher, split
    fingerprint = ds.fingerprint()
    hard_train = cfg.train.model_dump(mode="json", exclude={"t2_scaling"})  # teacher: hard labels
    recipe = {"teacher": t.model_dump(mode="json"), "train": hard_train,
              "amp": cfg.amp, "fingerprint": fingerprint, "noise_seed": task.seed}  # fmt: skip
    if val is not None:
        recipe["validation"] = {"fraction": cfg.val_fraction(), "rule": "val_acc"}
    model = build_model(t.arch, in_shape, ds.num_classes, t.width, seed=t.seed)
    history: tuple[dict[str, float], ...] = ()
    trained = not cache.load_weights(model, recipe)
    model = model.to(device)
    best_epoch = None
    if trained:
        res = train_model(model, data, cfg.train, seed=t.seed, epochs=t.epochs, amp=cfg.amp,
                          val=val, keep_best=True)  # fmt: skip
        history, best_epoch = res.history, res.best_epoch
        cache.save_weights(model, recipe)
    identity = {"arch": t.arch, "width": t.width, "in_shape": list(in_shape),
                "num_classes": ds.num_classes, "standardize": cfg.train.standardize}  # fmt: skip
    outputs = cache.outputs(
        model, identity, (data[0], data[2]), fingerprint=fingerprint, noise_seed=task.seed,
        batch_size=cfg.train.eval_batch_size,
    )  # fmt: skip
    info = {"task": ds.name, "data_seed": task.seed, "arch": t.arch, "width": t.width,
            "params": count_parameters(model),
            "test_acc": accuracy(outputs.test_logits, ds.y_test),
            "train_acc": accuracy(outputs.train_logits, data[1].cpu()), "trained": trained,
            "weights": cache.weights_path(recipe).name, "outputs_key": outputs.key[:16],
            "outputs_cache": outputs.status, "outputs_reason": outputs.reason,
            "fingerprint": fingerprint, "n_train": int(data[0].shape[0]), "n_test": ds.n_test,
            **_teacher_val(model, val, cfg, best_epoch)}  # fmt: skip
    return outputs, info, history


def _teacher_val(
    model: torch.nn.Module,
    val: tuple[Tensor, Tensor] | None,
    cfg: DeepExperimentConfig,
    best_epoch: int | None,
) -> dict[str, Any]:
    """The chosen teacher's validation accuracy and loss (nothing without a split)."""
    if val is None:
        return {}
    logits = predict_logits(model, val[0], batch_size=cfg.train.eval_batch_size, amp=cfg.amp)
    loss = float(torch.nn.functional.cross_entropy(logits.float(), val[1]))
    return {"stop_rule": "val_acc", "n_val": int(val[1].shape[0]), "best_epoch": best_epoch,
            "val_acc": accuracy(logits, val[1]), "val_loss": loss}  # fmt: skip


def _row(res: DeepTrainResult, params: int) -> dict[str, Any]:
    return {"test_acc": res.test_acc, "train_acc": res.train_acc, "final_loss": res.final_loss,
            "avg_loss": res.avg_loss, "params": params, "seconds": round(res.seconds, 3)}  # fmt: skip


def _plot(
    results: pd.DataFrame, teachers: list[dict[str, Any]], path: Path, cfg: DeepExperimentConfig
) -> None:
    """Test (and train) accuracy against the student's width, one panel per task."""
    titles = {
        t[
            "task"
        ]: f"{t['task']}\nteacher {t['arch']} width {t['width']}: test acc {t['test_acc']:.3f}"
        for t in teachers
    }
    table = results.rename(columns={"width": f"{cfg.student.arch} width"})
    plot_width_sweep(
        table, path, x=f"{cfg.student.arch} width", metrics=("test_acc", "train_acc"),
        title=f"{cfg.name}: soft vs hard labels (temperature τ = {cfg.temperature:g}), mean and min-max over "
        f"{len(cfg.seeds)} seeds", task_titles=titles,
    )  # fmt: skip
