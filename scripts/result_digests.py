"""Golden tables of every shipped config: the guard that a change moves no number beyond float noise.

Each shipped config is run through the CLI with a fixed set of ``--set`` overrides that shrink it
(fewer seeds, widths and epochs, small teachers) so that all of them together take about a
minute on 2 cores. Every table the command writes (run folder tables, or the run store's export
for sweeps) is read back, stripped of columns that legitimately change from run to run (times,
versions, git revision, paths, store owners, run ids that hash the config's spelling), put in a
canonical order and compared with ``tests/golden/<config>/<table>.csv`` column by column, with
the tolerances (and their measurement) of ``scripts/golden_tables.py``.

    python scripts/result_digests.py --write      # regenerate the golden tables (only when a
                                                  # result is meant to change; say why in the commit)
    python scripts/result_digests.py [NAME...]    # recompute and compare: the largest difference
                                                  # per column, and FAIL where it is over the limit

The overrides shrink a config; they do not change what kind of run it is (teacher stop rule,
``epochs: auto``, grids, data seeds and views are kept), so every code path of the full config
runs. A sweep's curves are keyed by the run's task, width, seeds, label mode and settings (taken
from its runs table) instead of the run id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_tables import (
    GOLDEN,
    compare_tables,
    load_golden,
    read_tables,
    write_golden,
)

_SMALL_TEACHER = [
    "teacher.width=32",
    "teacher.stop.max_epochs=60",
    "teacher.stop.patience=20",
    "teacher.stop.check_every=10",
]
_SMALL_BASE_TEACHER = [f"base.{s}" for s in _SMALL_TEACHER]
# every scaling spec: 2 seeds, widths up to 8, short horizons, few bootstrap draws
_SMALL_SCALING = [
    "seeds=[0,1]",
    "max_width=8",
    "capacity.epochs=40",
    "theorem.constants.soft=[0.5,1]",
    "theorem.constants.hard=[2,4]",
    "theorem.constants.yardstick=[2,4]",
    "n_boot=20",
]
_TWO_DIGIT_LEVELS = 'levels=["digits:3-8","digits:3-8,mix=0.35"]'

# config name -> (command, overrides); "quick" adds --quick (scaling specs)
CASES: dict[str, tuple[str, list[str]]] = {
    "demo": (
        "run",
        [
            "widths=[2,8]",
            "seeds=[0,1]",
            "train.epochs=20",
            "tune.lrs=[0.5,8]",
            *_SMALL_TEACHER,
        ],
    ),
    "soft_wins": (
        "run",
        [
            "widths=[4]",
            "seeds=[0]",
            "data_seeds=[8,9]",
            *_SMALL_TEACHER,
            "teacher.candidates=[]",
            "train.epochs=20",
            "tune.lrs=[0.5,8]",
        ],
    ),
    "deep_digits": (
        "run",
        [
            "widths=[1,2]",
            "seeds=[0]",
            "data_seeds=[0]",
            "tune.lrs=[0.05,0.4]",
            "train.epochs=1",
            "teacher.epochs=1",
            "teacher.width=4",
        ],
    ),
    "deep_cifar10": (
        "run",
        [
            "widths=[2]",
            "seeds=[0]",
            "tune.lrs=[0.1,0.4]",
            "train.epochs=1",
            "teacher.width=2",
            "teacher.epochs=1",
            "teacher.arch=resnet8",
            "device=cpu",
            "cpu_threads=1",
        ],
    ),
    "sweep_digits_lr": (
        "sweep",
        ["base.widths=[4]", "base.seeds=[0]", "base.train.epochs=5", *_SMALL_BASE_TEACHER],
    ),
    "sweep_digits_temperature": (
        "sweep",
        ["base.widths=[2,8]", "base.seeds=[0]", "base.train.epochs=10", *_SMALL_BASE_TEACHER],
    ),
    "regimes_digits": (
        "sweep",
        [
            "base.widths=[4]",
            "base.seeds=[0]",
            "base.data_seeds=[0]",
            "base.train.epochs=10",
            "base.tune.lrs=[0.5,8]",
            "base.teacher.candidates=[]",
            *_SMALL_BASE_TEACHER,
        ],
    ),
    "minwidth_digits": (
        "min-width",
        ["seeds=[0,1]", "max_width=8", "base.train.epochs=20", *_SMALL_BASE_TEACHER],
    ),
    "scaling_digits": ("scaling", [*_SMALL_SCALING, _TWO_DIGIT_LEVELS, *_SMALL_BASE_TEACHER]),
    "scaling_kernel": ("scaling", [*_SMALL_SCALING, _TWO_DIGIT_LEVELS]),
    "scaling_synthetic": ("scaling", [*_SMALL_SCALING, *_SMALL_BASE_TEACHER]),
    "theorem_digits": (
        "run",
        [
            "reference.max_log2_width=4",
            "reference.seeds=[0,1]",
            "reference.teacher_directions=2048",
            "margin.num_directions=256",
            "n_boot=20",
            "gd.max_log2_width=3",
            "gd.seeds=[0,1]",
            "gd.max_epochs=5",
            "gd.inequality_widths=[4]",
            "gd.inequality_epochs=3",
        ],
    ),
}


def _cifar_folder(folder: Path) -> Path:
    from softhard.data.cifar import TEST_FILE, TRAIN_FILES, write_cifar10_file

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*TRAIN_FILES, TEST_FILE):
        labels = np.arange(20) % 10
        write_cifar10_file(folder / name, rng.integers(0, 256, (20, 3, 32, 32)), labels)
    return folder


def run_case(name: str, work: Path, invoke: Callable[[list[str]], None]) -> dict[str, pd.DataFrame]:
    """Run one shipped config, shrunk, through the CLI; the tables it wrote, canonical."""
    command, overrides = CASES[name]
    overrides = list(overrides)
    if name == "deep_cifar10":
        overrides.append(f"data_path={_cifar_folder(work / 'cifar')}")
    sets = [arg for o in overrides for arg in ("--set", o)]
    out, store = work / "out", work / "store"
    if command == "run":
        invoke(["run", name, "--out", str(out), "--quiet", *sets])
    elif command == "sweep":
        invoke(["sweep", name, "--store", str(store), "--workers", "1", "--quiet", *sets])
        invoke(["runs", "export", "--store", str(store), "--out", str(out)])
    elif command == "min-width":
        args = ["min-width", name, "--store", str(store), "--out", str(out), "--workers", "1"]
        invoke([*args, "--quiet", *sets])
    else:
        args = ["scaling", name, "--quick", "--store", str(store), "--out", str(out)]
        invoke([*args, "--workers", "1", *sets])
    return read_tables(out)


def cli_invoker() -> Callable[[list[str]], None]:
    """Call the CLI in this process; raise with its output when it fails."""
    from typer.testing import CliRunner

    from softhard.cli import app

    runner = CliRunner()

    def invoke(args: list[str]) -> None:
        result = runner.invoke(app, args)
        if result.exit_code != 0:
            raise RuntimeError(f"softhard {' '.join(args)} failed:\n{result.output}")

    return invoke


def run_isolated(name: str, invoke: Callable[[list[str]], None]) -> dict[str, pd.DataFrame]:
    """:func:`run_case` in a temporary folder with its own teacher cache."""
    with tempfile.TemporaryDirectory() as tmp:
        before = os.environ.get("SOFTHARD_CACHE")
        os.environ["SOFTHARD_CACHE"] = str(Path(tmp) / "cache")
        try:
            return run_case(name, Path(tmp), invoke)
        finally:
            if before is None:
                os.environ.pop("SOFTHARD_CACHE", None)
            else:
                os.environ["SOFTHARD_CACHE"] = before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the golden tables")
    parser.add_argument("--json", type=Path, help="also write every column's difference here")
    parser.add_argument("names", nargs="*", help="configs (default: all)")
    args = parser.parse_args()
    invoke, bad, report = cli_invoker(), [], []
    for name in args.names or sorted(CASES):
        found = run_isolated(name, invoke)
        if args.write:
            write_golden(name, found)
            print(f"{name}: wrote {len(found)} tables to {GOLDEN / name}", flush=True)
            continue
        diffs = compare_tables(load_golden(name), found, name)
        report += [{"case": name, **d.__dict__} for d in diffs]
        shown = [d for d in diffs if d.kind != "exact" or not d.ok]
        print(f"{name}: {'ok' if all(d.ok for d in diffs) else 'DIFFERENT'}", flush=True)
        for d in shown:
            print(f"  {d.line()}", flush=True)
        bad += [name] if not all(d.ok for d in diffs) else []
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if not args.write:
        print(f"different: {', '.join(bad)}" if bad else "all cases within tolerance")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
