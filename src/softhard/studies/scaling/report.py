"""The scaling study's run folder: tables, the two figures, the manifest; and its terminal table."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from softhard.ntk.separability import margin_info
from softhard.report.rundir import write_run
from softhard.studies.scaling.fit import THEORY
from softhard.studies.scaling.levels import Level
from softhard.studies.scaling.search import range_counts
from softhard.studies.scaling.spec import ScalingSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def write_folder(
    spec: ScalingSpec,
    levels: list[Level],
    table: pd.DataFrame,
    fits: pd.DataFrame,
    by_choice: pd.DataFrame,
    *,
    quick: bool,
    trained: int,
    seconds: float,
    out_dir: Path,
    t_run: int,
) -> Path:
    """Write the study's run folder with :func:`softhard.report.rundir.write_run` (atomic):
    ``config.yaml``, ``min_widths``, ``fits`` and ``fits_by_choice`` (CSV and parquet), the two
    figures and ``manifest.json``; return its path."""
    title = settings_line(spec, t_run, quick)

    def figures(folder: Path) -> None:
        plot_m_vs_gamma(table, folder / "m_vs_gamma.png", title)
        plot_m_vs_eps(table, folder / "m_vs_eps.png", title)

    base = spec.base_config()
    return write_run(
        out_dir,
        spec,
        name=spec.name + ("-quick" if quick else ""),
        tables={
            "min_widths": table.drop(columns=["_choice"], errors="ignore"),
            "fits": fits,
            "fits_by_choice": by_choice,
        },
        figures=figures,
        manifest={
            "quick": quick,
            "seeds": spec.seeds,
            "boot_seed": spec.boot_seed,
            "n_boot": spec.n_boot,
            "run_epochs": t_run,
            "teacher_seed": base.teacher.seed,
            "data_seeds": [lv.task.config.seed for lv in levels],
            "dtype": base.dtype,
            "engine": base.engine,
            "trained": trained,
            "seconds": round(seconds, 2),
            "teachers": [lv.task.teacher.info for lv in levels],
            "margins": [_margin(lv) for lv in levels],
            "in_range": _range_counts(table),
        },
    )


def _range_counts(table: pd.DataFrame) -> list[dict[Hashable, Any]]:
    return range_counts(table).to_dict("records") if len(table) else []


def _margin(level: Level) -> dict[str, Any]:
    m = level.task.margin
    return {"level": level.name, **(margin_info(m) if m is not None else {})}


def settings_line(spec: ScalingSpec, t_run: int, quick: bool) -> str:
    base = spec.base_config()
    t = base.train
    return (
        f"{spec.name}{' (quick)' if quick else ''}: teacher {base.teacher.kind}, {t.optimizer} "
        f"lr={t.lr:g}{f' rho={t.rho:g}' if t.rho else ''}, T(eps)=ceil(k/eps) k: "
        f"{_constants(spec)}, capacity horizon "
        f"{spec.capacity.epochs}, runs {t_run} epochs, widths {spec.min_width}..{spec.max_width}, "
        f"({spec.width_steps} per doubling), {len(spec.seeds)} seeds, "
        f"temperature {base.temperature:g}"
    )


def _constants(spec: ScalingSpec) -> str:
    return " ".join(
        f"{key} {','.join(f'{k:g}' for k in spec.constants(key))}" for key in spec.eps_keys()
    )


def _primary(table: pd.DataFrame) -> pd.DataFrame:
    """The primary choice's rows: first eps rule, first constant (theorem) / longest T (capacity)."""
    out = []
    for (view, _loss, _mode), grp in table.groupby(["view", "loss", "mode"], sort=False):
        grp = grp[grp["eps_rule"] == grp["eps_rule"].iloc[0]]
        if view == "theorem":
            grp = grp[grp["constant"] == grp["constant"].iloc[0]]
        else:
            grp = grp[grp["horizon"] == grp["horizon"].max()]
        out.append(grp)
    return pd.concat(out) if out else table


def _panels(table: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str]]:
    rows = list(dict.fromkeys(zip(table["view"], table["loss"], strict=True)))
    return rows, list(dict.fromkeys(table["mode"]))


def _panel_grid(
    table: pd.DataFrame,
) -> tuple[Figure, list[tuple[Axes, str, str, str, pd.DataFrame]]]:
    """A figure with one panel per view x loss (rows) and mode (columns), and for each panel
    ``(axes, view, loss, mode, rows of the primary choice)``."""
    prim = _primary(table)
    rows, modes = _panels(prim)
    fig, axes = plt.subplots(
        len(rows), len(modes), figsize=(5 * len(modes), 3.6 * len(rows)), squeeze=False
    )
    panels = []
    for r, (view, loss) in enumerate(rows):
        for c, mode in enumerate(modes):
            sel = prim[(prim["view"] == view) & (prim["loss"] == loss) & (prim["mode"] == mode)]
            panels.append((axes[r][c], view, loss, mode, sel))
    return fig, panels


