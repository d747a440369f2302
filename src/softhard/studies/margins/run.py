"""The margins study's driver (:func:`run_margins`) and its reproduce stage (:func:`margins_stage`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.ntk import DEFAULT_MARGIN_SEED, estimate_margin
from softhard.ntk.separability import certified_gamma
from softhard.report.rundir import write_run
from softhard.studies.motivating import motivating_config

MARGIN_DIRECTIONS = {True: 2048, False: 8192}
"""Directions K of the reproduce stage: ``--quick`` -> K."""


def margin_rows(
    tasks: list[DataConfig], k: int, seed: int = DEFAULT_MARGIN_SEED
) -> list[dict[str, Any]]:
    """One row per task: gamma, its certificate, Monte-Carlo error and cost (K directions)."""
    rows = []
    for task in tasks:
        ds = load_dataset(task)
        x, _ = ds.flat()
        est = estimate_margin(x, ds.y_train_pm, num_directions=k, seed=seed)
        rows.append(
            {"task": task.display, "n_train": ds.n_train, "dim": ds.dim, "gamma": certified_gamma(est),
             "lower": est.lower, "upper": est.upper, "gap": est.upper - est.lower,
             "stderr": est.stderr, "fresh_lower": est.fresh_lower, "fresh_upper": est.fresh_upper,
             "relative_gap": est.gap, "stopped_by": est.stopped_by, "status": est.status,
             "converged": est.converged, "iterations": est.iterations, "num_directions": k,
             "support": int((est.q > 1e-3 / len(est.q)).sum()), "seconds": round(est.seconds, 2)}
        )  # fmt: skip
    return rows


def run_margins(
    folder: Path, tasks: list[DataConfig], k: int, seed: int = DEFAULT_MARGIN_SEED
) -> Path:
    """gamma of every task with its certificate: ``margins`` table and figure in a run folder."""
    start = time.perf_counter()
    table = pd.DataFrame(margin_rows(tasks, k, seed))
    settings = {"kind": "margins", "tasks": [t.display for t in tasks],
                "num_directions": k, "direction_seed": seed}  # fmt: skip
    return write_run(
        folder, settings, name="margins", tables={"margins": table},
        figures=lambda run: _plot_margins(table, run / "margins.png", k, seed),
        manifest={"kind": "margins", "num_directions": k, "direction_seed": seed,
                  "data_seeds": [t.seed for t in tasks],
                  "seconds": round(time.perf_counter() - start, 2)},
    )  # fmt: skip


def margins_stage(folder: Path, quick: bool, progress: bool) -> Path:
    """gamma of every difficulty level with its primal/dual certificate and Monte-Carlo error."""
    cfg = motivating_config(quick)
    return run_margins(folder, list(cfg.tasks), MARGIN_DIRECTIONS[quick])


def _plot_margins(table: pd.DataFrame, path: Path, k: int, seed: int) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = range(len(table))
    ax.errorbar(
        xs, table["gamma"], yerr=2 * table["stderr"], fmt="o", capsize=4, label="gamma +- 2 stderr"
    )
    ax.vlines(
        xs, table["lower"], table["upper"], color="k", lw=4, alpha=0.4, label="[lower, upper]"
    )
    ax.set_xticks(list(xs), table["task"], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("NTK margin gamma")
    ax.set_title(f"gamma per difficulty level (K = {k} directions, seed {seed})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["MARGIN_DIRECTIONS", "margin_rows", "margins_stage", "run_margins"]
