"""``softhard run``, ``softhard demo``, ``softhard validate``, ``softhard configs``."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import typer
import yaml

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import (
    RUNNERS,
    ExecutorOption,
    GroupSizeOption,
    LeaseOption,
    OutOption,
    QuietOption,
    RayOption,
    RetryOption,
    RunOptions,
    SetOption,
    StoreOption,
    WorkersOption,
    executor_config,
)
from softhard.cli.compare import print_paired
from softhard.config import ExperimentConfig, shipped_configs
from softhard.config_paths import missing_data_paths
from softhard.errors import ConfigError
from softhard.kinds import AnyConfig, kind_of, load_any
from softhard.replication import DATA_SEED, with_data_seed
from softhard.report.tables import print_table
from softhard.studies.deep import DeepExperimentConfig, run_deep_experiment
from softhard.studies.regimes.by_width import plot_paired_by_width, tuned_pairs, verdict
from softhard.studies.two_layer import ExperimentResult, run_experiment, summarize
from softhard.sweep.executor_config import DEFAULT_LEASE
from softhard.teachers.weak import weak_teacher_text


def load_any_config(config: str, overrides: list[str] | None) -> AnyConfig:
    """Load a config of any kind (:func:`softhard.kinds.load_any`): a file or a shipped name."""
    cfg: AnyConfig = load_any(config, overrides)
    return cfg


def run_two_layer(cfg: ExperimentConfig, options: RunOptions) -> None:
    """Run a two-layer experiment; print its summaries and where its run folder is."""
    result = run_experiment(cfg, out_dir=options.out, progress=not options.quiet)
    print_task_summaries(summarize(result.results))
    print_horizons_and_teachers(result)
    paired = tuned_pairs(result.results, result.curves)
    if paired is not None and result.path is not None:
        grid = ", ".join(f"{v:g}" for v in cfg.tune.lrs) if cfg.tune else ""
        title = f"{cfg.name}: soft (T = {cfg.temperature:g}) - hard, rates chosen from {grid}"
        plot_paired_by_width(paired, result.path / "soft_minus_hard.png", title=title)
        paired.to_csv(result.path / "paired.csv", index=False)
        print_paired(paired, "soft - hard test accuracy, tuned arms (t, 95%)")
        console.print(verdict(paired), soft_wrap=True)
    console.print(f"run folder: [bold]{result.path}[/bold]", soft_wrap=True)


def run_deep(cfg: DeepExperimentConfig, options: RunOptions) -> None:
    """Run a deep experiment; print its summary and where its run folder is."""
    path = run_deep_experiment(cfg, out_dir=options.out, progress=not options.quiet)
    print_summary(pd.read_csv(path / "summary.csv"), title="mean (std) over seeds")
    console.print(f"run folder: [bold]{path}[/bold]", soft_wrap=True)


RUNNERS["two_layer"] = run_two_layer
RUNNERS["deep"] = run_deep


def execute(cfg: AnyConfig, options: RunOptions) -> None:
    """Run a loaded config of any kind with its kind's runner (:data:`RUNNERS`)."""
    kind = kind_of(cfg)
    if kind not in RUNNERS:
        raise ConfigError(
            f"no command runs configs of kind {kind!r}; kinds with a runner: {', '.join(RUNNERS)}"
        )
    RUNNERS[kind](cfg, options)


def print_summary(
    summary: Any, title: str = "mean over seeds (avg loss: KL for soft, logistic for hard)"
) -> None:
    """A summary table (one row per task x width), soft beside hard."""
    print_table(summary, title, console=console)


TWO_LAYER_NOTE = (
    "Mean over the units of replication (data seeds, each averaged over its student seeds; the "
    "student seeds where there is one data seed). test acc: test accuracy; theorem: the "
    "theorem's loss, epoch-averaged (KL to the teacher for soft, logistic for hard); yard: the "
    "yardstick, epoch-averaged "
    "logistic loss against the true training labels (the same for every mode)."
)
_SHORT = {"test_acc": "test acc", "avg_loss": "theorem", "yard_avg_loss": "yard"}


