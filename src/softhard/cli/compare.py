"""``softhard compare``: paired soft-vs-hard differences of a run or a sweep, table and heatmap.

The comparison is assembled by :func:`softhard.studies.regimes.run.compare_runs`, the regime
map's one driver (reproduce's regimes stage calls it too); this module parses and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from softhard.cli._app import app, console, friendly_errors
from softhard.errors import ConfigError
from softhard.studies.regimes.compare import IN_TASK_NAME, OUTPUT_COLUMNS
from softhard.studies.regimes.run import compare_runs
from softhard.sweep import DEFAULT_STORE


@app.command("compare")
@friendly_errors
def compare(
    source: Annotated[
        str,
        typer.Argument(
            help="run folder (results.parquet), run-store export (runs.parquet), store folder "
            "(softhard.sqlite) or the name of a sweep in the default store runs/sweeps"
        ),
    ],
    sweep: Annotated[str | None, typer.Option("--sweep", help="only this sweep's runs")] = None,
    x: Annotated[str | None, typer.Option("--x", help="heatmap x axis [a varying setting]")] = None,
    y: Annotated[str | None, typer.Option("--y", help="heatmap y axis [task]")] = None,
    epochs: Annotated[
        str, typer.Option("--epochs", help="horizons: epochs and/or 'last', comma-separated")
    ] = "50,200,1000,last",
    method: Annotated[
        str, typer.Option("--method", help="t, or bootstrap (percentile; liberal below ~20 seeds)")
    ] = "t",
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the result folder")] = Path(
        "runs"
    ),
) -> None:
    """Soft minus hard test accuracy per cell and horizon, paired by data and student seed."""
    folder, sweep = _resolve_source(source, sweep)
    frame, path = compare_runs(
        folder,
        out,
        f"compare-{sweep or folder.name}",
        sweep=sweep,
        x=x,
        y=y,
        method=method,  # type: ignore[arg-type]
        epochs=_parse_epochs(epochs),
    )
    print_paired(frame, f"soft - hard test accuracy ({frame['method'].iloc[0]}, 95%)")
    console.print(
        f"{_steps_line(frame)}; units: {', '.join(sorted(set(frame['unit'])))}; "
        f"folder: [bold]{path}[/bold]",
        soft_wrap=True,
    )


def _steps_line(frame: pd.DataFrame) -> str:
    """How the arms' step sizes were set: tuned on validation data, or fixed (not a verdict)."""
    steps = sorted(set(frame["steps"]))
    if steps == ["tuned"]:
        stops = f"{frame['stop_soft'].median():g}/{frame['stop_hard'].median():g}"
        return (
            "step sizes: each arm's learning rate and stopping epoch tuned on validation data "
            f"(median stopping epoch soft/hard {stops})"
        )
    return (
        f"step sizes fixed, not tuned (soft effective step / hard: {', '.join(steps)}): a "
        "comparison at fixed rates is not a verdict; add tune: {} to the config "
        "(docs/regimes.md, 'tuned step sizes')"
    )


def _resolve_source(source: str, sweep: str | None) -> tuple[Path, str | None]:
    path = Path(source)
    if path.exists():
        return path, sweep
    if "/" not in source and (DEFAULT_STORE / "softhard.sqlite").is_file():
        return DEFAULT_STORE, sweep or source
    raise ConfigError(
        f"{source!r} is not a folder, and no run store at {DEFAULT_STORE} holds a sweep of that "
        "name; pass a run folder, a run-store export or a store folder (with --sweep NAME)"
    )


def _parse_epochs(text: str) -> list[Any]:
    out: list[Any] = []
    for item in (p.strip() for p in text.split(",") if p.strip()):
        if item == "last":
            out.append("last")
        elif item.isdigit():
            out.append(int(item))
        else:
            raise ConfigError(
                f"--epochs {text!r}: {item!r} is neither a non-negative integer nor 'last'"
            )
    if not out:
        raise ConfigError("--epochs needs at least one horizon (an epoch or 'last')")
    return out


def print_paired(frame: pd.DataFrame, title: str) -> None:
    """The paired table, narrow enough for 80 columns (the task column wraps)."""
    # settings the task's name already shows are left to it (paired.csv has them as columns)
    cells = [c for c in frame.columns if c not in (*OUTPUT_COLUMNS, *IN_TASK_NAME)]
    table = Table(title=title, title_justify="left")
    for col in cells:
        wide = {"min_width": 14} if col == "task" else {"no_wrap": True}
        table.add_column(_short(col), overflow="fold", **wide)
    tuned = bool((frame["steps"] == "tuned").any())
    for col in ("epoch", "diff", "95% interval", "n", "sig"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in frame.itertuples(index=False):
        r = dict(zip(frame.columns, row, strict=True))
        table.add_row(
            *[_fmt(r[c]) for c in cells],
            str(r["epoch"]),
            f"{r['mean_diff']:+.4f}",
            f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]",
            str(r["n_seeds"]),
            (r["sign"] if r["significant"] else "ns") + ("*" if r.get("lr_edge") else ""),
        )
    console.print(table)
    units = ", ".join(sorted(set(frame["unit"])))
    console.print(
        f"n: {units} (student seeds averaged within a data seed); sig: + soft better, "
        "- hard better, ns: the interval contains 0"
        + (
            "; learning rates chosen on validation data (median over cells, soft/hard): "
            f"{frame['lr_soft_chosen'].median():g}/{frame['lr_hard_chosen'].median():g} "
            "(per cell: paired.csv, lr_soft_chosen and lr_hard_chosen)"
            if tuned
            else ""
        ),
        soft_wrap=True,
    )
    edge = frame["lr_edge"].fillna("").astype(bool) if "lr_edge" in frame.columns else None
    if edge is not None and edge.any():
        console.print(
            f"[bold]*[/bold] an arm's chosen learning rate is on the edge of its grid in "
            f"{int(edge.sum())} of {len(frame)} rows (paired.csv, lr_edge): its best rate may "
            "lie beyond the grid, so that arm is not fully tuned there; widen tune.lrs",
            soft_wrap=True,
        )


def _short(col: str) -> str:
    return {
        "student_max_train": "student n",
        "temperature": "temp",
        "teacher_epochs": "teach ep",
    }.get(col, col.replace("_", " "))


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
