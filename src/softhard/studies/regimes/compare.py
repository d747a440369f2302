"""Paired soft-versus-hard comparison: where do soft labels win on test accuracy, and how surely?

A *pair* is a soft student and a hard student that share everything but their labels: the task
(its name, which leaves the data seed out), the width, the data seed (split, subsample, flips,
noise and therefore the teacher), the student seed (initialisation) and every setting. A *cell*
is a task x width x setting; its effect is the mean over pairs of ``soft - hard`` test accuracy.

Data seeds are the unit of replication: the paired differences are first averaged over the
student seeds within a data seed, then the interval is taken over data seeds (``unit`` says so).
Where a cell has a single data seed the student seeds are the units instead, and ``unit`` says
that. Intervals: a percentile bootstrap over units (``method="bootstrap"``) or a Student-t
interval (``method="t"``). A cell is ``significant`` when its interval excludes 0; ``sign`` is
"+" (soft better) or "-" (hard better) for significant cells and "0" otherwise.

Horizons come from the curves: the difference after ``e`` epochs of one run, for several ``e``
(the curve row ``e`` holds the metrics after e epochs; the configured last epoch is the final
result). ``n_dropped`` counts a cell's (data seed, student seed) pairs left out because a student is
missing or diverged. Step sizes are reported per cell: ``step_ratio`` is the soft arm's effective step over
the hard arm's, ``lr_soft * s(T) / lr_hard`` with ``s = 1`` under ``t2_scaling`` and ``1/T^2``
without (the curvature of each objective in the logit; docs/regimes.md), and ``steps`` says
"matched" or not; for students tuned on validation data (:mod:`softhard.tuning`) ``steps`` is
"tuned" and ``lr_soft_chosen``/``lr_hard_chosen`` and ``stop_soft``/``stop_hard`` give each
arm's median chosen rate and stopping epoch at that horizon; ``lr_edge`` names each arm whose
median chosen rate is the grid's largest ("soft top") or smallest ("hard bottom"): the grid
may censor that arm's best rate, so the cell is not fully tuned; ``t_soft_chosen`` is the soft
arm's median chosen temperature where the temperature is tuned too (``tune.temperatures``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from softhard.errors import ConfigError, DataError
from softhard.replication import PAIR_KEYS, paired_interval, unit_means
from softhard.sweep.rows import current_columns
from softhard.sweep.store import STORE_FILE, RunStore
from softhard.tuning import on_edge

Method = Literal["bootstrap", "t"]
Epoch = int | Literal["last"]

# settings that may distinguish cells; all are equal for the two students of a pair
SETTING_COLUMNS = (
    "source",
    "task_spec",
    "noise",
    "flip",
    "mix",
    "max_train",
    "student_max_train",
    "temperature",
    "optimizer",
    "batch_size",
    "epochs",
    "teacher_stop_rule",
    "teacher_epochs",
    "t2_scaling",
    "lr_soft",
    "lr_hard",
)
IN_TASK_NAME = ("source", "task_spec", "noise", "flip", "mix", "student_max_train")
OUTPUT_COLUMNS = (
    "epoch",
    "mean_diff",
    "ci_low",
    "ci_high",
    "n_seeds",
    "n_pairs",
    "method",
    "significant",
    "sign",
    "mean_soft",
    "mean_hard",
    "unit",
    "step_ratio",
    "steps",
    "n_dropped",
    "lr_soft_chosen",
    "lr_hard_chosen",
    "stop_soft",
    "stop_hard",
    "lr_edge",
    "t_soft_chosen",
)
_KEY = "_curve_key"


def paired_compare(
    table: pd.DataFrame,
    *,
    curves: pd.DataFrame | None = None,
    axes: Sequence[str] | None = None,
    method: Method = "t",
    epochs: Sequence[Epoch] | None = None,
    metric: str = "test_acc",
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Soft minus hard ``metric`` per cell x epoch, with a paired interval over data seeds.

    Args:
        table: one row per student (``results.parquet`` of a run, or a run store's runs), with
            ``task``, ``width``, ``seed``, ``label_mode``, ``metric`` and the settings; a
            ``data_seed`` column (absent: one data seed).
        curves: per-epoch metrics (needed for integer ``epochs``), joined to ``table`` on
            ``_curve_key`` (see :func:`load_results`) or on task, width, seed, label mode.
        axes: setting columns that define cells besides ``task`` and ``width``; None: every
            column of :data:`SETTING_COLUMNS` that takes more than one value in ``table``.
        method: "t" (default) or "bootstrap" (percentile, ``n_boot`` resamples seeded by
            ``seed``). With few units the percentile bootstrap is liberal (its interval is
            about z/t narrower): in ``tests/test_regimes.py`` it marked 24 of 200 null cells of
            8 data seeds significant, the t interval 7; prefer "t" below about 20 data seeds.
        epochs: horizons (integers and/or "last"); None: ``["last"]``.

    Returns:
        One row per cell x epoch: ``task``, ``width``, the axes, then :data:`OUTPUT_COLUMNS`.
    """
    if method not in ("bootstrap", "t"):
        raise ConfigError(f"method must be 'bootstrap' or 't', got {method!r}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence!r}")
    table = _prepared(table, metric)
    axes = list(axes) if axes is not None else varying_axes(table)
    missing = [a for a in axes if a not in table.columns]
    if missing:
        raise ConfigError(
            f"axes {missing} are not columns of the table; columns that can be axes: "
            f"{', '.join(c for c in SETTING_COLUMNS if c in table.columns)}"
        )
    cells = ["task", "width", *[a for a in axes if a not in ("task", "width")]]
    long = horizon_values(table, curves, epochs or ["last"], metric)
    rows = []
    for i, (key, group) in enumerate(long.groupby([*cells, "epoch"], sort=True, dropna=False)):
        stats_row = _cell_stats(group, method, confidence, n_boot, (seed, i))
        if stats_row is not None:
            rows.append({**dict(zip([*cells, "epoch"], key, strict=True)), **stats_row})
    if not rows:
        _no_horizon_reached(table, epochs or ["last"])
        raise DataError(
            "no soft/hard pairs to compare: the table needs students of both label modes "
            "'soft' and 'hard' with the same task, width, data seed, student seed and settings"
        )
    paired: pd.DataFrame = pd.DataFrame(rows)[[*cells, *OUTPUT_COLUMNS]]
    return paired