def print_task_summaries(summary: Any) -> None:
    """One table per task (its name as the title, so it is never cut), soft beside hard."""
    console.print(TWO_LAYER_NOTE)
    for task, rows in summary.groupby("task", sort=False):
        frame = rows.drop(columns="task")
        names = {}
        for col in frame.columns:
            metric, _, mode = col.rpartition("_")
            names[col] = f"{_SHORT.get(metric, metric)} {mode}".strip()
        print_table(frame.rename(columns=names), str(task), console=console)


def print_horizons_and_teachers(result: ExperimentResult) -> None:
    """The horizon (epochs) of each task, each teacher, and a loud line per weak teacher."""
    table = with_data_seed(result.results)
    several = table[DATA_SEED].nunique() > 1  # then each line is one (task, data seed)
    for i, horizon in enumerate(result.horizons):
        rows = table[table["task_index"] == i]
        task = rows["task"].iloc[0] if len(rows) else str(i)
        if several and len(rows):
            task += f" (data seed {rows[DATA_SEED].iloc[0]})"
        how = "fixed"
        if horizon.auto:
            how = "auto, converged" if horizon.converged else "auto, hit the cap"
        teacher = rows["teacher_test_acc"].iloc[0] if len(rows) else float("nan")
        console.print(
            f"{task}: horizon {horizon.epochs} epochs ({how}); teacher test acc {teacher:.4f}",
            soft_wrap=True,
        )
    for flag in result.weak_teachers:
        console.print(f"[bold red]{flag['task']}: {weak_teacher_text(flag)}[/bold red]")


@app.command()
@friendly_errors
def run(
    config: Annotated[
        str, typer.Argument(help="YAML config file, or the name of a shipped config")
    ],
    set_: SetOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    store: StoreOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workers: WorkersOption = None,
    group_size: GroupSizeOption = None,
    lease: LeaseOption = DEFAULT_LEASE,
    retry_failed: RetryOption = False,
) -> None:
    """Run a config of any kind (experiment, deep, sweep, min-width, scaling); write its results.

    Experiments write a run folder under --out; sweeps, min-width searches and scaling studies
    store their runs in --store (resumable) and train them with --executor.
    """
    options = RunOptions(
        out=out,
        store=store,
        quiet=quiet,
        executor=executor_config(executor, workers, ray_address, group_size, lease),
        retry_failed=retry_failed,
    )
    execute(load_any(config, set_), options)


@app.command()
@friendly_errors
def demo(set_: SetOption = None, out: OutOption = None, quiet: QuietOption = False) -> None:
    """The main job: soft vs hard labels on embedded digits (easy pair, hard pair, hard + mixing)."""
    execute(load_any("demo", set_), RunOptions(out=out, quiet=quiet))


@app.command("validate")
@friendly_errors
def validate_cmd(
    config: Annotated[str, typer.Argument(help="YAML config file or shipped config name")],
    set_: SetOption = None,
) -> None:
    """Check a config and its data files and print it resolved (defaults filled in), without
    running anything."""
    cfg = load_any(config, set_)
    missing = missing_data_paths(cfg.model_dump(mode="json"))
    if missing:
        raise ConfigError(
            f"config {config}: the data path(s) {', '.join(missing)} do not exist; fix 'path' "
            "(or 'data_path'; a relative path in a file is read from the file's folder, one given "
            "with --set from the working directory)"
        )
    console.print(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), highlight=False)


@app.command()
def configs() -> None:
    """List the configs shipped with softhard, with their kind."""
    rows = [
        {"name": name, "kind": kind_of(yaml.safe_load(path.read_text()) or {}), "path": str(path)}
        for name, path in shipped_configs().items()
    ]
    print_table(pd.DataFrame(rows), "shipped configs", console=console)
