"""How often does each paired interval call a no-effect cell significant?

Draws ``--cells`` cells with no effect, each ``--units`` independent unit means (standard normal:
one paired soft - hard difference per data seed), and counts the cells whose 95% interval from
``softhard.replication.paired_interval`` excludes 0, for ``method="t"`` and ``"bootstrap"``.
A calibrated interval marks about 5% of them. Seeded; a few seconds of CPU.

    python benchmarks/paired_interval_calibration.py --cells 200 --units 8
"""

from __future__ import annotations

import argparse

import numpy as np

from softhard.replication import paired_interval


def false_positives(cells: int, units: int, method: str, seed: int) -> int:
    """The number of ``cells`` no-effect cells whose interval excludes 0."""
    rng = np.random.default_rng(seed)
    count = 0
    for i in range(cells):
        low, high = paired_interval(rng.standard_normal(units), method, 0.95, 10_000, (seed, i))  # type: ignore[arg-type]
        count += int(low > 0 or high < 0)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for method in ("t", "bootstrap"):
        n = false_positives(args.cells, args.units, method, args.seed)
        print(f"{method:>9}: {n} of {args.cells} no-effect cells significant at {args.units} units")


if __name__ == "__main__":
    main()
