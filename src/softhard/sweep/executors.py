"""Where groups of runs are trained: in this process, in a local process pool, or on Ray.

The unit sent to a worker is a :class:`RunGroup`: runs of one study that share task, teacher,
training settings and dtype. Its study's entry in :data:`GROUP_RUNNERS` trains it: two-layer
students in one call of :func:`softhard.studies.two_layer.train_students` (one student bank),
deep students one after another on one prepared task (:func:`softhard.studies.deep.run.prepare_deep_task`,
the teacher trained or read from the cache once). Workers only compute; they send back :class:`~.store.RunOutcome` objects and the
driver alone writes the store. Ray is imported only inside :class:`RayExecutor`.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from softhard.config import ExecutorConfig, ExecutorKind
from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.errors import ConfigError
from softhard.student import Student
from softhard.studies.deep.run import prepare_deep_task, train_deep_student
from softhard.studies.two_layer import prepare_task, result_row, train_students
from softhard.sweep.spec import study_class
from softhard.sweep.store import RunOutcome
from softhard.teachers.cache import TeacherCache, teachers_dir


@dataclass(frozen=True)
class RunGroup:
    """Runs trained together: ``(run id, single-student config as JSON data)`` pairs."""

    runs: tuple[tuple[str, dict[str, Any]], ...]
    threads: int = 1


def run_group(group: RunGroup) -> list[RunOutcome]:
    """Prepare the group's task once and train all its students (see :data:`GROUP_RUNNERS`).

    A student whose loss became NaN/inf comes back failed with the trainer's reason; an error
    that stops the whole group (bad data, out of memory) fails every run of it with that error.
    """
    start = time.perf_counter()
    with cpu_threads(max(1, group.threads)):
        try:
            kind = group.runs[0][1].get("kind", "two_layer")
            study = study_class(group.runs[0][1], where="run group")
            cfgs = [study.model_validate(c) for _, c in group.runs]
            outcomes = GROUP_RUNNERS[kind](cfgs, [run_id for run_id, _ in group.runs])
        except Exception as err:  # the whole group failed: every run carries the reason
            reason = f"{type(err).__name__}: {err}"
            return [RunOutcome(run_id, False, {}, {}, reason) for run_id, _ in group.runs]
    seconds = (time.perf_counter() - start) / len(group.runs)
    return [dataclasses.replace(o, seconds=seconds) for o in outcomes]


def _two_layer_group(cfgs: Sequence[Any], run_ids: Sequence[str]) -> list[RunOutcome]:
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


def _deep_group(cfgs: Sequence[Any], run_ids: Sequence[str]) -> list[RunOutcome]:
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
            student = Student(
                cfg.widths[0], cfg.seeds[0], cfg.label_modes[0], cfg.temperature, cfg.kd_weight
            )
            row, res = train_deep_student(cfg, task, student, device)
            curves = {k: [float(h[k]) for h in res.history] for k in _DEEP_CURVES}
            ok = math.isfinite(res.final_loss)
            reason = None if ok else f"loss became {res.final_loss} (diverged)"
            outcomes.append(RunOutcome(run_id, ok, row, curves, reason))
    return outcomes


_DEEP_CURVES = ("loss", "avg_loss", "train_acc", "test_acc")  # per-epoch columns the store keeps

# study kind -> how a group of its runs is trained (the runs' configs, their ids)
GROUP_RUNNERS: dict[str, Callable[[Sequence[Any], Sequence[str]], list[RunOutcome]]] = {
    "two_layer": _two_layer_group,
    "deep": _deep_group,
}


class Executor(Protocol):
    """Trains groups and yields each group's outcomes as soon as it is done."""

    workers: int

    def threads(self) -> int: ...

    def map(self, groups: Sequence[RunGroup]) -> Iterator[list[RunOutcome]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """A pool of ``workers`` processes (spawned; in this process when ``workers == 1``)."""

    def __init__(self, workers: int | None = None) -> None:
        cores = os.cpu_count() or 1
        self.workers = max(1, min(workers or cores, cores * 4))
        self._cores = cores
        self._pool: ProcessPoolExecutor | None = None

    def threads(self) -> int:
        return max(1, self._cores // self.workers)

    def map(self, groups: Sequence[RunGroup]) -> Iterator[list[RunOutcome]]:
        if self.workers == 1:
            for group in groups:
                yield run_group(group)
            return
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")  # fork after torch threads can hang
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        pending = {self._pool.submit(run_group, g) for g in groups}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Ray tasks running :func:`run_group` (``ray.init(address)`` unless Ray is running)."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:  # pragma: no cover - depends on the extra
            raise ConfigError("--executor ray needs Ray: pip install 'softhard[ray]'") from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        self.workers = max(1, workers or cpus)
        self._remote = ray.remote(num_cpus=1)(run_group)

    def threads(self) -> int:
        return 1

    def map(self, groups: Sequence[RunGroup]) -> Iterator[list[RunOutcome]]:
        ray = self._ray
        pending = [self._remote.remote(g) for g in groups]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)

    def close(self) -> None:
        if self._owns:
            self._ray.shutdown()


def make_executor(config: ExecutorConfig) -> Executor:
    """The executor of ``config.kind``: ``local`` (a process pool) or ``ray``."""
    return _EXECUTORS[config.kind](config)


_EXECUTORS: dict[ExecutorKind, Callable[[ExecutorConfig], Executor]] = {
    "local": lambda c: LocalExecutor(c.workers),
    "ray": lambda c: RayExecutor(c.ray_address, c.workers),
}


def plan_groups(
    runs: Sequence[Any], *, units: int, threads: int, max_size: int | None = None
) -> list[RunGroup]:
    """Group runs by :attr:`~.spec.Run.group_key` and cut groups so there are >= ``units`` units.

    Each group is cut into near-equal chunks of at most ``max(1, ceil(len(runs) / units))``
    runs (and at most ``max_size``), so every worker gets work while banks stay large.
    """
    groups: dict[str, list[Any]] = {}
    for run in runs:
        groups.setdefault(run.group_key, []).append(run)
    size = max(1, math.ceil(len(runs) / max(1, units)))
    if max_size:
        size = min(size, max_size)
    out = []
    for members in groups.values():
        k = math.ceil(len(members) / size)
        for i in range(k):
            part = members[i::k]
            out.append(
                RunGroup(tuple((r.id, r.config.model_dump(mode="json")) for r in part), threads)
            )
    return out
