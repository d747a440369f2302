"""Sweeps: grids of runs with stable ids, a SQLite run store, local and Ray executors and resume,
for any study in :data:`~softhard.sweep.study.SWEEPABLE` (this package imports no study)."""

from softhard.sweep.executor_config import DEFAULT_LEASE, ExecutorConfig, ExecutorKind
from softhard.sweep.executors import LocalExecutor, RayExecutor, RunGroup, make_executor, run_group
from softhard.sweep.runner import DEFAULT_STORE, SweepResult, execute_runs, run_sweep, summary_table
from softhard.sweep.spec import Run, SweepSpec, expand, load_sweep_spec, run_id
from softhard.sweep.store import RunOutcome, RunStore
from softhard.sweep.study import SWEEPABLE, SweepStudy

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_STORE",
    "SWEEPABLE",
    "ExecutorConfig",
    "ExecutorKind",
    "LocalExecutor",
    "RayExecutor",
    "Run",
    "RunGroup",
    "RunOutcome",
    "RunStore",
    "SweepResult",
    "SweepSpec",
    "SweepStudy",
    "execute_runs",
    "expand",
    "load_sweep_spec",
    "make_executor",
    "run_group",
    "run_id",
    "run_sweep",
    "summary_table",
]
