"""Per-knob summary of the tuned regime map (issue 19 item 3): does soft win, and does it grow?

Usage: python scripts/claim1_tuned.py STORE_FOLDER [--sweep regimes_digits] [--json OUT.json]

Reads the sweep's runs (each arm tuned on validation data, see softhard.tuning), pairs soft and
hard students on data seed and student seed (softhard.studies.regimes.compare.paired_compare) at
the horizon, and for each knob (flip, mix, noise, student_max_train) fits, per data seed, the
least-squares slope of soft - hard test accuracy against the knob's level (the clean pair at
level 0; for the training-set size the level is the share of examples removed); the t interval
of that slope over data seeds says whether the gain grows with the knob.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd

from softhard.studies.regimes.compare import load_results, paired_interval

KNOBS = ("flip", "mix", "noise", "student_max_train")


def _knob_of(row: pd.Series) -> tuple[str, float]:
    """The one knob a task turns, and its level (0 for the clean pair)."""
    for knob in KNOBS:
        value = row.get(knob)
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and value:
            if knob == "student_max_train":
                return knob, 1.0 - float(value) / float(row["n_train_teacher"])
            return knob, float(value)
    return "clean", 0.0


def paired_diffs(results: pd.DataFrame) -> pd.DataFrame:
    """soft - hard test accuracy per task, width and data seed (student seeds averaged)."""
    results = results[~results["diverged"].astype(bool)]
    keys = ["task", "width", "data_seed", "seed"]
    wide = results.pivot_table(index=keys, columns="label_mode", values="test_acc")
    diff = (wide["soft"] - wide["hard"]).groupby(level=["task", "width", "data_seed"]).mean()
    out = diff.rename("diff").reset_index()
    first = results.drop_duplicates("task").set_index("task")
    levels = {task: _knob_of(row) for task, row in first.iterrows()}
    out["knob"] = out["task"].map(lambda t: levels[t][0])
    out["level"] = out["task"].map(lambda t: levels[t][1])
    return out


def knob_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """Per knob and width (and 'all' widths): the gain at the top level and the slope, with
    t 95% intervals over data seeds."""
    rows = []
    clean = diffs[diffs["knob"] == "clean"]
    for knob in KNOBS:
        part = pd.concat([clean.assign(knob=knob), diffs[diffs["knob"] == knob]])
        if part["knob"].eq(knob).sum() == 0 or part["level"].nunique() < 2:
            continue
        for width in [*sorted(part["width"].unique()), "all"]:
            sub = part if width == "all" else part[part["width"] == width]
            per_seed = sub.groupby(["data_seed", "level"])["diff"].mean().unstack("level")
            levels = np.asarray(per_seed.columns, dtype=float)
            centred = levels - levels.mean()
            slopes = per_seed.to_numpy() @ centred / (centred @ centred)
            top = per_seed[levels.max()].to_numpy()
            rows.append(
                {
                    "knob": knob,
                    "width": width,
                    "levels": ",".join(f"{v:g}" for v in levels),
                    "gain_top": float(top.mean()),
                    "gain_top_ci": paired_interval(top, "t"),
                    "slope": float(slopes.mean()),
                    "slope_ci": paired_interval(slopes, "t"),
                    "n_seeds": len(slopes),
                }
            )
    return pd.DataFrame(rows)


def choice_summary(results: pd.DataFrame) -> dict[str, float]:
    """How often the grids censor the choice: per arm, the share of arm-cells (task x width)
    whose median chosen rate is the grid's largest (or smallest), the share of students at the
    top, and for a tuned temperature the share of soft students that chose each value."""
    out: dict[str, float] = {}
    grid = [float(v) for v in str(results["lr_grid"].iloc[0]).split(",")]
    for arm, rows in results.groupby("label_mode"):
        cells = rows.groupby(["task", "width"])["lr"].median()
        out[f"arm_cells_{arm}"] = len(cells)
        out[f"top_share_{arm}"] = float(np.isclose(cells, max(grid)).mean())
        out[f"bottom_share_{arm}"] = float(np.isclose(cells, min(grid)).mean())
        out[f"students_top_share_{arm}"] = float(np.isclose(rows["lr"], max(grid)).mean())
    both = results.groupby(["label_mode", "task", "width"])["lr"].median()
    out["top_share"] = float(np.isclose(both, max(grid)).mean())
    if "tuned_temperature" in results.columns:
        temps = results.loc[results["label_mode"] == "soft", "tuned_temperature"].astype(float)
        for value in sorted(temps.dropna().unique()):
            out[f"soft_temperature_{value:g}_share"] = float((temps == value).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--sweep", default="regimes_digits")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results, _ = load_results(args.store, args.sweep)
    table = knob_table(paired_diffs(results))
    pd.set_option("display.width", 160)
    print(table.to_string(index=False))
    choices = choice_summary(results)
    print(json.dumps(choices, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            records = {"knobs": table.to_dict(orient="records"), "choices": choices}
            json.dump(records, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
