"""Where groups of runs are trained: in this process, in a local process pool, or on Ray.

The unit sent to a worker is a :class:`RunGroup`: runs of one study that share task, teacher,
training settings and dtype. Its study's group trainer (:attr:`~.study.SweepStudy.train_group`,
given in the study table :mod:`softhard.studies.table`) trains it. Workers only compute; they
send back :class:`~.store.RunOutcome` objects and the driver alone writes the store. Ray is
imported only inside :class:`RayExecutor`.
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

from softhard.device import cpu_threads
from softhard.errors import ConfigError
from softhard.sweep.executor_config import ExecutorConfig, ExecutorKind
from softhard.sweep.store import RunOutcome
from softhard.sweep.study import sweepable


@dataclass(frozen=True)
class RunGroup:
    """Runs trained together: ``(run id, single-student config as JSON data)`` pairs."""

    runs: tuple[tuple[str, dict[str, Any]], ...]
    threads: int = 1


def run_group(group: RunGroup) -> list[RunOutcome]:
    """Prepare the group's task once and train all its students (its study's group trainer).

    A student whose loss became NaN/inf comes back failed with the trainer's reason; an error
    that stops the whole group (bad data, out of memory) fails every run of it with that error.
    """
    start = time.perf_counter()
    with cpu_threads(max(1, group.threads)):
        try:
            study = sweepable(group.runs[0][1], where="run group")
            cfgs = [study.config.model_validate(c) for _, c in group.runs]
            outcomes = study.train_group(cfgs, [run_id for run_id, _ in group.runs])
        except Exception as err:  # the whole group failed: every run carries the reason
            reason = f"{type(err).__name__}: {err}"
            return [RunOutcome(run_id, False, {}, {}, reason) for run_id, _ in group.runs]
    seconds = (time.perf_counter() - start) / len(group.runs)
    return [dataclasses.replace(o, seconds=seconds) for o in outcomes]


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
