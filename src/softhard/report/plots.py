"""Figures from tidy result tables (one row per trained student)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from softhard.replication import STUDENT_SEED, unit_summary

LABELS = {
    "test_acc": "test accuracy",
    "train_acc": "train accuracy",
    "avg_loss": "theorem loss, epoch-averaged\n(KL for soft, logistic for hard)",
    "final_loss": "final training loss",
    "yard_avg_loss": "yardstick, epoch-averaged\n(logistic vs true labels, every mode)",
    "yard_final_loss": "yardstick at W_T\n(logistic vs true labels)",
    "best_loss": "theorem loss, best over epochs",
    "yard_best_loss": "yardstick, best over epochs",
    "test_loss": "test logistic loss",
}
LOG_METRICS = {
    "avg_loss",
    "final_loss",
    "yard_avg_loss",
    "yard_final_loss",
    "best_loss",
    "yard_best_loss",
    "test_loss",
}
COLORS = {"soft": "tab:blue", "hard": "tab:red", "mixed": "tab:green"}


def plot_width_sweep(
    table: pd.DataFrame,
    path: str | Path,
    *,
    metrics: Sequence[str] = ("test_acc", "avg_loss"),
    x: str = "width",
    title: str | None = None,
    task_titles: dict[str, str] | None = None,
    xlabel: str | None = None,
) -> Path:
    """One column per task (difficulty level), one row per metric; a line per label mode.

    Each line is the mean over the units of replication (data seeds, each the mean of its student
    seeds; the student seeds where there is one data seed: :mod:`softhard.replication`) with a
    band from the minimum to the maximum over them.
    The width axis is logarithmic (base 2), and so are the loss axes.
    """
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = plt.subplots(
        len(metrics), len(tasks), figsize=(4.2 * len(tasks), 3.3 * len(metrics)), squeeze=False
    )
    for col, task in enumerate(tasks):
        sub = table[table["task"] == task]
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            _draw_metric(ax, sub, x, metric)
            if row == 0:
                ax.set_title((task_titles or {}).get(task, task), fontsize=10)
            if row == len(metrics) - 1:
                ax.set_xlabel(xlabel or ("number of neurons" if x == "width" else x))
            if col == 0:
                ax.set_ylabel(LABELS.get(metric, metric))
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", ncol=len(labels), frameon=False)
    top = 0.95
    if title:
        warn = "WEAK TEACHER" in title  # a warning the reader must see
        fig.suptitle(title, x=0.02, ha="left", color="red" if warn else None)
        top -= 0.04 * title.count("\n") / len(metrics)
    fig.tight_layout(rect=(0, 0, 1, top))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw_metric(ax: Axes, sub: pd.DataFrame, x: str, metric: str) -> None:
    for mode, group in sub.groupby("label_mode", sort=False):
        stats = _over_units(group, x, metric)
        xs = stats.index.to_numpy(dtype=float)
        color = COLORS.get(str(mode))
        ax.plot(xs, stats["mean"], marker="o", ms=3, color=color, label=f"{mode} labels")
        ax.fill_between(xs, stats["min"], stats["max"], color=color, alpha=0.2, lw=0)
    ax.set_xscale("log", base=2)
    if metric in LOG_METRICS and np.all(sub[metric].dropna() > 0):
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)


def _over_units(group: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """``mean``, ``min`` and ``max`` of ``metric`` over the units of replication, indexed by x."""
    if STUDENT_SEED not in group.columns:  # not one row per student: over the rows
        rows: pd.DataFrame = group.groupby(x)[metric].agg(["mean", "min", "max"]).sort_index()
        return rows
    units = unit_summary(group, [x], [metric]).set_index(x).sort_index()
    names = {metric: "mean", f"{metric}_min": "min", f"{metric}_max": "max"}
    stats: pd.DataFrame = units.rename(columns=names)[["mean", "min", "max"]]
    return stats
