"""Claim 4 with each arm tuned on validation data: summarise deep_digits run folders.

Usage: python scripts/deep_digits_tuned.py RUN_FOLDER [RUN_FOLDER ...] [--json OUT.json]
       [--time-log LOG ...]

Reads the ``results.parquet`` of one or more ``softhard run deep_digits`` folders (e.g. one per
noise level and data seed, run side by side), concatenates them, and prints and optionally writes
(the ``values`` of a results summary, see results/deep_digits_tuned.json):

- the claim-4 verdict of :func:`softhard.report.claims.gap_claim` (per noise level the soft -
  hard gap averaged over widths, t 95% interval over data seeds; growth hardest minus easiest);
- per noise level and width the paired difference of ``softhard compare``
  (:func:`softhard.studies.regimes.compare.paired_compare`, t 95% interval over data seeds);
- each arm's median chosen rate and stopping epoch, and how often the choice sat at an end of
  the grid;
- the teachers' test and validation accuracy, and the time (``/usr/bin/time -v`` logs).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd

from softhard.report.claims import gap_claim
from softhard.studies.regimes.compare import paired_compare


def _ci(mean: float, low: float, high: float) -> str:
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def load(folders: list[Path]) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    results, teachers = [], []
    for folder in folders:
        results.append(pd.read_parquet(folder / "results.parquet"))
        teachers += json.loads((folder / "manifest.json").read_text())["teachers"]
    return pd.concat(results, ignore_index=True), teachers


def _arm_values(table: pd.DataFrame) -> dict[str, object]:
    grid = [float(v) for v in str(table["lr_grid"].iloc[0]).split(",")]
    out: dict[str, object] = {"grid": ", ".join(f"{v:g}" for v in grid)}
    for mode in ("soft", "hard"):
        arm = table[table["label_mode"] == mode]
        out[f"lr_{mode}"] = f"{arm['lr'].median():g}"
        out[f"stop_{mode}"] = f"{arm['tuned_epoch'].median():g}"
        out[f"edge_{mode}"] = f"{arm['lr'].isin([grid[0], grid[-1]]).mean():.2f}"
        out[f"lr_counts_{mode}"] = ", ".join(
            f"{lr:g}: {n}" for lr, n in arm["lr"].value_counts().sort_index().items()
        )
    return out


def _time_values(logs: list[Path]) -> dict[str, object]:
    cpu, wall = 0.0, 0.0
    for log in logs:
        text = log.read_text()
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))  # type: ignore[union-attr]
        system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))  # type: ignore[union-attr]
        clock = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", text).group(1)  # type: ignore[union-attr]
        parts = [float(p) for p in clock.split(":")]
        seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
        cpu, wall = cpu + user + system, max(wall, seconds)
    return {"cpu_s": round(cpu), "wall_min": round(wall / 60, 1), "processes": len(logs)}


def summarise(table: pd.DataFrame, teachers: list[dict[str, object]]) -> dict[str, object]:
    values: dict[str, object] = {}
    claim = gap_claim(4, table, "noise", "")
    values["claim4"] = claim.status
    gaps = claim.table
    assert gaps is not None
    for row in gaps.itertuples():
        key = f"{float(row.noise):g}".replace(".", "")
        values[f"gap_noise{key}"] = _ci(row.gap, row.ci_low, row.ci_high)
    values["growth"] = claim.evidence.split("hardest minus easiest: ")[1].split(";")[0]
    paired = paired_compare(table, method="t")
    for row in paired.itertuples():
        noise = float(table.loc[table["task"] == row.task, "noise"].iloc[0])
        key = f"n{noise:g}_w{row.width}".replace(".", "")
        values[key] = _ci(row.mean_diff, row.ci_low, row.ci_high)
    values["n_data_seeds"] = int(table["data_seed"].nunique())
    values["n_student_seeds"] = int(table["seed"].nunique())
    values["widths"] = ", ".join(str(w) for w in sorted(table["width"].unique()))
    values.update(_arm_values(table))
    frame = pd.DataFrame(teachers)
    for noise, part in frame.assign(noise=table.groupby("task")["noise"].first().reindex(
            frame["task"]).to_numpy()).groupby("noise"):  # fmt: skip
        key = f"{float(noise):g}".replace(".", "")
        values[f"teacher_test_noise{key}"] = (
            f"{part['test_acc'].min():.3f}-{part['test_acc'].max():.3f}"
        )
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--time-log", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    table, teachers = load(args.folders)
    values = summarise(table, teachers)
    if args.time_log:
        values.update(_time_values(args.time_log))
    print(json.dumps(values, indent=1))
    if args.json:
        args.json.write_text(json.dumps(values, indent=1) + "\n")


if __name__ == "__main__":
    main()
