"""``softhard report PATH``: one self-contained HTML page (and Markdown) for any result folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from softhard.cli._app import app, console, friendly_errors
from softhard.report.html import write_report
from softhard.report.tensorboard import export_run_folder


@app.command("report")
@friendly_errors
def report(
    path: Annotated[
        Path, typer.Argument(help="run folder, sweep store folder or reproduce folder")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="folder for report.html/.md [PATH]")
    ] = None,
) -> None:
    """Write report.html (figures embedded, no network needed) and report.md with the claims."""
    html_path, md_path, result = write_report(path, out)
    claims = result.claims
    table = Table("#", "status", "claim", title="claims")
    for claim in claims:
        table.add_row(str(claim.number), claim.status, claim.statement)
    console.print(table)
    console.print(f"wrote [bold]{html_path}[/bold] and [bold]{md_path}[/bold]", soft_wrap=True)


@app.command("export-tb")
@friendly_errors
def export_tb(
    run: Annotated[Path, typer.Argument(help="run folder (results + curves.parquet)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="TensorBoard log folder")] = Path("tb"),
) -> None:
    """Log a run folder's per-epoch curves and final metrics to TensorBoard event files."""
    folders = export_run_folder(run, out)
    console.print(
        f"wrote {len(folders)} TensorBoard runs under [bold]{out}[/bold]; view: tensorboard --logdir {out}",
        soft_wrap=True,
    )
