"""The regime map's driver: paired soft - hard differences of stored runs, one folder.

:func:`compare_runs` is the one place a comparison is assembled (load the runs, choose the heat
map's axes, pair, name the constant settings, write); ``softhard compare`` and
:func:`regimes_stage`, reproduce's stage (the ``regimes_digits`` sweep, then
:func:`compare_runs`), both call it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from softhard.config import shipped_configs
from softhard.studies.regimes.compare import (
    SETTING_COLUMNS,
    load_results,
    paired_compare,
    varying_axes,
)
from softhard.studies.regimes.plot import write_comparison
from softhard.studies.stage import stage_store
from softhard.sweep import load_sweep_spec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig

CELL_ORDER = ("task", "width")
"""The cell of a comparison: every other varying setting is an axis beside these."""

QUICK_REGIMES = ["base.data_seeds=[0,1]", "base.seeds=[0]", "base.train.epochs=150"]
REGIME_HORIZONS: dict[bool, list[Any]] = {True: [50, "last"], False: [50, "last"]}
PAIRING = "task (name without data seed), width, data seed, student seed, settings"
INTERVALS = "over data seeds, student seeds averaged within each data seed"


def constant_settings(results: pd.DataFrame) -> dict[str, Any]:
    """The settings (and the teacher's test accuracy) the same in every run of ``results``, as
    plain JSON values: the heat map's title and the comparison's manifest name them; a teacher
    accuracy that varies is given as its range ``min..max``."""
    keep = [*SETTING_COLUMNS, "soft_weight", "dim", "teacher_test_acc"]
    out = {}
    for col in keep:
        if col in results.columns and results[col].nunique(dropna=False) == 1:
            value = results[col].iloc[0]
            out[col] = value.item() if hasattr(value, "item") else value
    if "teacher_test_acc" not in out and "teacher_test_acc" in results.columns:
        acc = results["teacher_test_acc"]
        out["teacher_test_acc"] = f"{acc.min():.3f}..{acc.max():.3f}"
    plain: dict[str, Any] = json.loads(json.dumps(out, default=str))
    return plain


def heatmap_axes(results: pd.DataFrame, x: str | None, y: str | None) -> tuple[list[str], str, str]:
    """The varying axes of ``results`` and the heat map's ``x`` and ``y`` (given or chosen)."""
    axes = varying_axes(results)
    x = x or next((a for a in axes if a not in CELL_ORDER), "width")
    y = y or ("task" if x != "task" else "width")
    extra = [a for a in (x, y) if a not in (*CELL_ORDER, *axes)]
    return [*axes, *extra], x, y


def compare_runs(
    source: str | Path,
    out: Path,
    name: str,
    *,
    sweep: str | None = None,
    x: str | None = None,
    y: str | None = None,
    method: Literal["t", "bootstrap"] = "t",
    epochs: list[Any] | None = None,
    **manifest: Any,
) -> tuple[pd.DataFrame, Path]:
    """Pair the runs of ``source`` (run folder, export or store with ``sweep``) soft against hard
    per cell and horizon (``epochs``, default the last), and write the comparison folder
    ``out/<name>-...`` with its heat map over ``x`` and ``y`` (chosen by :func:`heatmap_axes`
    when not given) titled with the :func:`constant_settings`; the paired frame and the folder.
    ``manifest``: more settings for the folder's config and manifest."""
    results, curves = load_results(source, sweep)
    axes, x, y = heatmap_axes(results, x, y)
    horizons = epochs if epochs is not None else ["last"]
    frame = paired_compare(
        results,
        curves=curves,
        axes=axes,
        method=method,
        epochs=horizons,  # type: ignore[arg-type]
    )
    settings = constant_settings(results)
    path = write_comparison(
        frame, out, name, x=x, y=y, settings=settings, source=str(source), sweep=sweep,
        method=method, epochs=horizons, constant_settings=settings, pairing=PAIRING,
        intervals=INTERVALS, **manifest,
    )  # fmt: skip
    return frame, path


def regimes_stage(
    folder: Path, quick: bool, progress: bool, *, executor: ExecutorConfig | None = None
) -> Path:
    """The paired regime map: the ``regimes_digits`` sweep, then soft - hard per cell and horizon."""
    spec = load_sweep_spec(shipped_configs()["regimes_digits"], QUICK_REGIMES if quick else None)
    store = stage_store(folder)
    run_sweep(spec, store_dir=store, executor=executor, progress=progress)
    _, path = compare_runs(
        store, folder, f"compare-{spec.name}", sweep=spec.name, method="t",
        epochs=REGIME_HORIZONS[quick], kind="regimes",
        quick_overrides=QUICK_REGIMES if quick else [],
    )  # fmt: skip
    return path


__all__ = ["CELL_ORDER", "compare_runs", "constant_settings", "heatmap_axes", "regimes_stage"]
