"""Golden tables: the canonical form of a result table and its comparison with tolerances.

A table is compared with ``tests/golden/<config>/<table>.csv`` column by column:

- integers, booleans, labels and settings (``lr``, ``temperature``, ...): exactly;
- accuracies (``*acc*``, ``train_error``): within :data:`ACC_EXAMPLES` examples of the set they
  are measured on (``n_test`` / ``n_train`` of the row, or :data:`EVAL_SIZES` for the deep
  cases, whose tables carry no sizes);
- every other float (losses, gamma, fitted exponents, smallest widths):
  ``|a - b| <= RTOL * max(|a|, |b|) + ATOL``.

Tolerances, measured on 2026-12-01 (``bash benchmarks/cpu_capabilities.sh`` reruns the suite
under each setting): the goldens were written on an Intel Xeon with AVX-512 (torch 2.13.0 CPU, 2
threads); every case was then rerun with ``ATEN_CPU_CAPABILITY=avx2``, ``=default`` (no vector
unit) and ``OMP_NUM_THREADS=1`` and compared with ``RTOL = ATOL = 0``:

- ``avx2``: largest relative difference 1.7e-6 (demo ``kl``); the scaling fits' ``ci_low`` /
  ``ci_high`` of an exponent that is 0 in exact arithmetic moved by 8e-17 absolute;
- ``default``: largest relative difference 9.3e-6 (deep_cifar10 ``loss``); only the float32
  configs (demo, deep_*) moved, the float64 ones were bit-identical;
- ``OMP_NUM_THREADS=1``: bit-identical;
- no accuracy, integer, label or setting changed under any of them.

So ``RTOL = 1e-3`` (100 times the largest measured), ``ATOL = 1e-9`` (for values that are 0 up to
rounding) and ``ACC_EXAMPLES = 2`` (none measured). Another BLAS (e.g. on AMD) may move more; a
discrete choice that a float decides (an automatic horizon, a teacher's stopping epoch, a smallest
width) is compared exactly and would show as such.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"

RTOL = 1e-3  # losses, gammas and other measured floats (measured: 9.3e-6 at most)
ATOL = 1e-9  # absolute floor for values that are 0 up to rounding (measured: 8e-17)
ACC_EXAMPLES = 2  # accuracies: examples of the evaluated set that may change (measured: 0)

# test and train set sizes of the cases whose tables carry no n_test / n_train (deep students):
# digits' 1797 examples split 1347 / 450, of which tune holds 269 (20%) out for validation; the
# synthetic CIFAR files of _cifar_folder, 100 / 20, of which 10 (10%) are held out
EVAL_SIZES: dict[str, dict[str, int]] = {
    "deep_digits": {"n_test": 450, "n_train": 1078},
    "deep_cifar10": {"n_test": 20, "n_train": 90},
}

# columns that change from run to run without any number of the study changing
_VOLATILE = re.compile(
    r"(^id$|_id$|^ids?_|seconds|time|date|created|started|finished|updated|owner|host|"
    r"version|git|path|store|lease|heartbeat|pid|^config|^name$|^sweep$|folder|^attempts$)"
)
# float columns that are settings or grid values, not measurements: compared exactly
_SETTINGS = re.compile(
    r"^(noise|flip|mix|temperature|soft_weight|lr|lr_soft|lr_hard|theory|"
    r"student_max_train|max_train|min_width|rho|alpha)$"
)
_ACCURACY = re.compile(r"acc|^train_error$")
# columns of a sweep's runs table that key its curves in place of the run id
_RUN_KEYS = (
    "task", "task_index", "data_seed", "width", "seed", "label_mode", "lr", "temperature",
    "soft_weight", "t2_scaling", "optimizer", "batch_size", "n_train", "n_test",
)  # fmt: skip


def column_kind(column: str, series: pd.Series) -> str:
    """``exact`` (integers, booleans, labels, settings), ``accuracy`` or ``relative``."""
    if not pd.api.types.is_float_dtype(series) or _SETTINGS.search(column):
        return "exact"
    return "accuracy" if _ACCURACY.search(column) else "relative"


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Volatile columns dropped, columns sorted, rows sorted by the exact columns (then the
    measured ones), and sent through the golden CSV format so both sides parse alike."""
    keep = sorted(c for c in frame.columns if not _VOLATILE.search(str(c)))
    frame = frame[keep].copy()
    for col in keep:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: json.dumps(_plain(v), sort_keys=True))
    frame = _from_csv(to_csv(frame))
    exact = [c for c in frame.columns if column_kind(c, frame[c]) == "exact"]
    order = exact + [c for c in frame.columns if c not in exact]
    if order:
        frame = frame.sort_values(order, kind="mergesort").reset_index(drop=True)
    return frame


