"""Rows of the run store: a run's columns, its per-epoch curve rows, JSON-safe metrics, and the
metrics column expanded into a table (moved out of :mod:`softhard.sweep.store`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from softhard.train import CURVE_COLUMNS, VAL_COLUMNS
from softhard.tuning import TUNED_COLUMNS

OPTIONAL_CURVES = (
    *VAL_COLUMNS,  # students with a validation split (tuned ones)
    *TUNED_COLUMNS,  # the per-horizon choices of tuned students (softhard.tuning)
)
"""Curves only some runs record: left out of a store's curve table where no run has them."""
STORED_CURVES = (
    *CURVE_COLUMNS,  # every per-epoch curve (the yardstick too: the scaling study reads it)
    *OPTIONAL_CURVES,
)


def run_values(run: Any, now: float) -> tuple[Any, ...]:
    cfg = run.config
    return (
        run.id,
        run.config_json(),
        cfg.tasks[0].display,
        cfg.widths[0],
        cfg.seeds[0],
        cfg.label_modes[0],
        now,
    )


def curve_rows(outcome: Any) -> list[tuple[Any, ...]]:
    """One row per epoch; a curve the study does not record (deep students have no
    ``kl`` or yardstick) is NULL."""
    given = [outcome.curves[c] for c in STORED_CURVES if c in outcome.curves]
    n = min((len(c) for c in given), default=0)
    cols = [outcome.curves.get(c, [math.nan] * n) for c in STORED_CURVES]
    return [(outcome.run_id, t, *(finite_or_none(c[t]) for c in cols)) for t in range(n)]


def finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe metrics: numpy scalars to Python, NaN/inf kept as strings JSON can carry."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        out[key] = value
    return out


def expand_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    metrics = [json.loads(m) if isinstance(m, str) else {} for m in frame.pop("metrics")]
    extra = pd.DataFrame(metrics, index=frame.index)
    for col in extra.columns:
        extra[col] = extra[col].map(lambda v: float(v) if v in ("nan", "inf", "-inf") else v)
    extra = extra.drop(
        columns=[c for c in extra.columns if c in frame.columns and c != "task"], errors="ignore"
    )
    if "task" in extra.columns:
        extra = extra.drop(columns="task")
    out: pd.DataFrame = pd.concat([frame, extra], axis=1)
    return current_columns(out)


RENAMED_COLUMNS = {"kd_weight": "soft_weight"}
"""Result columns renamed since older run folders and run stores were written: old -> new (the
resolved soft-term weight was called ``kd_weight``, the name of the mixed-mode weight)."""


def current_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a results table, store runs or an export) with :data:`RENAMED_COLUMNS` under
    their current names; where both names are present (a store resumed across the rename) the
    new column is filled from the old one, row by row."""
    for old, new in RENAMED_COLUMNS.items():
        if old not in frame.columns:
            continue
        if new in frame.columns:
            frame = frame.assign(**{new: frame[new].fillna(frame[old])})
            frame = frame.drop(columns=old)
        else:
            frame = frame.rename(columns={old: new})
    return frame


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = [
    "OPTIONAL_CURVES",
    "RENAMED_COLUMNS",
    "STORED_CURVES",
    "chunks",
    "current_columns",
    "curve_rows",
    "expand_metrics",
    "finite_or_none",
    "plain_row",
    "run_values",
]
