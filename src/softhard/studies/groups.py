"""How each study's runs are trained in groups by the sweep executors (moved from
``softhard.sweep.executors``, which now knows no study): two-layer students in one call of
:func:`softhard.studies.two_layer.train_students` (one student bank); deep students one after
another on one prepared task (:func:`softhard.studies.deep.run.prepare_deep_task`, the teacher
trained or read from the cache once). The study table (:mod:`softhard.studies.table`) names them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.studies.deep.run import prepare_deep_task, train_deep_student
from softhard.studies.two_layer import prepare_task, result_row, train_students
from softhard.sweep.store import RunOutcome
from softhard.teachers.cache import TeacherCache, teachers_dir


def two_layer_group(cfgs: Sequence[Any], run_ids: Sequence[str]) -> list[RunOutcome]:
    """Two-layer students of one task: one ``train_students`` call (one student bank)."""
    head = cfgs[0]
    task = prepare_task(
        head.tasks[0], head.teacher, margin=head.margin, val_fraction=head.val_fraction()
    )
    students = [c.students()[0] for c in cfgs]
    results = train_students(task, students, head)
    outcomes = []
    for run_id, cfg, student, res in zip(run_ids, cfgs, students, results, strict=True):
        row = result_row(task, student, res, cfg)
        curves = {k: [float(v) for v in vals] for k, vals in res.curves.items()}
        outcomes.append(RunOutcome(run_id, not res.diverged, row, curves, res.reason))
    return outcomes


def deep_group(cfgs: Sequence[Any], run_ids: Sequence[str]) -> list[RunOutcome]:
    """Deep students of one task: the task and its teacher prepared once, then each student
    trained as :func:`~softhard.studies.deep.run.run_deep_experiment` trains it."""
    head = cfgs[0]
    device = resolve_device(head.device)
    outcomes = []
    # the config's cpu_threads, when set, overrides the executor's share (as in the study)
    with deterministic_mode(head.deterministic), cpu_threads(head.cpu_threads):
        task = prepare_deep_task(
            head, head.tasks[0], TeacherCache(teachers_dir(head.cache_dir)), device
        )
        for run_id, cfg in zip(run_ids, cfgs, strict=True):
            (student,) = cfg.students()  # a run's config holds one student
            row, res = train_deep_student(cfg, task, student, device)
            curves = {k: [float(h[k]) for h in res.history] for k in _DEEP_CURVES}
            ok = math.isfinite(res.final_loss)
            reason = None if ok else f"loss became {res.final_loss} (diverged)"
            outcomes.append(RunOutcome(run_id, ok, row, curves, reason))
    return outcomes


_DEEP_CURVES = ("loss", "avg_loss", "train_acc", "test_acc")  # per-epoch columns the store keeps


def two_layer_tasks(cfg: Any) -> tuple[list[Any], dict[str, Any]]:
    """A two-layer config's tasks: each task at each of its ``data_seeds``, if set."""
    return cfg.task_list(), {"data_seeds": None}


def deep_tasks(cfg: Any) -> tuple[list[Any], dict[str, Any]]:
    """A deep config's tasks: each task at each of its ``data_seeds``, if set."""
    return cfg.task_list(), {"data_seeds": None}
