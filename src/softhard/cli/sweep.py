"""``softhard sweep``, ``softhard runs list|show|export`` and ``softhard min-width``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import (
    RUNNERS,
    ExecutorOption,
    GroupSizeOption,
    LeaseOption,
    QuietOption,
    RayOption,
    RetryOption,
    RunOptions,
    SetOption,
    StoreOption,
    WorkersOption,
    executor_config,
)
from softhard.errors import ConfigError
from softhard.kinds import expect_kind
from softhard.report.tables import print_table
from softhard.report.tensorboard import export_store
from softhard.studies.min_width import MinWidthSpec, load_min_width_spec, run_min_width
from softhard.sweep import (
    DEFAULT_STORE,
    RunStore,
    SweepSpec,
    load_sweep_spec,
    run_sweep,
    summary_table,
)
from softhard.sweep.executor_config import DEFAULT_LEASE
from softhard.sweep.store import STORE_FILE

runs_app = typer.Typer(help="Inspect and export the run store.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@app.command("sweep")
@friendly_errors
def sweep(
    spec: Annotated[str, typer.Argument(help="sweep spec YAML (kind: sweep) or shipped name")],
    set_: SetOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workers: WorkersOption = None,
    retry_failed: RetryOption = False,
    store: StoreOption = None,
    group_size: GroupSizeOption = None,
    quiet: QuietOption = False,
    lease: LeaseOption = DEFAULT_LEASE,
) -> None:
    """Run (or resume) a sweep: runs already done are skipped, results go to the run store."""
    loaded = load_sweep_spec(expect_kind(spec, set_, "sweep"), set_)
    options = RunOptions(
        store=store,
        quiet=quiet,
        executor=executor_config(executor, workers, ray_address, group_size, lease),
        retry_failed=retry_failed,
    )
    run_sweep_spec(loaded, options)


def run_sweep_spec(spec: SweepSpec, options: RunOptions) -> None:
    """Run (or resume) a sweep and print its summary, its failed runs and where its store is."""
    result = run_sweep(
        spec,
        store_dir=options.store,
        executor=options.executor,
        retry_failed=options.retry_failed,
        progress=not options.quiet,
    )
    print_frame(
        summary_table(result.table),
        f"sweep {result.name}: mean over seeds",
        secondary=["seeds"],
        where_full="`softhard runs export`",
    )
    failed = result.table[result.table["status"] == "failed"]
    if len(failed):
        failed = _short_ids(failed[["id", "task", "width", "seed", "label_mode", "reason"]])
        print_frame(failed, "failed runs (ids: first 10 characters)", secondary=["seed"])
    console.print(
        f"{result.counts['done']} done, {result.counts['failed']} failed, "
        f"{result.trained} trained now, {result.seconds:.1f} s; store: [bold]{result.store}[/bold]",
        soft_wrap=True,
    )


@runs_app.command("list")
@friendly_errors
def runs_list(
    store: StoreOption = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="list this sweep's runs")] = None,
    status: Annotated[str | None, typer.Option("--status", help="only runs with it")] = None,
) -> None:
    """The sweeps in the store (or one sweep's runs, with --sweep)."""
    with _open(store) as st:
        if sweep is None and status is None:
            sweeps = st.sweeps()
            sweeps["last_finished"] = pd.to_datetime(sweeps["last_finished"], unit="s", utc=True)
            sweeps["last_finished"] = sweeps["last_finished"].dt.strftime("%Y-%m-%d %H:%M")
            print_frame(sweeps, f"sweeps in {st.path}", secondary=["last_finished", "running"])
            return
        table = st.runs(sweep, status=status)
    cols = ["id", "status", "task", "label_mode", "width", "seed", "attempts", "avg_loss"]
    cols += [c for c in ("test_acc", "reason") if c in table]
    print_frame(
        _short_ids(table[[c for c in cols if c in table]]),
        f"runs of {sweep or 'all sweeps'} (ids: first 10 characters)",
        secondary=["attempts", "reason", "seed", "status"],
        where_full="`softhard runs export`",
    )


@runs_app.command("show")
@friendly_errors
def runs_show(
    run_id: Annotated[str, typer.Argument(help="run id (a unique prefix is enough)")],
    store: StoreOption = None,
) -> None:
    """One run: status, config and metrics."""
    with _open(store) as st:
        row = st.run(run_id)
    if row is None:
        raise ConfigError(f"no single run with id starting {run_id!r} in the store")
    console.print_json(json.dumps(row, default=str))


@runs_app.command("export")
@friendly_errors
def runs_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the exported files")],
    store: StoreOption = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="only this sweep")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="tables (parquet/csv) or tensorboard (event files)")
    ] = "tables",
) -> None:
    """Write runs.parquet, runs.csv and curves.parquet (or TensorBoard event files)."""
    if format_ not in ("tables", "tensorboard"):
        raise ConfigError(f"--format must be 'tables' or 'tensorboard' (got {format_!r})")
    if format_ == "tensorboard":
        with _open(store) as st:
            folder = st.folder
        folders = export_store(folder, out, sweep)
        console.print(
            f"wrote {len(folders)} TensorBoard runs under [bold]{out}[/bold]", soft_wrap=True
        )
        return
    with _open(store) as st:
        paths = st.export(out, sweep)
    for path in paths:
        console.print(f"wrote [bold]{path}[/bold]", soft_wrap=True)


