"""``softhard scaling SPEC``: the scaling study (minimum widths, fitted exponents, verdicts)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import OutOption, QuietOption, RunOptions, SetOption, StoreOption
from softhard.kinds import expect_kind
from softhard.studies.scaling import ScalingSpec, load_scaling_spec, run_scaling
from softhard.studies.scaling.report import exponents_text


@app.command("scaling")
@friendly_errors
def scaling(
    spec: Annotated[str, typer.Argument(help="scaling spec YAML (kind: scaling) or shipped name")],
    quick: Annotated[bool, typer.Option("--quick", help="apply the spec's quick delta")] = False,
    set_: SetOption = None,
    out: OutOption = None,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Minimum widths over difficulty levels and eps, exponents fitted beside the theory's."""
    loaded = load_scaling_spec(expect_kind(spec, set_, "scaling"), set_, quick=quick)
    run_scaling_spec(loaded, RunOptions(out=out, store=store, quiet=quiet))


def run_scaling_spec(spec: ScalingSpec, options: RunOptions) -> None:
    """Run (or resume) a scaling study; print its exponents, its censoring and its folder.

    Its runs train in this process (the study trains each level's students as one bank).
    """
    result = run_scaling(
        spec, out_dir=options.out, store_dir=options.store, progress=not options.quiet
    )
    print_exponents(result.fits)
    used = result.min_widths
    console.print(
        f"{len(used)} minimum widths, {int(used['censored'].sum())} censored (eps not reached "
        f"within width {spec.max_width}); runs of T={result.run_epochs} epochs, "
        f"{result.trained} trained now, {result.seconds:.1f} s",
        soft_wrap=True,
    )
    console.print(f"run folder: [bold]{result.path}[/bold]", soft_wrap=True)


def print_exponents(fits: pd.DataFrame) -> None:
    """The fitted exponents beside the theory's, one table per view (fits 80 columns)."""
    for view, part in fits.groupby("view", sort=False):
        table = Table(
            title=f"{view} view: fitted exponents vs theory",
            caption="interval: 95%, seed bootstrap, widened to cover every horizon and eps "
            "rule; th: the theory's exponent; pts: points used/censored",
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
