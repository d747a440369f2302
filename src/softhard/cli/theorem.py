"""``softhard theorem SPEC``: the bounds' exponents at the proof's reference point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.table import Table

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import RUNNERS, OutOption, QuietOption, RunOptions, SetOption
from softhard.kinds import expect_kind
from softhard.studies.theorem import TheoremSpec, load_theorem_spec, run_theorem


@app.command("theorem")
@friendly_errors
def theorem(
    spec: Annotated[str, typer.Argument(help="theorem spec YAML (kind: theorem) or shipped name")],
    quick: Annotated[bool, typer.Option("--quick", help="apply the spec's quick delta")] = False,
    set_: SetOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
) -> None:
    """m*_ref at the reference point U = W0 + s V-bar: exponents beside the bounds' (no training)."""
    loaded = load_theorem_spec(expect_kind(spec, set_, "theorem"), set_, quick=quick)
    run_theorem_spec(loaded, out, quiet)


def run_theorem_spec(spec: TheoremSpec, out: Path | None, quiet: bool = False) -> None:
    """Run the study, print the levels and the exponents, and the run folder."""
    result = run_theorem(
        spec, out_dir=out or Path("runs"), announce=None if quiet else console.print
    )
    print_levels(result.levels)
    print_fits(result.fits)
    console.print(f"{result.seconds:.1f} s; run folder: [bold]{result.path}[/bold]", soft_wrap=True)


def print_levels(levels: pd.DataFrame) -> None:
    """gamma with its dual stderr and its Monte-Carlo error, and kappa, per level."""
    table = Table(
        title="levels: certified margin and its sampling error",
        caption="stderr: dual, over direction draws; mc: gamma minus the margin on the "
        "teacher's own directions; kappa: spread of the margin integrand / gamma",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for col in ("family", "level", "gamma", "stderr", "mc", "kappa"):
        table.add_column(col, justify="left" if col in ("family", "level") else "right")
    for row in levels.itertuples():
        table.add_row(
            str(row.family), str(row.level)[:22], f"{row.gamma:.4f}", f"{row.gamma_stderr:.1e}",
            f"{row.mc_error:.1e}", f"{row.kappa:.2f}",
        )  # fmt: skip
    console.print(table)


def print_fits(fits: pd.DataFrame) -> None:
    """The fitted exponents (b on beta or 1/gamma, c on 1/eps or ln 1/eps) with intervals."""
    table = Table(
        title="m*_ref law: log m = a + b log X + c log E",
        caption="soft: X = beta, E = 1/eps (theory 2, 1); hard: X = 1/gamma, E = ln(1/eps) "
        "(theory 4, 1); 95% seed bootstrap; pts: used/below/censored",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for col in ("family", "mode", "b", "b verdict", "c", "c verdict", "pts"):
        table.add_column(
            col, justify="left" if "verdict" in col or col in ("family", "mode") else "right"
        )
    for row in fits.to_dict("records"):
        table.add_row(
            str(row["family"]), str(row["mode"]), _est(row, "b"), str(row["b_verdict"]),
            _est(row, "c"), str(row["c_verdict"]),
            f"{row['points']}/{row['below']}/{row['censored']}",
        )  # fmt: skip
    console.print(table)


def _est(row: dict[Any, Any], name: str) -> str:
    est, lo, hi = (float(row[k]) for k in (name, f"{name}_lo", f"{name}_hi"))
    if est != est:
        return "-"
    return f"{est:.2f} [{lo:.2f}, {hi:.2f}]"


def _run_from_options(spec: TheoremSpec, options: RunOptions) -> None:
    run_theorem_spec(spec, options.out, options.quiet)


RUNNERS["theorem"] = _run_from_options
