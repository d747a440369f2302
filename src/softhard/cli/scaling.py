"""``softhard scaling SPEC``: the scaling study (minimum widths, fitted exponents, verdicts)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import (
    RUNNERS,
    ExecutorOption,
    GroupSizeOption,
    LeaseOption,
    OutOption,
    QuietOption,
    RayOption,
    RunOptions,
    SetOption,
    StoreOption,
    WorkersOption,
    executor_config,
)
from softhard.kinds import expect_kind
from softhard.studies.scaling import ScalingSpec, load_scaling_spec, run_scaling
from softhard.studies.scaling.report import exponents_text, range_text
from softhard.studies.scaling.search import range_counts
from softhard.sweep.executor_config import DEFAULT_LEASE


@app.command("scaling")
@friendly_errors
def scaling(
    spec: Annotated[str, typer.Argument(help="scaling spec YAML (kind: scaling) or shipped name")],
    quick: Annotated[bool, typer.Option("--quick", help="apply the spec's quick delta")] = False,
    set_: SetOption = None,
    out: OutOption = None,
    store: StoreOption = None,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workers: WorkersOption = None,
    group_size: GroupSizeOption = None,
    lease: LeaseOption = DEFAULT_LEASE,
) -> None:
    """Minimum widths over difficulty levels and eps, exponents fitted beside the theory's.

    Its runs are stored in --store (resumable) and trained with --executor, as a sweep's are.
    """
    loaded = load_scaling_spec(expect_kind(spec, set_, "scaling"), set_, quick=quick)
    options = RunOptions(
        out=out,
        store=store,
        quiet=quiet,
        executor=executor_config(executor, workers, ray_address, group_size, lease),
    )
    run_scaling_spec(loaded, options)


def run_scaling_spec(spec: ScalingSpec, options: RunOptions) -> None:
    """Run (or resume) a scaling study; print its exponents, its censoring and its folder.

    Its runs train with ``options.executor`` (one bank per level and group of runs).
    """
    result = run_scaling(
        spec,
        out_dir=options.out,
        store_dir=options.store,
        progress=not options.quiet,
        executor=options.executor,
    )
    print_exponents(result.fits)
    used = result.min_widths
    print_range_counts(used, spec.max_width)
    console.print(
        f"{len(used)} minimum widths, {int(used['censored'].sum())} censored (eps not reached "
        f"within width {spec.max_width}); runs of {result.run_epochs} epochs, "
        f"{result.trained} trained now, {result.seconds:.1f} s",
        soft_wrap=True,
    )
    console.print(f"run folder: [bold]{result.path}[/bold]", soft_wrap=True)


def print_exponents(fits: pd.DataFrame) -> None:
    """The fitted exponents beside the theory's, one table per view (fits 80 columns)."""
    for view, part in fits.groupby("view", sort=False):
        table = Table(
            title=f"{view} view: plain GD's own minimum widths, exponents beside the bounds'",
            caption="what GD needs in practice, not the theorem's mechanism (softhard theorem "
            "measures that); interval: 95%, seed bootstrap, widened to cover every horizon and eps "
            "rule (-: not estimable, or a choice not fitted); th: the bound's exponent; "
            "pts: points used/censored",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            pad_edge=False,
        )
        for col in ("fit", "est", "interval", "th", "verdict", "pts"):
            table.add_column(
                col, justify="left" if col in ("fit", "verdict") else "right", no_wrap=True
            )
        for row in exponents_text(part):
            table.add_row(*(escape(c) for c in row))
        console.print(table)


def print_range_counts(min_widths: pd.DataFrame, cap: int) -> None:
    """How many minimum widths can speak to a slope: uncensored and in [4, cap/4], per view and
    mode (docs/scaling.md, "Where m* is measurable")."""
    if not len(min_widths):
        return
    table = Table(
        title=f"minimum widths in [4, {cap // 4}] (cap/4)",
        caption="in range: uncensored with 4 <= m* <= cap/4, the points that say something "
        "about a slope; <4: at the search's floor; cens.: eps not reached within the cap",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    for col in ("view", "mode", "in range", "<4", ">cap/4", "cens."):
        table.add_column(col, justify="left" if col in ("view", "mode") else "right")
    for row in range_text(range_counts(min_widths)):
        table.add_row(*row)
    console.print(table)


RUNNERS["scaling"] = run_scaling_spec
