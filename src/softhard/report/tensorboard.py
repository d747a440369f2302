"""Export runs to TensorBoard event files (optional extra: ``pip install 'softhard[tensorboard]'``).

One event folder per trained student (or teacher): its per-epoch curves as scalars
``curves/<metric>`` at step = epoch, its final metrics as ``final/<metric>`` (at the last epoch)
and its settings as text. Works for a run folder (``results`` + ``curves.parquet``, two-layer or
deep) and for a sweep store (``softhard.sqlite``). Open with ``tensorboard --logdir OUT``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from softhard.errors import ConfigError, DataError
from softhard.replication import PAIR_KEYS
from softhard.sweep.rows import current_columns
from softhard.sweep.store import RunStore

# one event run per student: its task, role, label mode, width and units of replication
KEYS = ("task", "role", "label_mode", "width", *PAIR_KEYS)
SETTINGS = ("noise", "mix", "flip", "temperature", "soft_weight", "lr", "epochs", "gamma", "arch")
CURVE_SKIP = (*KEYS, "epoch", "run_id", "noise", "mix", "flip", "task_index")
FINAL = ("final_loss", "avg_loss", "train_acc", "test_acc", "kl_to_teacher", "gamma", "epochs_run")


def _writer_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        raise ConfigError(
            "TensorBoard export needs the 'tensorboard' package: pip install 'softhard[tensorboard]'"
        ) from None
    return SummaryWriter


def _name(row: Mapping[Any, Any]) -> str:
    parts = [f"{k}={row[k]}" for k in KEYS if k in row and not _missing(row[k])]
    if "id" in row:
        parts.append(str(row["id"])[:12])
    return re.sub(r"[^A-Za-z0-9=._-]+", "_", "__".join(parts))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _write_one(
    writer_cls: Any,
    folder: Path,
    curves: pd.DataFrame,
    final: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    metrics = [
        c
        for c in curves.columns
        if c not in CURVE_SKIP and pd.api.types.is_numeric_dtype(curves[c])
    ]
    writer = writer_cls(log_dir=str(folder))
    try:
        last = 0
        for row in curves.sort_values("epoch").itertuples(index=False):
            step = int(row.epoch)
            last = step
            for metric in metrics:
                value = _number(getattr(row, metric))
                if value is not None:
                    writer.add_scalar(f"curves/{metric}", value, step)
        for metric, value in final.items():
            number = _number(value)
            if number is not None:
                writer.add_scalar(f"final/{metric}", number, last)
        writer.add_text("settings", json.dumps(settings, default=str, sort_keys=True))
    finally:
        writer.close()


def export_run_folder(run: str | Path, out: str | Path) -> list[Path]:
    """Event folders for every student (and deep teacher) of a run folder; returns them."""
    run, out = Path(run), Path(out)
    curves_file = run / "curves.parquet"
    results = next(
        (run / f for f in ("results.parquet", "results.csv") if (run / f).is_file()), None
    )
    if not curves_file.is_file() or results is None:
        missing = [
            n
            for n, ok in (("curves.parquet", curves_file.is_file()), ("results", results))
            if not ok
        ]
        raise DataError(
            f"TensorBoard export: {run} is not a run folder with curves: missing {', '.join(missing)}"
        )
    writer_cls = _writer_class()
    table = pd.read_parquet(results) if results.suffix == ".parquet" else pd.read_csv(results)
    table = current_columns(table)  # run folders written before a column was renamed
    curves = pd.read_parquet(curves_file)
    if "role" not in curves:
        curves = curves.assign(role="student")
    keys = [k for k in KEYS if k in curves.columns]
    finals = {tuple(r[k] for k in keys if k != "role"): r for r in table.to_dict("records")}
    folders = []
    for key, group in curves.groupby(keys, sort=False):
        ident = dict(zip(keys, key, strict=True))
        row = (
            finals.get(tuple(v for k, v in ident.items() if k != "role"), {})
            if ident.get("role") == "student"
            else {}
        )
        final = {m: row[m] for m in FINAL if m in row}
        settings = {**ident, **{s: row[s] for s in SETTINGS if s in row}, "run_folder": str(run)}
        folder = out / run.name / _name(ident)
        _write_one(writer_cls, folder, group, final, settings)
        folders.append(folder)
    return folders


def export_store(store_dir: str | Path, out: str | Path, sweep: str | None = None) -> list[Path]:
    """Event folders for every done run of a sweep store (or of one ``sweep``); returns them."""
    writer_cls = _writer_class()
    out = Path(out)
    folders = []
    with RunStore(store_dir) as store:
        runs = store.runs(sweep, status="done")
        curves = store.curves(sweep)
    by_run = dict(tuple(curves.groupby("run_id", sort=False)))
    for row in runs.to_dict("records"):
        group = by_run.get(row["id"])
        if group is None:
            continue
        final = {m: row[m] for m in FINAL if m in row}
        settings = {k: row[k] for k in (*KEYS, *SETTINGS, "id") if k in row}
        folder = out / _name(row)
        _write_one(writer_cls, folder, group, final, settings)
        folders.append(folder)
    return folders
