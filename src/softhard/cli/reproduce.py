"""``softhard reproduce``: every study of the paper in order, resumable, then the report."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import (
    ExecutorOption,
    GroupSizeOption,
    LeaseOption,
    QuietOption,
    RayOption,
    WorkersOption,
    executor_config,
)
from softhard.studies.reproduce import reproduce
from softhard.sweep.executor_config import DEFAULT_LEASE


@app.command("reproduce")
@friendly_errors
def reproduce_cmd(
    quick: Annotated[
        bool, typer.Option("--quick", help="fewer seeds, widths and epochs (minutes, not hours)")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="folder [runs/reproduce or runs/reproduce-quick]"),
    ] = None,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workers: WorkersOption = None,
    group_size: GroupSizeOption = None,
    lease: LeaseOption = DEFAULT_LEASE,
) -> None:
    """Run the studies (resumable: a second call finishes an interrupted run), then the report.

    The runs of the scaling and regime stages train in the run store with --executor.
    """
    executor_cfg = executor_config(executor, workers, ray_address, group_size, lease)
    folder = out or Path("runs") / ("reproduce-quick" if quick else "reproduce")
    command = shlex.join(
        ["softhard", "reproduce", *(["--quick"] if quick else []), "--out", str(folder)]
    )
    start = time.perf_counter()
    result = reproduce(
        folder,
        quick=quick,
        progress=not quiet,
        command=command,
        executor=executor_cfg,
        announce=lambda line: (
            console.rule(line, align="left") if line.startswith("[") else console.print(line)
        ),
    )
    console.print(
        f"reproduce finished in {time.perf_counter() - start:.1f} s "
        f"(argv: {shlex.join(sys.argv[1:])}); report: [bold]{result.report}[/bold]",
        soft_wrap=True,
    )
