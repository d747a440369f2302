"""The units of replication: which students repeat one another, and how results are averaged.

A two-layer student is identified by its task, width, label mode, **data seed** (the split, the
subsample, the label flips and the noise, and therefore its teacher and test set) and **student
seed** (its initialisation). The data seed is the unit of replication: student seeds within one
data seed share the data and the teacher, so they are not independent draws of the experiment.
Every summary over seeds goes through this module, so that ``softhard compare``, the report's
claims, the terminal summary, TensorBoard export and plot titles agree:

- soft and hard students are paired on :data:`PAIR_KEYS` (data seed, student seed) and every
  setting;
- a per-student (or per-pair) value is averaged over the student seeds within each data seed;
  those data-seed means are the units (:func:`unit_means`). With a single data seed the student
  seeds are the units instead, and the unit's name says so;
- a mean over seeds is the mean of the units (:func:`unit_summary`);
- an interval over seeds is taken over the units (:func:`paired_interval`).

A table without a ``data_seed`` column has one data seed, 0 (:func:`with_data_seed`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

DATA_SEED = "data_seed"
STUDENT_SEED = "seed"
PAIR_KEYS = (DATA_SEED, STUDENT_SEED)
"""What pairs a soft student with a hard one, besides the task, width and settings."""
STUDENT_KEYS = ("task", "width", "label_mode", DATA_SEED, STUDENT_SEED)
"""What identifies one student of a run (one TensorBoard event run, one results row)."""
TEACHER_KEYS = ("task", DATA_SEED)
"""What identifies one teacher: a task at one data seed (e.g. the weak-teacher check's groups)."""
DATA_UNITS = "data seeds"
STUDENT_UNITS = "student seeds (1 data seed)"


def with_data_seed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a ``data_seed`` column (0 where it has none)."""
    return table if DATA_SEED in table.columns else table.assign(**{DATA_SEED: 0})


def unit_means(values: pd.Series) -> tuple[pd.Series, str]:
    """One value per unit of replication, and the units' name.

    ``values`` is indexed by (at least) ``data_seed`` and ``seed``. The values are averaged over
    the student seeds within each data seed; with one data seed, over nothing but the student
    seed (the student seeds are the units). Returns the unit values and :data:`DATA_UNITS` or
    :data:`STUDENT_UNITS`.
    """
    per_data = values.groupby(level=DATA_SEED).mean()
    if len(per_data) > 1:
        return per_data, DATA_UNITS
    per_seed: pd.Series = values.groupby(level=STUDENT_SEED).mean()
    return per_seed, STUDENT_UNITS


def unit_summary(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean, min and max over the units of replication of each group of ``by``.

    Per group: each metric is averaged over student seeds within each data seed (or, with one data
    seed, taken per student seed), then its mean, min and max over those units are reported as
    ``<metric>`` (the mean), ``<metric>_min`` and ``<metric>_max``, with ``n_units`` and
    ``units`` (:func:`unit_means`). Groups keep their first-seen order.
    """
    table = with_data_seed(table)
    rows = []
    for key, group in table.groupby(list(by), sort=False, dropna=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        indexed = group.set_index(list(PAIR_KEYS))
        for metric in metrics:
            units, name = unit_means(indexed[metric].astype(float))
            row.update(
                {metric: units.mean(), f"{metric}_min": units.min(), f"{metric}_max": units.max()}
            )
            row["n_units"], row["units"] = len(units), name
        rows.append(row)
    out: pd.DataFrame = pd.DataFrame(rows)
    return out


def paired_interval(
    diffs: np.ndarray,
    method: Literal["bootstrap", "t"] = "bootstrap",
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int | tuple[int, ...] = 0,
) -> tuple[float, float]:
    """A ``confidence`` interval for the mean of paired differences (one value per unit).

    ``t``: ``mean +- t_{(1+c)/2, n-1} * sd / sqrt(n)`` (sd with n - 1). ``bootstrap``: the
    ``(1-c)/2`` and ``(1+c)/2`` quantiles of the means of ``n_boot`` resamples of the units
    with replacement (numpy's ``default_rng(seed)``). NaN for fewer than two units, and NaN
    when the differences do not vary: the t statistic is then undefined (0/0, or a mean over a
    zero standard deviation) and a bootstrap would return a single point, so no interval is
    claimed and nothing is marked significant (e.g. every data seed's pair differs by exactly
    one test example).
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = len(d)
    if n < 2 or float(np.ptp(d)) == 0.0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    if method == "t":
        half = stats.t.ppf(1.0 - alpha / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
        return float(d.mean() - half), float(d.mean() + half)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
    return float(low), float(high)


def replication_text(table: pd.DataFrame) -> str:
    """How many units a table holds, e.g. ``"3 data seeds x 2 student seeds"``."""
    table = with_data_seed(table)
    n_data, n_seed = table[DATA_SEED].nunique(), table[STUDENT_SEED].nunique()
    if n_data > 1:
        return f"{n_data} data seeds x {n_seed} student seeds"
    return f"{n_seed} student seeds (1 data seed)"


__all__ = [
    "DATA_SEED",
    "DATA_UNITS",
    "PAIR_KEYS",
    "STUDENT_KEYS",
    "STUDENT_SEED",
    "STUDENT_UNITS",
    "TEACHER_KEYS",
    "paired_interval",
    "replication_text",
    "unit_means",
    "unit_summary",
    "with_data_seed",
]
