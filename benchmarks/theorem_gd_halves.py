"""The theorem study's GD part, merged from run folders that each trained some of the levels.

On the shared 2-core machine the full mode's GD part was run in two processes (levels mixing 0 to
0.35, and 0.42 to 0.48), each a ``softhard theorem`` run of theorem_digits' digits family with the
reference part shrunk to widths <= 2^9 and 3 seeds (the kernel teacher kept at 2^20 directions, so
the GD part is the full mode's). This script concatenates their ``theorem_gd.csv`` and recomputes
the tables that need every level: m*_gd per readout and the hard/soft ratios with their slopes
(the same functions and bootstrap as ``softhard theorem``), then prints a summary.

    python benchmarks/theorem_gd_halves.py OUT_FOLDER RUN_FOLDER [RUN_FOLDER ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from softhard.config import shipped_configs
from softhard.studies.theorem import load_theorem_spec
from softhard.studies.theorem.gd import gd_min_widths, gd_pairs
from softhard.studies.theorem.ratio import ratio_tables


def main(out: str, folders: list[str]) -> None:
    spec = load_theorem_spec(shipped_configs()["theorem_digits"])
    runs = pd.concat([pd.read_csv(Path(f) / "theorem_gd.csv") for f in folders], ignore_index=True)
    mins = pd.concat([gd_min_widths(runs, r) for r in ("avg_loss", "best_loss")], ignore_index=True)
    per_level, slopes = ratio_tables(
        runs, gd_pairs(spec.eps, spec.gd), n_boot=spec.n_boot, seed=spec.boot_seed
    )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in (("theorem_gd", runs), ("theorem_gd_min_widths", mins),
                        ("theorem_gd_ratio", slopes), ("theorem_gd_ratio_levels", per_level)):  # fmt: skip
        table.to_csv(folder / f"{name}.csv", index=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_rows", 200)
    print(mins.groupby(["readout", "mode", "status"]).size())
    print(mins[mins["readout"] == "avg_loss"].to_string())
    print(per_level.to_string())
    print(slopes.to_string())
    at = runs.groupby(["level", "mode", "eps"])["at_radius"].mean()
    print(at.to_string())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