@app.command("min-width")
@friendly_errors
def min_width(
    spec: Annotated[str, typer.Argument(help="min-width spec YAML (kind: min_width) or name")],
    set_: SetOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workers: WorkersOption = None,
    store: StoreOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="folder for the result")] = None,
    quiet: QuietOption = False,
    lease: LeaseOption = DEFAULT_LEASE,
) -> None:
    """Smallest width whose mean-over-seeds metric reaches each eps (bracket + bisection)."""
    loaded = load_min_width_spec(expect_kind(spec, set_, "min_width"), set_)
    options = RunOptions(
        out=out,
        store=store,
        quiet=quiet,
        executor=executor_config(executor, workers, ray_address, None, lease),
    )
    run_min_width_spec(loaded, options)


def run_min_width_spec(spec: MinWidthSpec, options: RunOptions) -> None:
    """Run (or resume) a min-width search; print its table and write its folder."""
    result, path = run_min_width(
        spec,
        out_dir=options.out,
        store_dir=options.store,
        executor=options.executor,
        progress=not options.quiet,
    )
    table = result.table.drop(columns=["path"])
    m = spec.metric
    print_frame(
        table,
        f"minimum width for {m} <= eps (mean over seeds)",
        secondary=[f"{m}_min", f"{m}_max", "full_grid_widths", "widths_evaluated", f"{m}_std"],
        where_full="min_width.csv of the folder below",
    )
    evaluated = int(result.table.groupby(["task", "label_mode"])["widths_evaluated"].first().sum())
    full = len(spec.tasks) * len(spec.label_modes) * (spec.max_width - spec.min_width + 1)
    console.print(
        f"widths evaluated: {evaluated} of a full grid of {full} "
        f"({evaluated * len(spec.seeds)} of {full * len(spec.seeds)} runs; "
        f"{result.trained} trained now, {result.seconds:.1f} s); folder: [bold]{path}[/bold]",
        soft_wrap=True,
    )


RUNNERS["sweep"] = run_sweep_spec
RUNNERS["min_width"] = run_min_width_spec


def _short_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Run ids by their first 10 characters (a unique prefix is all `runs show` needs)."""
    short: pd.DataFrame = frame.assign(id=frame["id"].str[:10])
    return short


def _open(store: Path | None) -> Any:
    folder = Path(store or DEFAULT_STORE)
    if not (folder / STORE_FILE).is_file():
        raise ConfigError(f"no run store at {folder / STORE_FILE}; pass --store DIR")
    return RunStore(folder)


def print_frame(frame: pd.DataFrame, title: str, **options: Any) -> None:
    """A tidy table, readable at 80 columns (see :func:`softhard.report.tables.print_table`)."""
    print_table(frame, title, console=console, **options)
