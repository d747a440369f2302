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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.models.table import build_model, count_parameters
from softhard.progress import student_progress
from softhard.report.plots import plot_width_sweep
from softhard.report.rundir import write_run
from softhard.student import Student
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.train import DeepTrainResult, standardize, train_model
from softhard.targets import ClassTargets
from softhard.teachers.cache import CachedLogits, TeacherCache, teachers_dir

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
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    teachers: list[dict[str, Any]] = []
    start = time.perf_counter()
    with (
        deterministic_mode(cfg.deterministic),
        cpu_threads(cfg.cpu_threads),
        student_progress(len(cfg.tasks) * (1 + students), enabled=progress, label=cfg.name) as step,
    ):
        for task in cfg.tasks:
            result = _run_task(cfg, task, cache, device, step)
            rows += result["rows"]
            curves += result["curves"]
            teachers.append(result["teacher"])
        threads = torch.get_num_threads()
    results = pd.DataFrame(rows)
    return write_run(
        out,
        cfg,
        name=cfg.name,
        tables={"results": results, "summary": summarize_deep(results),
                "curves": pd.DataFrame(curves)},
        figures=lambda folder: _plot(results, teachers, folder / FIGURE, cfg),
        manifest={
            "kind": "deep",
            "device": str(device),
            "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "amp": cfg.amp and device.type == "cuda",
            "deterministic": cfg.deterministic,
            "torch_threads": threads,
            "seeds": cfg.seeds,
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
        noise: the task's label noise (the ``noise`` column).
        data: ``(x_train, y_train, x_test, y_test)`` on the device, standardised.
        in_shape: one example's shape.
        num_classes: the number of classes.
        teacher_logits: the teacher's logits on the training inputs, on the device.
        teacher: the teacher's summary (manifest ``teachers`` entry).
        teacher_curves: the teacher's per-epoch rows (empty when it came from the cache).
    """

    name: str
    noise: float
    data: tuple[Tensor, Tensor, Tensor, Tensor]
    in_shape: tuple[int, ...]
    num_classes: int
    teacher_logits: Tensor
    teacher: dict[str, Any]
    teacher_curves: tuple[dict[str, Any], ...]


def students_of(cfg: DeepExperimentConfig) -> list[Student]:
    """Every student of ``cfg``, in the order the study trains them (width, seed, label mode)."""
    return cfg.students(width_major=True)


def prepare_deep_task(
    cfg: DeepExperimentConfig, task: DataConfig, cache: TeacherCache, device: torch.device
) -> DeepTask:
    """Load ``task``, standardise it, and train (or load) its teacher and verified logits."""
    ds = load_dataset(task)
    data = _prepare(ds, cfg, device)
    in_shape = tuple(ds.x_train.shape[1:])
    outputs, teacher_info, history = _teacher(cfg, task, ds, data, in_shape, cache, device)
    base = {"task": ds.name, "noise": task.noise}
    curves = tuple({**base, "role": "teacher", "width": cfg.teacher.width,
                    "seed": cfg.teacher.seed, "label_mode": "hard", **h}
                   for h in history)  # fmt: skip
    return DeepTask(ds.name, task.noise, data, in_shape, ds.num_classes,
                    outputs.train_logits.to(device), teacher_info, curves)  # fmt: skip


def train_deep_student(
    cfg: DeepExperimentConfig, task: DeepTask, student: Student, device: torch.device
) -> tuple[dict[str, Any], DeepTrainResult]:
    """Train one student of ``cfg.student.arch`` on ``task``: its result row and training result."""
    model = build_model(
        cfg.student.arch, task.in_shape, task.num_classes, student.width, seed=student.seed
    ).to(device)
    targets = ClassTargets(
        task.data[1], task.teacher_logits, student.soft_weight, student.temperature,
        cfg.train.t2_scaling,
    )  # fmt: skip
    res = train_model(model, task.data, cfg.train, seed=student.seed, targets=targets, amp=cfg.amp)
    row = {"task": task.name, "noise": task.noise, "width": student.width, "seed": student.seed,
           "label_mode": student.label_mode, **_row(res, count_parameters(model)),
           "arch": cfg.student.arch, "soft_weight": student.soft_weight,
           "temperature": student.temperature,
           "teacher_test_acc": task.teacher["test_acc"]}  # fmt: skip
    return row, res


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
    rows = []
    for student in students_of(cfg):
        row, res = train_deep_student(cfg, prepared, student, device)
        rows.append(row)
        key = {k: row[k] for k in ("task", "noise", "width", "seed", "label_mode")}
        curves += [{**key, "role": "student", **h} for h in res.history]
        step(1)
    return {"rows": rows, "curves": curves, "teacher": prepared.teacher}


def _prepare(
    ds: Any, cfg: DeepExperimentConfig, device: torch.device
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_train, y_train, x_test, y_test)`` as float32 / int64 on ``device``, standardised."""
    x_train, x_test = ds.x_train.to(torch.float32), ds.x_test.to(torch.float32)
    if cfg.train.standardize:
        x_train, x_test = standardize(x_train, x_test)
    return (x_train.to(device), ds.y_train.to(device), x_test.to(device), ds.y_test.to(device))


def _teacher(
    cfg: DeepExperimentConfig,
    task: DataConfig,
    ds: Any,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    in_shape: tuple[int, ...],
    cache: TeacherCache,
    device: torch.device,
) -> tuple[CachedLogits, dict[str, Any], tuple[dict[str, float], ...]]:
    """Train the teacher (or load its cached weights) and get its verified, cached outputs."""
    t = cfg.teacher
    fingerprint = ds.fingerprint()
    hard_train = cfg.train.model_dump(mode="json", exclude={"t2_scaling"})  # teacher: hard labels
    recipe = {"teacher": t.model_dump(mode="json"), "train": hard_train,
              "amp": cfg.amp, "fingerprint": fingerprint, "noise_seed": task.seed}  # fmt: skip
    model = build_model(t.arch, in_shape, ds.num_classes, t.width, seed=t.seed)
    history: tuple[dict[str, float], ...] = ()
    trained = not cache.load_weights(model, recipe)
    model = model.to(device)
    if trained:
        res = train_model(model, data, cfg.train, seed=t.seed, epochs=t.epochs, amp=cfg.amp)
        history = res.history
        cache.save_weights(model, recipe)
    identity = {"arch": t.arch, "width": t.width, "in_shape": list(in_shape),
                "num_classes": ds.num_classes, "standardize": cfg.train.standardize}  # fmt: skip
    outputs = cache.outputs(
        model, identity, (data[0], data[2]), fingerprint=fingerprint, noise_seed=task.seed,
        batch_size=cfg.train.eval_batch_size,
    )  # fmt: skip
    test_acc = float((outputs.test_logits.argmax(1) == ds.y_test).float().mean())
    train_acc = float((outputs.train_logits.argmax(1) == ds.y_train).float().mean())
    info = {"task": ds.name, "arch": t.arch, "width": t.width, "params": count_parameters(model),
            "test_acc": test_acc, "train_acc": train_acc, "trained": trained,
            "weights": cache.weights_path(recipe).name, "outputs_key": outputs.key[:16],
            "outputs_cache": outputs.status, "outputs_reason": outputs.reason,
            "fingerprint": fingerprint, "n_train": ds.n_train, "n_test": ds.n_test}  # fmt: skip
    return outputs, info, history


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
