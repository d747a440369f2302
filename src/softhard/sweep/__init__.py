"""Sweeps: grids of runs with stable ids, a SQLite run store, local and Ray executors, resume,
and the minimum-width search."""

from softhard.sweep.executors import LocalExecutor, RayExecutor, RunGroup, make_executor, run_group
from softhard.sweep.minwidth import (
    MinWidthResult,
    MinWidthSpec,
    load_min_width_spec,
    min_width_search,
)
from softhard.sweep.runner import DEFAULT_STORE, SweepResult, execute_runs, run_sweep, summary_table
from softhard.sweep.spec import Run, SweepSpec, expand, load_sweep_spec, run_id
from softhard.sweep.store import RunOutcome, RunStore

__all__ = [
    "DEFAULT_STORE",
    "LocalExecutor",
    "MinWidthResult",
    "MinWidthSpec",
    "RayExecutor",
    "Run",
    "RunGroup",
    "RunOutcome",
    "RunStore",
    "SweepResult",
    "SweepSpec",
    "execute_runs",
    "expand",
    "load_min_width_spec",
    "load_sweep_spec",
    "make_executor",
    "min_width_search",
    "run_group",
    "run_id",
    "run_sweep",
    "summary_table",
]
