"""The weak-teacher flag: a teacher significantly worse on test data than the best hard-label
student of the same run, per task and data seed.

Per unit of replication (task index: one task at one data seed), the hard-label students'
test accuracy is averaged over student seeds per width; at the best width, the student with the
median test accuracy (the upper one of an even count) is compared with the teacher on the same
test examples by the exact McNemar test (:func:`mcnemar`: a binomial test on the examples
exactly one of the two gets right; :func:`significantly_worse` is the one rule, also used to
choose among teacher candidates on validation, :mod:`softhard.teachers.selection`). The
task is flagged when the teacher tests below that student and ``p < alpha``: one example of 90
is never enough. Soft labels from such a teacher carry less than the hard labels do, so a
soft-vs-hard comparison there says more about the teacher than about the labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest

from softhard.config import Init, Signs
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.train import TrainResult


@dataclass(frozen=True)
class TaskPredictions:
    """Per-example test correctness of one task's teacher and its hard-label students.

    Attributes:
        teacher: boolean, one per test example.
        hard: ``{(width, seed): boolean vector}`` for the hard-label students.
    """

    teacher: np.ndarray
    hard: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class McNemar:
    """The exact McNemar test of classifier A against B on the same examples.

    Attributes:
        a_only: examples A gets right and B wrong.
        b_only: examples B gets right and A wrong.
        p_value: two-sided exact p-value, ``binomtest(a_only, a_only + b_only, 1/2)`` (1 when
            there are no discordant pairs).
    """

    a_only: int
    b_only: int
    p_value: float

    def info(self) -> dict[str, Any]:
        return {"a_only": self.a_only, "b_only": self.b_only, "p_value": self.p_value}


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """Exact McNemar test on two boolean vectors of per-example correctness (same examples)."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs the same examples: shapes {a.shape} vs {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    n = a_only + b_only
    p = 1.0 if n == 0 else float(binomtest(a_only, n, 0.5).pvalue)
    return McNemar(a_only, b_only, min(p, 1.0))


def significantly_worse(
    teacher_correct: np.ndarray, reference_correct: np.ndarray, alpha: float = 0.05
) -> tuple[bool, McNemar]:
    """Whether the teacher is worse than the reference at level ``alpha`` (exact McNemar):
    it gets fewer examples right *and* the paired test rejects equal accuracy."""
    test = mcnemar(teacher_correct, reference_correct)
    return test.b_only > test.a_only and test.p_value < alpha, test


def correct(logits: torch.Tensor, y_pm: torch.Tensor) -> np.ndarray:
    """Per-example correctness ``sign(F) == y`` as a boolean numpy vector."""
    right: np.ndarray = ((logits.detach().cpu() > 0) == (y_pm.detach().cpu() > 0)).numpy()
    return right


def student_correct(
    weight: torch.Tensor,
    seed: int,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
    *,
    init: Init = "plain",
    signs: Signs = "balanced",
) -> np.ndarray:
    """Test correctness of a trained two-layer student from its first layer ``weight``."""
    w = weight.detach().cpu()
    model = TwoLayerReLU(w.shape[1], w.shape[0], seed=seed, init=init, signs=signs, dtype=w.dtype)
    model.weight.data.copy_(w)
    with torch.no_grad():
        logits = model(x_test.detach().cpu().to(w.dtype))
    return correct(logits, y_test_pm)


def task_predictions(
    teacher_test_logits: torch.Tensor,
    x_test: torch.Tensor,
    y_test_pm: torch.Tensor,
    students: Sequence[Student],
    results: Sequence[TrainResult],
    *,
    init: Init = "plain",
    signs: Signs = "balanced",
) -> TaskPredictions | None:
    """Per-example test correctness of a task's teacher and of its hard-label students (not
    diverged); None when the teacher has no finite test logits (a logits file without them)."""
    if not torch.isfinite(teacher_test_logits).all():
        return None
    hard = {
        (st.width, st.seed): student_correct(
            res.weight, st.seed, x_test, y_test_pm, init=init, signs=signs
        )
        for st, res in zip(students, results, strict=True)
        if st.label_mode == "hard" and not res.diverged
    }
    return TaskPredictions(correct(teacher_test_logits, y_test_pm), hard)


def teacher_checks(
    table: pd.DataFrame, predictions: Mapping[int, TaskPredictions], alpha: float = 0.05
) -> list[dict[str, Any]]:
    """The teacher-vs-best-hard-student comparison of every task index (flagged or not).

    Task indices without hard-label rows or without predictions (a teacher without test
    logits, a diverged student) are not checked.
    """
    need = {"task", "task_index", "label_mode", "width", "seed", "test_acc"}
    if not need <= set(table.columns):
        return []
    out = []
    hard = table[table["label_mode"] == "hard"]
    for _, rows in hard.groupby("task_index", sort=True):
        preds = predictions.get(int(rows["task_index"].iloc[0]))
        check = None if preds is None else _check(rows, preds, alpha)
        if check is not None:
            out.append(check)
    return out


def _check(rows: pd.DataFrame, preds: TaskPredictions, alpha: float) -> dict[str, Any] | None:
    per_width = rows.groupby("width")["test_acc"].mean()
    width = int(per_width.index[int(np.argmax(per_width.to_numpy()))])
    at = rows[rows["width"] == width].sort_values(["test_acc", "seed"], kind="stable")
    chosen = at.iloc[len(at) // 2]
    seed = int(chosen["seed"])
    if (width, seed) not in preds.hard:  # that student diverged: no predictions
        return None
    teacher_acc = float(preds.teacher.mean())
    worse, test = significantly_worse(preds.teacher, preds.hard[(width, seed)], alpha)
    data_seed = rows["data_seed"].iloc[0] if "data_seed" in rows else math.nan
    return {
        "task": str(rows["task"].iloc[0]),
        "task_index": int(rows["task_index"].iloc[0]),
        "data_seed": None if pd.isna(data_seed) else int(data_seed),
        "teacher_test_acc": teacher_acc,
        "best_hard_test_acc": float(per_width.max()),
        "best_hard_width": width,
        "student_seed": seed,
        "student_test_acc": float(chosen["test_acc"]),
        "teacher_only": test.a_only,
        "student_only": test.b_only,
        "p_value": test.p_value,
        "alpha": alpha,
        "weak": bool(worse),
    }


def weak_teachers(
    table: pd.DataFrame, predictions: Mapping[int, TaskPredictions], alpha: float = 0.05
) -> list[dict[str, Any]]:
    """The checks of :func:`teacher_checks` whose teacher is significantly worse."""
    return [c for c in teacher_checks(table, predictions, alpha) if c["weak"]]


def weak_teacher_text(flag: dict[str, Any]) -> str:
    """One line for a flagged task, e.g. ``WEAK TEACHER (data seed 1): teacher 0.867 < hard
    student 0.950 (width 64, seed 0; McNemar p = 0.003, 2 vs 9 discordant test examples)``."""
    where = "" if flag.get("data_seed") is None else f" (data seed {flag['data_seed']})"
    return (
        f"WEAK TEACHER{where}: teacher {flag['teacher_test_acc']:.3f} < hard student "
        f"{flag['student_test_acc']:.3f} (width {flag['best_hard_width']}, seed "
        f"{flag['student_seed']}; McNemar p = {flag['p_value']:.2g}, {flag['teacher_only']} vs "
        f"{flag['student_only']} discordant test examples)"
    )