def to_csv(frame: pd.DataFrame) -> str:
    """The golden format: settings at full precision, measured floats at 9 significant digits."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            fmt = repr if column_kind(col, out[col]) == "exact" else "{:.9g}".format
            out[col] = out[col].map(lambda v, f=fmt: "" if pd.isna(v) else f(float(v)))
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return buffer.getvalue()


def _from_csv(text: str) -> pd.DataFrame:
    if not text.strip():
        return pd.DataFrame()
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table under ``folder`` in canonical form, keyed by table name (a table with a
    parquet twin is read from the parquet: a CSV read back loses dtypes)."""
    raw = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".parquet", ".csv"):
            continue
        if path.suffix == ".csv" and path.with_suffix(".parquet").exists():
            continue
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        key = re.sub(r"^[^/]*-[0-9a-f]{6,}[^/]*/", "", str(path.relative_to(folder)))
        raw[re.sub(r"\.(csv|parquet)$", "", key)] = frame
    return canonical_tables(raw)


def canonical_tables(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """:func:`canonical` of each table; a sweep's curves first get their run's keys."""
    runs = raw.get("runs")
    if runs is not None and "curves" in raw and "run_id" in raw["curves"]:
        keys = runs[["id", *[c for c in _RUN_KEYS if c in runs.columns]]]
        raw["curves"] = raw["curves"].merge(keys.rename(columns={"id": "run_id"}), on="run_id")
    results = raw.get("results")
    if results is not None and "curves" in raw and "n_test" in results:
        on = [c for c in ("task", "data_seed") if c in results and c in raw["curves"]]
        sizes = results[[*on, "n_train", "n_test"]].drop_duplicates()
        raw["curves"] = raw["curves"].merge(sizes, on=on, how="left")
    return {name: canonical(frame) for name, frame in raw.items()}


@dataclass(frozen=True)
class ColumnDiff:
    """The largest difference of one column: rows that differ (exact), examples (accuracy) or
    ``|a - b| / (RTOL * max(|a|, |b|) + ATOL)`` scaled back to a relative difference (relative)."""

    table: str
    column: str
    kind: str
    largest: float
    limit: float

    @property
    def ok(self) -> bool:
        return self.largest <= self.limit

    def line(self) -> str:
        unit = {"exact": "rows differ", "accuracy": "examples", "relative": "relative"}[self.kind]
        flag = "ok" if self.ok else "FAIL"
        return (
            f"{self.table}.{self.column}: {self.largest:.3g} {unit} (limit {self.limit:g}) {flag}"
        )


def compare_tables(
    golden: dict[str, pd.DataFrame], found: dict[str, pd.DataFrame], case: str = ""
) -> list[ColumnDiff]:
    """Column-by-column differences of ``found`` from ``golden`` (missing tables, columns or
    rows are a difference of ``inf``)."""
    diffs = []
    for name in sorted(set(golden) | set(found)):
        g, f = golden.get(name), found.get(name)
        if g is None or f is None or list(g.columns) != list(f.columns) or len(g) != len(f):
            cols = "" if g is None or f is None else f"{list(g.columns)} vs {list(f.columns)}"
            diffs.append(ColumnDiff(name, f"<shape {cols}>", "exact", math.inf, 0))
            continue
        sizes = _eval_sizes(f, case)
        diffs.extend(_column_diff(name, col, g[col], f[col], sizes) for col in g.columns)
    return diffs


def _eval_sizes(frame: pd.DataFrame, case: str) -> dict[str, np.ndarray]:
    fixed = EVAL_SIZES.get(case, {})
    sizes = {}
    for col in ("n_test", "n_train"):
        if col in frame.columns:
            sizes[col] = frame[col].to_numpy(dtype=float)
        else:
            sizes[col] = np.full(len(frame), float(fixed.get(col, math.nan)))
    return sizes


def _column_diff(
    table: str, col: str, g: pd.Series, f: pd.Series, sizes: dict[str, np.ndarray]
) -> ColumnDiff:
    kind = column_kind(col, g) if column_kind(col, f) != "exact" else "exact"
    if kind == "exact":
        same = ((g.isna() & f.isna()) | (g.astype(str) == f.astype(str))).to_numpy(dtype=bool)
        return ColumnDiff(table, col, kind, float((~same).sum()), 0)
    a, b = g.to_numpy(dtype=float), f.to_numpy(dtype=float)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return ColumnDiff(table, col, kind, math.inf, 0)
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    if kind == "accuracy":
        n = sizes["n_train" if "train" in col else "n_test"]
        if np.isnan(n).any():
            raise ValueError(f"{table}.{col}: no set size; add the case to EVAL_SIZES")
        return ColumnDiff(table, col, kind, float((np.abs(a - b) * n).max(initial=0)), ACC_EXAMPLES)
    excess = np.abs(a - b) - ATOL
    rel = np.where(excess > 0, excess / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300), 0)
    return ColumnDiff(table, col, kind, float(rel.max(initial=0)), RTOL)


def load_golden(name: str) -> dict[str, pd.DataFrame]:
    """The stored golden tables of one case (as written, already canonical)."""
    folder = GOLDEN / name
    return {p.stem: _from_csv(p.read_text()) for p in sorted(folder.glob("*.csv"))}


def write_golden(name: str, tables: dict[str, pd.DataFrame]) -> None:
    folder = GOLDEN / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    for table, frame in tables.items():
        (folder / f"{table}.csv").write_text(to_csv(frame))
