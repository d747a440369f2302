"""Small synthetic result folders in the formats the studies write (for report tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from softhard.report.plots import plot_width_sweep

FITS_COLUMNS = [
    "view", "loss", "mode", "term", "estimate", "ci_low", "ci_high", "theory", "verdict",
    "n_used", "n_censored",
]  # fmt: skip


def results_table(gaps=(0.0, 0.03, 0.08), gammas=(0.3, 0.1, 0.03), seeds=4, noise_key=None):
    """One row per task x width x seed x label mode; soft test accuracy = hard + gap + noise."""
    rng = np.random.default_rng(0)
    rows = []
    for level, (gap, gamma) in enumerate(zip(gaps, gammas, strict=True)):
        task = f"level{level}"
        for width in (1, 4, 16):
            for seed in range(seeds):
                hard = 0.95 - 0.1 * level + 0.01 * np.log2(width)
                for mode, acc in (("hard", hard), ("soft", hard + gap + rng.normal(0, 0.004))):
                    row = {"task": task, "gamma": gamma, "width": width, "seed": seed,
                           "label_mode": mode, "test_acc": acc, "avg_loss": 0.5 / width}  # fmt: skip
                    if noise_key:
                        row["noise"] = 0.25 * level
                    rows.append(row)
    return pd.DataFrame(rows)


def make_run_folder(root: Path, table: pd.DataFrame | None = None, kind: str = "two_layer") -> Path:
    """A complete run folder: config.yaml, manifest.json, results.csv/.parquet and a figure."""
    folder = root / f"{kind}-run"
    folder.mkdir(parents=True)
    table = results_table(noise_key=kind == "deep") if table is None else table
    (folder / "config.yaml").write_text(yaml.safe_dump({"kind": kind, "name": "synthetic"}))
    manifest = {
        "softhard": "0.1.0",
        "git_revision": "abc123",
        "seeds": [0, 1, 2, 3],
        "seconds": 1.5,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    table.to_csv(folder / "results.csv", index=False)
    table.to_parquet(folder / "results.parquet", index=False)
    plot_width_sweep(table, folder / "soft_vs_hard.png", title="synthetic")
    return folder


def fits_table(verdicts: dict[tuple[str, str], str]) -> pd.DataFrame:
    """fits.csv rows: (mode, term) -> verdict."""
    theory = {("soft", "b"): 2.0, ("soft", "c"): 1.0, ("hard", "b"): 4.0, ("hard", "c"): 0.0}
    rows = [
        {
            "view": "kernel",
            "loss": "avg_loss",
            "mode": mode,
            "term": term,
            "estimate": 1.5,
            "ci_low": 1.0,
            "ci_high": 2.0,
            "theory": theory[(mode, term)],
            "verdict": verdict,
            "n_used": 6,
            "n_censored": 1,
        }
        for (mode, term), verdict in verdicts.items()
    ]
    return pd.DataFrame(rows, columns=FITS_COLUMNS)


def make_scaling_folder(root: Path, fits: pd.DataFrame) -> Path:
    folder = root / "scaling"
    folder.mkdir(parents=True)
    fits.to_csv(folder / "fits.csv", index=False)
    pd.DataFrame({"mode": ["soft"], "gamma": [0.1], "eps": [0.01], "min_width": [8]}).to_csv(
        folder / "min_widths.csv", index=False
    )
    (folder / "manifest.json").write_text(
        json.dumps({"command": "softhard scaling scaling_digits"})
    )
    return folder
