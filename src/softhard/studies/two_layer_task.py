"""Two-layer task preparation: load a binary task, build its teacher, estimate its NTK margin.

:func:`prepare_task` returns a :class:`PreparedTask`, the unit that
:mod:`softhard.studies.two_layer` trains students on (re-exported there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from softhard.config import DataConfig, MarginConfig, TeacherConfig
from softhard.data import Dataset, load_dataset, student_subset
from softhard.errors import ConfigError
from softhard.ntk import KernelTeacher, MarginEstimate, cached_margin
from softhard.teachers.logits import logits_teacher_output
from softhard.teachers.two_layer import TeacherOutput, chosen_teacher, validation_split


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
    dataset = _load_binary(task)
    x, x_test = (t.to(torch.float64) for t in dataset.flat())
    y_pm, y_test_pm = dataset.y_train_pm, dataset.y_test_pm
    margin = margin or MarginConfig()
    estimate: MarginEstimate | None = None
    keep, val = _student_indices(task, teacher, dataset, int(x.shape[0]), val_fraction)
    subset = len(keep) < x.shape[0]  # the student sees a subset: its margin is estimated below
    if (margin.estimate and not subset) or teacher.kind == "kernel":
        estimate = _estimate(x, y_pm, margin, cache)
    output = _teacher_output(teacher, dataset, estimate, (x, y_pm, x_test, y_test_pm), cache)
    n_teacher = int(x.shape[0])
    x_val, y_val = (None, None) if val is None else (x[val], y_pm[val])
    if subset:
        idx = torch.from_numpy(keep)
        x, y_pm = x[idx], y_pm[idx]
        output = TeacherOutput(output.train_logits[idx], output.test_logits, output.info)
        if margin.estimate:
            estimate = _estimate(x, y_pm, margin, cache)
    return PreparedTask(
        index, task, dataset, x, x_test, y_pm, y_test_pm, output, estimate, n_teacher, x_val, y_val
    )


def _load_binary(task: DataConfig) -> Dataset:
    """The task's dataset; a ConfigError naming the fix unless it has two classes."""
    dataset = load_dataset(task)
    if dataset.num_classes != 2:
        raise ConfigError(
            f"two-layer experiments need a binary task, but task '{task.task}' of "
            f"{task.display} has {dataset.num_classes} classes; pick two with task=a-b "
            "(e.g. digits:3-8) or a binary grouping (odd-even, low-high)."
        )
    return dataset


def _student_indices(
    task: DataConfig,
    teacher: TeacherConfig,
    dataset: Dataset,
    n: int,
    val_fraction: float | None,
) -> tuple[np.ndarray, torch.Tensor | None]:
    """The student's training indices and, with ``val_fraction``, the held-out validation ones."""
    keep = student_subset(task, dataset.y_train.numpy())
    val = None
    if val_fraction is not None:  # the teacher's split (the teacher seed picks it)
        val = validation_split(n, val_fraction, teacher.seed)[0]
        keep = np.setdiff1d(keep, val.numpy())
    return keep, val


def _estimate(
    x: torch.Tensor, y_pm: torch.Tensor, margin: MarginConfig, cache: Path | None
) -> MarginEstimate:
    """The (cached) NTK margin estimate of ``(x, y_pm)`` with ``margin``'s settings."""
    return cached_margin(
        x, y_pm, num_directions=margin.num_directions, seed=margin.seed, cache=cache
    )


def _teacher_output(
    teacher: TeacherConfig,
    dataset: Dataset,
    estimate: MarginEstimate | None,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    cache: Path | None,
) -> TeacherOutput:
    """The configured teacher's logits on ``data = (x, y_pm, x_test, y_test_pm)``."""
    x, y_pm, x_test, y_test_pm = data
    if teacher.kind == "kernel":
        assert estimate is not None  # estimated by prepare_task for every kernel teacher
        return _kernel_teacher(teacher, estimate, x, y_pm, x_test, y_test_pm)
    if teacher.kind == "logits":
        return TeacherOutput(*logits_teacher_output(teacher, dataset))
    return chosen_teacher(
        teacher, x, y_pm, x_test, y_test_pm, data_fingerprint=dataset.fingerprint(), cache=cache
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
