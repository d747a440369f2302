"""Run a sweep against its store: claim what is left, train it in groups, write results.

:func:`run_sweep` expands and validates the whole spec first (nothing starts on a bad spec),
registers its runs in the store, then loops: claim the runs that are pending (failed ones too
with ``retry_failed``; running ones whose driver is gone), train them in groups with the chosen
executor and write each run's results in one transaction. Runs that another live driver is
training are waited for, so when it returns every run of the sweep is done or failed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.progress import Progress, TextColumn

from softhard.config import ExperimentConfig
from softhard.progress import progress_columns
from softhard.resources import check_groups
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.executors import Executor, LocalExecutor, make_executor, plan_groups
from softhard.sweep.owners import new_owner
from softhard.sweep.spec import Run, SweepSpec, expand
from softhard.sweep.store import RunStore

DEFAULT_STORE = Path("runs") / "sweeps"


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its store folder, one row per run, and counts by status."""

    name: str
    store: Path
    table: pd.DataFrame
    counts: dict[str, int]
    trained: int
    seconds: float


def run_sweep(
    spec: SweepSpec,
    *,
    store_dir: str | Path | None = None,
    executor: ExecutorConfig | None = None,
    retry_failed: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run every run of ``spec`` not yet done with ``executor`` (default: local processes, one
    per core); see the module docstring."""
    start = time.perf_counter()
    executor = executor or ExecutorConfig()
    runs = expand(spec)
    check_sweep_memory(runs, executor, what=f"sweep {spec.name!r}")
    folder = Path(store_dir or DEFAULT_STORE)
    with RunStore(folder) as store:
        store.register(spec.name, spec.model_dump(mode="json"), runs, replace=True)
        trained = execute_runs(
            store, runs, executor=executor, retry_failed=retry_failed, progress=progress
        )
        table = store.runs(spec.name)
    counts = {s: int((table["status"] == s).sum()) for s in ("done", "failed")}
    return SweepResult(spec.name, folder, table, counts, trained, time.perf_counter() - start)


def execute_runs(
    store: RunStore,
    runs: Sequence[Run],
    *,
    executor: ExecutorConfig | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    poll: float = 0.5,
    pool: Executor | None = None,
) -> int:
    """Train the runs of ``runs`` that are claimable until all are done or failed.

    Returns how many runs this driver trained. On an exception (Ctrl-C included) the runs it
    had claimed go back to pending. Its claims hold leases of ``executor.lease`` seconds,
    renewed by a heartbeat thread while it runs (see :mod:`softhard.sweep.store`).

    ``pool``: an executor made by :func:`~softhard.sweep.executors.make_executor` from
    ``executor`` to train with (a study that calls this round after round keeps one pool of
    workers; the caller closes it); default: one made when a run is claimed, closed on return.
    """
    executor = executor or ExecutorConfig()
    lease = executor.lease
    by_id = {r.id: r for r in runs}
    owner = new_owner()
    trained = 0
    ex = pool
    try:
        with (
            store.heartbeat(owner, lease),
            _progress(store, list(by_id), enabled=progress) as tick,
        ):
            first = True
            while True:
                claimed = store.claim(
                    by_id, owner, retry_failed=retry_failed and first, lease=lease
                )
                first = False
                if claimed:
                    ex = ex or make_executor(executor)
                    trained += _train_claimed(store, by_id, claimed, ex, executor, owner, tick)
                if not _unfinished(store, by_id):
                    break
                if not claimed:
                    time.sleep(poll)  # another driver is training them
                    tick(None)
    except BaseException:
        store.release(owner)
        raise
    finally:
        if ex is not None and ex is not pool:
            ex.close()
    return trained


def _train_claimed(
    store: RunStore,
    by_id: dict[str, Run],
    claimed: Sequence[str],
    ex: Executor,
    executor: ExecutorConfig,
    owner: str,
    tick: Callable[[bool | None], None],
) -> int:
    """Train the ``claimed`` runs in groups on ``ex``; how many of them this owner finished."""
    trained = 0
    mine = set(claimed)  # in the order given: a bank's order is part of
    todo = [r for i, r in by_id.items() if i in mine]  # its float sums
    groups = plan_groups(todo, units=ex.workers, threads=ex.threads(), max_size=executor.group_size)
    for outcomes in ex.map(groups):
        for outcome in outcomes:
            if store.finish(outcome, owner):
                trained += 1
                tick(outcome.ok)
    return trained


def _unfinished(store: RunStore, by_id: dict[str, Run]) -> bool:
    """Whether any of the runs is still pending or running."""
    return any(s in ("pending", "running") for s, _ in store.statuses(by_id).values())


def check_sweep_memory(runs: Sequence[Run], executor: ExecutorConfig, *, what: str) -> None:
    """The memory guard for runs trained in groups by ``executor`` (see :mod:`softhard.resources`).

    It models the two-layer student bank; deep runs (one student at a time) are not checked.
    """
    runs = [r for r in runs if isinstance(r.config, ExperimentConfig)]
    if not runs:
        return
    processes, threads = 1, 1  # ray: each group on some node, one at a time per CPU
    if executor.kind == "local":
        local = LocalExecutor(executor.workers)
        processes, threads = local.workers, local.threads()
    groups = runs_as_groups(runs, executor.group_size, processes)
    check_groups(groups, processes=processes, threads=threads, what=what)


def runs_as_groups(
    runs: Sequence[Run], group_size: int | None, units: int
) -> list[tuple[ExperimentConfig, list[int]]]:
    """Sweep runs as the groups the executor will train, ``(config, widths)`` each (the input
    of the memory guard :func:`softhard.resources.check_groups`); two-layer runs only, the
    ones the guard models."""
    out = []
    by_id = {r.id: r for r in runs}
    for group in plan_groups(runs, units=units, threads=1, max_size=group_size):
        members = [by_id[run_id] for run_id, _ in group.runs]
        head = members[0].config
        if isinstance(head, ExperimentConfig):
            out.append((head, [m.config.widths[0] for m in members]))
    return out


@contextlib.contextmanager
def _progress(
    store: RunStore, run_ids: list[str], *, enabled: bool
) -> Iterator[Callable[[bool | None], None]]:
    """A rich bar: runs done, failed and left, with an ETA; ``tick(ok)`` after each run."""
    statuses = [s for s, _ in store.statuses(run_ids).values()]
    done, failed = statuses.count("done"), statuses.count("failed")
    if not enabled:
        yield lambda ok: None
        return
    columns = progress_columns(
        "runs",
        TextColumn(
            "done {task.fields[done]} · failed {task.fields[failed]} · left {task.fields[left]}"
        ),
    )
    total = len(run_ids)
    with Progress(*columns) as bar:
        task = bar.add_task(
            "runs",
            total=total,
            completed=done + failed,
            done=done,
            failed=failed,
            left=total - done - failed,
        )
        counts = {"done": done, "failed": failed}

        def tick(ok: bool | None) -> None:
            if ok is None:
                return
            counts["done" if ok else "failed"] += 1
            left = total - counts["done"] - counts["failed"]
            bar.update(task, advance=1, done=counts["done"], failed=counts["failed"], left=left)

        yield tick


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of done runs per task x width x label mode (avg loss, test accuracy)."""
    done = table[table["status"] == "done"]
    if done.empty:
        empty: pd.DataFrame = pd.DataFrame()
        return empty
    keys = [
        k
        for k in (
            "task",
            "label_mode",
            "width",
            "temperature",
            "soft_weight",
            "optimizer",
            "lr",
            "epochs",
        )
        if k in done
    ]
    varying = [k for k in keys if k in ("task", "label_mode", "width") or done[k].nunique() > 1]
    agg = done.groupby(varying, sort=True).agg(
        seeds=("seed", "nunique"), avg_loss=("avg_loss", "mean"), test_acc=("test_acc", "mean")
    )
    out: pd.DataFrame = agg.reset_index()
    return out