def plot_m_vs_gamma(table: pd.DataFrame, path: Path, title: str) -> None:
    """m* against 1/gamma (log-log) per view x loss (rows) and mode (columns), one line per eps;
    censored points as open markers at the cap; the theory's slope b through the data's centre."""
    fig, panels = _panel_grid(table)
    for ax, view, loss, mode, sel in panels:
        for i, (eps, grp) in enumerate(sel.groupby("eps", sort=False)):
            _series(ax, 1 / grp["gamma"], grp, f"eps={eps:.3g}", f"C{i % 10}")
        _theory_line(ax, 1 / sel["gamma"], sel, THEORY["hard" if mode == "hard" else "soft"]["b"])
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="1/gamma",
            ylabel="m*",
            title=f"{view} view, {loss} loss, {mode}",
        )
        ax.legend(fontsize=6)
    _finish(fig, path, "m* vs 1/gamma; open markers: censored (at the cap). " + title)


def plot_m_vs_eps(table: pd.DataFrame, path: Path, title: str) -> None:
    """m* against 1/eps (log-log) per panel, one line per level; censored open at the cap."""
    fig, panels = _panel_grid(table)
    for ax, view, loss, mode, sel in panels:
        for i, (level, grp) in enumerate(sel.groupby("level", sort=False)):
            label = f"{level} (gamma={grp['gamma'].iloc[0]:.3g})"
            _series(ax, 1 / grp["eps"], grp, label, f"C{i % 10}")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="1/eps",
            ylabel="m*",
            title=f"{view} view, {loss} loss, {mode} (eps rule {_rule(sel)})",
        )
        ax.legend(fontsize=6)
    _finish(fig, path, "m* vs 1/eps; open markers: censored (at the cap). " + title)


def _rule(sel: pd.DataFrame) -> str:
    return str(sel["eps_rule"].iloc[0]) if len(sel) else "-"


def _series(ax: Axes, x: pd.Series, grp: pd.DataFrame, label: str, color: str) -> None:
    order = np.argsort(x.to_numpy())
    xs, g = x.to_numpy()[order], grp.iloc[order]
    ok = ~g["censored"].to_numpy(bool)
    ax.plot(xs[ok], g["m_star"].to_numpy()[ok], "o-", color=color, label=label, ms=4)
    if ok.any():
        err = np.abs(np.vstack([g["m_star"] - g["ci_low"], g["ci_high"] - g["m_star"]])[:, ok])
        ax.errorbar(
            xs[ok],
            g["m_star"].to_numpy()[ok],
            yerr=np.where(np.isfinite(err), err, 0),
            fmt="none",
            color=color,
            alpha=0.5,
        )
    if (~ok).any():
        ax.plot(xs[~ok], g["cap"].to_numpy()[~ok], "o", mfc="none", color=color, ms=7)


def _theory_line(ax: Axes, x: pd.Series, sel: pd.DataFrame, slope: float) -> None:
    ok = ~sel["censored"].to_numpy(bool)
    if ok.sum() < 1:
        return
    lx, ly = np.log(x.to_numpy()[ok]), np.log(sel["m_star"].to_numpy()[ok])
    grid = np.linspace(np.log(x.min()), np.log(x.max()), 20)
    ax.plot(
        np.exp(grid),
        np.exp(ly.mean() + slope * (grid - lx.mean())),
        "k--",
        lw=1,
        label=f"theory slope {slope:g}",
    )


def _finish(fig: Figure, path: Path, title: str) -> None:
    fig.suptitle("\n".join(textwrap.wrap(title, 140)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(value: float) -> str:
    """An exponent with 2 decimals (width-bounded); inf and nan spelled out."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{round(value, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"


class _FitRow(Protocol):
    """A row of ``fits.csv`` (:data:`softhard.studies.scaling.tables.FITS_COLUMNS`), as
    ``DataFrame.itertuples`` yields it."""

    loss: str
    mode: str
    term: str
    estimate: float
    ci_low: float
    ci_high: float
    theory: float
    verdict: str
    n_used: int
    n_censored: int


def exponents_text(fits: pd.DataFrame) -> list[tuple[str, str, str, str, str, str]]:
    """Rows for the terminal: fit, estimate, 95% interval, theory, verdict, points used/censored.

    A fit that is not estimable (every point at one m*, e.g. all at 2, or too few points) prints
    "-" for the estimate and the interval; an interval that is nan because some horizon or eps-rule
    choice could not be fitted prints "-" too. Their verdict says "not identified"."""
    out = []
    for row in cast("Iterable[_FitRow]", fits.itertuples(index=False)):
        interval = not any(math.isnan(float(v)) for v in (row.ci_low, row.ci_high))
        out.append(
            (
                f"{row.loss} {row.mode} {row.term}",
                "-" if math.isnan(float(row.estimate)) else fmt(row.estimate),
                f"[{fmt(row.ci_low)}, {fmt(row.ci_high)}]" if interval else "-",
                f"{row.theory:g}",
                str(row.verdict),
                f"{row.n_used}/{row.n_censored}",
            )
        )
    return out


def manifest_of(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text())
    return manifest


def range_text(counts: pd.DataFrame) -> list[tuple[str, str, str, str, str, str]]:
    """Rows for the terminal: view, mode, in [4, cap/4] / total, below 4, above cap/4, censored."""
    return [
        (
            str(r.view),
            str(r.mode),
            f"{r.in_range}/{r.total}",
            str(r.below),
            str(r.above),
            str(r.censored),
        )
        for r in counts.itertuples(index=False)
    ]