def _no_horizon_reached(table: pd.DataFrame, epochs: Sequence[Epoch]) -> None:
    """A ConfigError naming the epochs that exist when every horizon asked is beyond them."""
    trained = sorted(int(e) for e in table["epochs"].dropna().unique() if int(e) >= 0)
    if "last" in epochs or not trained:
        return
    beyond = [int(e) for e in epochs if isinstance(e, int | np.integer) and e > trained[-1]]
    if len(beyond) == len(epochs):
        raise ConfigError(
            f"--epochs {','.join(map(str, beyond))}: every horizon is beyond the training (its "
            f"students ran {', '.join(map(str, trained))} epochs); ask for epochs up to "
            f"{trained[-1]}, or 'last'"
        )


def varying_axes(table: pd.DataFrame) -> list[str]:
    """Columns of :data:`SETTING_COLUMNS` with more than one value in ``table``, except those
    the task's name already tells (:data:`IN_TASK_NAME`)."""
    return [
        c
        for c in SETTING_COLUMNS
        if c in table.columns and c not in IN_TASK_NAME and table[c].nunique(dropna=False) > 1
    ]


def _prepared(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    need = ["task", "width", "seed", "label_mode", metric]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(f"the results table lacks the column(s) {missing}; it has {list(table)}")
    table = table[table[metric].notna()].copy()
    if "data_seed" not in table.columns:
        table["data_seed"] = 0
    if "diverged" not in table.columns:
        table["diverged"] = False
    for col in SETTING_COLUMNS:  # NaN/None settings ("not set") must still group and pair
        if col in table.columns and table[col].isna().any():
            table[col] = table[col].astype(object).where(table[col].notna(), "none")
    if "epochs" not in table.columns:
        table["epochs"] = -1
    if _KEY not in table.columns:
        table[_KEY] = _default_keys(table)
    return table


def _default_keys(frame: pd.DataFrame) -> pd.Series:
    cols = [c for c in ("task_index", "task", "data_seed", "width", "seed", "label_mode")]
    cols = [c for c in cols if c in frame.columns]
    keys: pd.Series = frame[cols].astype(str).agg("|".join, axis=1)
    return keys


def horizon_values(
    table: pd.DataFrame, curves: pd.DataFrame | None, epochs: Sequence[Epoch], metric: str
) -> pd.DataFrame:
    """``table`` repeated per horizon with ``epoch`` and ``value`` (the metric after e epochs).

    "last" is the final result at the configured number of epochs; an integer e below it reads
    curve row e; a horizon beyond a student's configured epochs is left out for that student.
    """
    parts = []
    for e in dict.fromkeys(epochs):
        if e == "last":
            part = table.assign(epoch=table["epochs"], value=table[metric], **_last_choices(table))
        elif isinstance(e, int | np.integer) and e >= 0:
            part = _at_epoch(table, curves, int(e), metric)
        else:
            raise ConfigError(f"epochs must be integers >= 0 or 'last', got {e!r}")
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    unique: pd.DataFrame = out.drop_duplicates(subset=[_KEY, "epoch"])
    return unique


def _last_choices(table: pd.DataFrame) -> dict[str, pd.Series]:
    """A tuned student's chosen rate and stopping epoch at its horizon (NaN when not tuned)."""
    nan = pd.Series(np.nan, index=table.index)
    tuned = table["steps"] == "tuned" if "steps" in table.columns else nan.notna()
    lr = table["lr"].where(tuned, np.nan) if "lr" in table.columns else nan
    stop = table["tuned_epoch"] if "tuned_epoch" in table.columns else nan
    temp = table["tuned_temperature"] if "tuned_temperature" in table.columns else nan
    return {
        "chosen_lr": lr.astype(float),
        "chosen_epoch": stop.where(tuned, np.nan).astype(float),
        "chosen_temperature": temp.where(tuned, np.nan).astype(float),
    }


def _at_epoch(
    table: pd.DataFrame, curves: pd.DataFrame | None, e: int, metric: str
) -> pd.DataFrame:
    final: pd.DataFrame = table[table["epochs"] == e].assign(epoch=e, value=lambda t: t[metric])
    final = final.assign(**_last_choices(final))
    early = table[table["epochs"] > e]
    if early.empty:
        return final
    if curves is None or metric not in curves.columns:
        raise DataError(
            f"the difference at epoch {e} is read from the curves, and no per-epoch '{metric}' "
            "was given (curves.parquet of the run, or the run store's curves)"
        )
    if _KEY not in curves.columns:
        curves = curves.assign(**{_KEY: _default_keys(curves)})
    names = {metric: "value", "tuned_lr": "chosen_lr", "tuned_epoch": "chosen_epoch"}
    names["tuned_temperature"] = "chosen_temperature"
    cols = [c for c in (_KEY, *names) if c in curves.columns]
    at = curves.loc[curves["epoch"] == e, cols].rename(columns=names)
    for col in ("chosen_lr", "chosen_epoch", "chosen_temperature"):
        if col not in at.columns:
            at[col] = np.nan
    merged = early.merge(at, on=_KEY, how="inner").assign(epoch=e)
    both: pd.DataFrame = pd.concat([final, merged], ignore_index=True)
    return both


def _cell_stats(
    group: pd.DataFrame, method: Method, confidence: float, n_boot: int, seed: tuple[int, int]
) -> dict[str, object] | None:
    ok = group[~group["diverged"].astype(bool)]
    soft = ok[ok["label_mode"] == "soft"].set_index(list(PAIR_KEYS))
    hard = ok[ok["label_mode"] == "hard"].set_index(list(PAIR_KEYS))
    both = soft.index.intersection(hard.index)
    if soft.index.has_duplicates or hard.index.has_duplicates:
        raise DataError(
            f"cell {group['task'].iloc[0]!r} (width {group['width'].iloc[0]}) has several "
            "students per data seed, seed and label mode: a setting that varies is not an axis"
        )
    if len(both) == 0:
        return None
    s, h = soft.loc[both], hard.loc[both]
    diffs, unit = unit_means(s["value"] - h["value"])
    low, high = paired_interval(diffs.to_numpy(), method, confidence, n_boot, seed)
    mean = float(diffs.mean())
    significant = bool(low > 0 or high < 0)
    ratio = _step_ratio(s, h)
    tuned = bool(s["chosen_lr"].notna().any() and h["chosen_lr"].notna().any())
    arms = group[group["label_mode"].isin(["soft", "hard"])]
    n_keys = len(arms[["data_seed", "seed"]].drop_duplicates())
    return {
        "mean_diff": mean,
        "ci_low": low,
        "ci_high": high,
        "n_seeds": len(diffs),
        "n_pairs": len(both),
        "method": method if method == "t" else "bootstrap (percentile)",
        "significant": significant,
        "sign": ("+" if mean > 0 else "-") if significant else "0",
        "mean_soft": float(s["value"].mean()),
        "mean_hard": float(h["value"].mean()),
        "unit": unit,
        "step_ratio": ratio,
        "steps": "tuned"
        if tuned
        else "matched"
        if math.isclose(ratio, 1.0, rel_tol=1e-9)
        else f"soft x{ratio:.3g}",
        "n_dropped": n_keys - len(both),
        "lr_soft_chosen": _median(s, "chosen_lr"),
        "lr_hard_chosen": _median(h, "chosen_lr"),
        "stop_soft": _median(s, "chosen_epoch"),
        "stop_hard": _median(h, "chosen_epoch"),
        "lr_edge": _edges(s, h),
        "t_soft_chosen": _median(s, "chosen_temperature"),
    }


def _edges(soft: pd.DataFrame, hard: pd.DataFrame) -> str:
    """The arms whose median chosen rate is on the edge of their grid (``lr_grid``), e.g.
    ``"soft top, hard top"``; ``""`` when both are interior or the arms are not tuned."""
    out = []
    for name, arm in (("soft", soft), ("hard", hard)):
        if "lr_grid" not in arm.columns or not len(arm):
            continue
        grid = [float(v) for v in str(arm["lr_grid"].iloc[0]).split(",") if v]
        edge = on_edge(_median(arm, "chosen_lr"), grid)
        if edge:
            out.append(f"{name} {edge}")
    return ", ".join(out)


def _median(arm: pd.DataFrame, column: str) -> float:
    """Median of a tuned arm's choices over its students (NaN when not tuned)."""
    values = arm[column].astype(float).dropna() if column in arm.columns else pd.Series([])
    return float(values.median()) if len(values) else math.nan


def _step_ratio(soft: pd.DataFrame, hard: pd.DataFrame) -> float:
    """Effective step of the soft arm over the hard arm's (module docstring); NaN if unknown."""
    if "lr" not in soft.columns:
        return math.nan
    temp = soft["temperature"].astype(float) if "temperature" in soft.columns else 1.0
    t2 = soft["t2_scaling"] if "t2_scaling" in soft.columns else True
    scale = np.where(pd.Series(t2, index=soft.index).astype(bool), 1.0, 1.0 / temp**2)
    ratio = soft["lr"].astype(float).to_numpy() * scale / hard["lr"].astype(float).to_numpy()
    return float(np.mean(ratio))


def load_results(source: str | Path, sweep: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(results, curves)`` of a run folder, a run-store export or a run store, joined by key.

    A run folder holds ``results.parquet`` and ``curves.parquet``; an export (``softhard runs
    export``) ``runs.parquet`` and ``curves.parquet``; a store folder ``softhard.sqlite`` (all its
    runs, or those of ``sweep``). Failed and pending runs of a store are left out.
    """
    folder = Path(source)
    if (folder / "results.parquet").is_file():
        results = current_columns(pd.read_parquet(folder / "results.parquet"))
        curves = _read_curves(folder)
        for frame in (results, curves):
            frame[_KEY] = _default_keys(frame)
        return results, curves
    if (folder / "runs.parquet").is_file():
        runs = current_columns(pd.read_parquet(folder / "runs.parquet"))
        curves = _read_curves(folder)
    elif (folder / STORE_FILE).is_file():
        with RunStore(folder) as store:
            runs, curves = store.runs(sweep, status="done"), store.curves(sweep)
    else:
        raise DataError(
            f"{folder} is neither a run folder (results.parquet), a run-store export "
            f"(runs.parquet) nor a run store ({STORE_FILE})"
        )
    if "status" in runs.columns:
        runs = runs[runs["status"] == "done"]
    runs = runs.assign(**{_KEY: runs["id"]})
    return runs.reset_index(drop=True), curves.assign(**{_KEY: curves["run_id"]})


def _read_curves(folder: Path) -> pd.DataFrame:
    path = folder / "curves.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["epoch", _KEY])


__all__ = [
    "OUTPUT_COLUMNS",
    "SETTING_COLUMNS",
    "horizon_values",
    "load_results",
    "paired_compare",
    "paired_interval",
    "varying_axes",
]
