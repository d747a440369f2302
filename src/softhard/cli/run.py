"""``softhard run``, ``softhard demo``, ``softhard validate``, ``softhard configs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from softhard.cli._app import app, console, friendly_errors
from softhard.config import (
    ExperimentConfig,
    apply_overrides,
    read_yaml,
    shipped_configs,
    validate_with_overrides,
)
from softhard.errors import ConfigError
from softhard.report.tables import print_table

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="override a config field: dotted.key=value (YAML value)"),
]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="folder for run folders")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]


def resolve_config_path(config: str) -> Path:
    """A path, or the name of a shipped config (``softhard configs`` lists them)."""
    path = Path(config)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if config in shipped:
        return shipped[config]
    raise ConfigError(
        f"config {config!r} is neither a file nor a shipped config; shipped configs: {', '.join(shipped)}"
    )


def load_any_config(config: str, overrides: list[str] | None) -> Any:
    """Load a two-layer (default) or deep (``kind: deep``) experiment config."""
    path = resolve_config_path(config)
    raw = read_yaml(path)
    data = apply_overrides(raw, overrides or [])
    kind = data.get("kind", "two_layer")
    if kind == "deep":
        from softhard.studies.deep.config import DeepExperimentConfig

        return validate_with_overrides(DeepExperimentConfig, raw, overrides, where=f"config {path}")
    if kind in ("sweep", "min_width"):  # specs of `softhard sweep` / `softhard min-width`
        from softhard.sweep import load_min_width_spec, load_sweep_spec

        loader = load_sweep_spec if kind == "sweep" else load_min_width_spec
        return loader(path, overrides)
    if kind == "scaling":  # spec of `softhard scaling`
        from softhard.studies.scaling.run import load_scaling_spec

        return load_scaling_spec(path, overrides)
    if kind != "two_layer":
        raise ConfigError(
            f"config {path}: field 'kind' must be 'two_layer', 'deep', 'sweep', 'min_width' or "
            "'scaling' "
            f"(got {kind!r})"
        )
    return validate_with_overrides(ExperimentConfig, raw, overrides, where=f"config {path}")


def execute(cfg: Any, out: Path | None, quiet: bool) -> Path:
    """Run a loaded config and print where its run folder is."""
    kind = getattr(cfg, "kind", "two_layer")
    if kind == "scaling":
        raise ConfigError(
            "this is a scaling spec (kind: scaling); run it with `softhard scaling SPEC`"
        )
    if kind in ("sweep", "min_width"):
        command = "sweep" if kind == "sweep" else "min-width"
        raise ConfigError(
            f"this is a {kind} spec (kind: {kind}); run it with `softhard {command} SPEC`, "
            "which stores every run and resumes"
        )
    if kind == "deep":
        from softhard.studies.deep.run import run_deep_experiment

        path = run_deep_experiment(cfg, out_dir=out, progress=not quiet)
        import pandas as pd

        print_summary(pd.read_csv(path / "summary.csv"), title="mean (std) over seeds")
    else:
        from softhard.studies.two_layer import run_experiment, summarize

        result = run_experiment(cfg, out_dir=out, progress=not quiet)
        print_task_summaries(summarize(result.results))
        print_horizons_and_teachers(result)
        path = result.path
    console.print(f"run folder: [bold]{path}[/bold]", soft_wrap=True)
    return path


def print_summary(
    summary: Any, title: str = "mean over seeds (avg loss: KL for soft, logistic for hard)"
) -> None:
    """A summary table (one row per task x width), soft beside hard."""
    print_table(summary, title, console=console)


TWO_LAYER_NOTE = (
    "Mean over seeds. test acc: test accuracy; theorem: the theorem's loss, epoch-averaged "
    "(KL to the teacher for soft, logistic for hard); yard: the yardstick, epoch-averaged "
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


def print_horizons_and_teachers(result: Any) -> None:
    """The horizon T of each task, each teacher, and a loud line per weak teacher."""
    table = result.results
    for i, horizon in enumerate(result.horizons):
        rows = table[table["task_index"] == i]
        task = rows["task"].iloc[0] if len(rows) else str(i)
        how = "fixed"
        if horizon.auto:
            how = "auto, converged" if horizon.converged else "auto, hit the cap"
        teacher = rows["teacher_test_acc"].iloc[0] if len(rows) else float("nan")
        console.print(f"{task}: T = {horizon.epochs} ({how}); teacher test acc {teacher:.4f}")
    from softhard.teachers.two_layer import weak_teacher_text

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
) -> None:
    """Run an experiment config; write a run folder with tables, curves and a plot."""
    execute(load_any_config(config, set_), out, quiet)


@app.command()
@friendly_errors
def demo(set_: SetOption = None, out: OutOption = None, quiet: QuietOption = False) -> None:
    """The main job: soft vs hard labels on embedded digits (easy pair, hard pair, hard + mixing)."""
    execute(load_any_config("demo", set_), out, quiet)


@app.command("validate")
@friendly_errors
def validate_cmd(
    config: Annotated[str, typer.Argument(help="YAML config file or shipped config name")],
    set_: SetOption = None,
) -> None:
    """Check a config and print it resolved (defaults filled in), without running anything."""
    import yaml

    cfg = load_any_config(config, set_)
    console.print(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), highlight=False)


@app.command()
def configs() -> None:
    """List the configs shipped with softhard."""
    import pandas as pd

    rows = [{"name": name, "path": str(path)} for name, path in shipped_configs().items()]
    print_table(pd.DataFrame(rows), "shipped configs", console=console)
