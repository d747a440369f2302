"""The paired soft - hard difference against width, one line per difficulty level, and its verdict.

The figure of ``softhard demo`` (and of every tuned two-layer run): for each task (difficulty
level) the mean paired difference of test accuracy (soft - hard) at each width with its interval
(:func:`~softhard.studies.regimes.compare.paired_compare`), and :func:`verdict` says in one
sentence what the cells show.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from softhard.studies.regimes.compare import paired_compare


def tuned_pairs(results: pd.DataFrame, curves: pd.DataFrame | None) -> pd.DataFrame | None:
    """Soft - hard test accuracy per task and width at the horizon, paired on data and student
    seeds, for a run whose arms were tuned on validation data (else None)."""
    tuned = "steps" in results.columns and (results["steps"] == "tuned").all()
    if not tuned or not {"soft", "hard"} <= set(results["label_mode"]):
        return None
    return paired_compare(results, curves=curves, epochs=["last"])


def last_horizon(frame: pd.DataFrame) -> pd.DataFrame:
    """Each cell's row at its largest horizon (the configured last epoch)."""
    keep = frame.groupby(["task", "width"], sort=False)["epoch"].transform("max")
    last: pd.DataFrame = frame[frame["epoch"] == keep]
    return last


def plot_paired_by_width(frame: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """Soft - hard test accuracy against width (log scale), one line per task, with intervals."""
    last = last_horizon(frame)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    tasks = list(dict.fromkeys(last["task"]))
    for i, task in enumerate(tasks):
        rows = last[last["task"] == task].sort_values("width")
        shift = 1.0 + 0.04 * (i - (len(tasks) - 1) / 2)  # side by side, not on top
        x = rows["width"] * shift
        low = rows["mean_diff"] - rows["ci_low"]
        high = rows["ci_high"] - rows["mean_diff"]
        ax.errorbar(x, rows["mean_diff"], yerr=[low, high], marker="o", capsize=3, label=task)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("student width m (neurons)")
    ax.set_ylabel("soft - hard test accuracy")
    unit = ", ".join(sorted(set(last["unit"])))
    steps = ", ".join(sorted(set(last["steps"])))
    ax.set_title(f"{title}\n95% t intervals over {unit}; steps: {steps}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def verdict(frame: pd.DataFrame) -> str:
    """One sentence: at the last horizon, in how many task x width cells soft labels won, lost
    or tied (interval containing 0), naming the cells that did not tie."""
    last = last_horizon(frame)
    wins = last[last["sign"] == "+"]
    losses = last[last["sign"] == "-"]
    steps = "tuned on validation data" if set(last["steps"]) == {"tuned"} else "fixed"
    unit = ", ".join(sorted(set(last["unit"])))

    def cells(rows: pd.DataFrame) -> str:
        if rows.empty:
            return ""
        named = "; ".join(
            f"{task} width {', '.join(str(w) for w in part['width'])}"
            for task, part in rows.groupby("task", sort=False)
        )
        return f" ({named})"

    return (
        f"With each arm's learning rate and stopping epoch {steps}, soft labels beat hard labels "
        f"in {len(wins)} of {len(last)} task x width cells{cells(wins)}, hard labels won "
        f"{len(losses)}{cells(losses)}, and {len(last) - len(wins) - len(losses)} were not "
        f"distinguishable (95% t intervals over {unit})"
        + (
            "; the soft arm's temperature was chosen on validation data too."
            if "t_soft_chosen" in last.columns and last["t_soft_chosen"].notna().any()
            else "."
        )
    )


__all__ = ["last_horizon", "plot_paired_by_width", "tuned_pairs", "verdict"]
