"""Result digests of every shipped config: the guard that a refactor changes no number.

Each shipped config is run through the CLI with a fixed set of ``--set`` overrides that shrink it
(fewer seeds, widths and epochs, small teachers) so that all of them together take well under a
minute on 2 cores. Every table the command writes (run folder tables, or the run store's export
for sweeps) is read back, stripped of columns that legitimately change from run to run (times,
versions, git revision, paths, store owners, run ids that hash the config's spelling), put in a
canonical order and hashed. ``tests/result_digests.json`` holds the digests computed before the
package was reorganised; ``tests/test_result_digests.py`` checks that they still hold.

    python scripts/result_digests.py --write      # recompute and store (only when a result
                                                  # is meant to change; say why in the commit)
    python scripts/result_digests.py              # recompute and compare

The overrides shrink a config; they do not change what kind of run it is (teacher stop rule,
``epochs: auto``, grids, data seeds and views are kept), so every code path of the full config
runs. Digests are for CPU float results on one machine type; they are not meant to match across
BLAS builds.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

DIGESTS = Path(__file__).resolve().parents[1] / "tests" / "result_digests.json"

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
}

# columns that change from run to run without any number of the study changing
_VOLATILE = re.compile(
    r"(^id$|_id$|^ids?_|seconds|time|date|created|started|finished|updated|owner|host|"
    r"version|git|path|store|lease|heartbeat|pid|^config|^name$|^sweep$|folder)"
)


def canonical(frame: pd.DataFrame) -> str:
    """The table with volatile columns dropped, columns and rows sorted, floats at full precision."""
    keep = sorted(c for c in frame.columns if not _VOLATILE.search(str(c)))
    frame = frame[keep].copy()
    for col in keep:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: json.dumps(_plain(v), sort_keys=True))
    frame = frame.sort_values(keep, kind="mergesort").reset_index(drop=True) if keep else frame
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.17g")
    return buffer.getvalue()


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def table_digests(folder: Path) -> dict[str, str]:
    """sha256 of every table under ``folder``, each table once: from its parquet when it has
    one (a CSV read back loses dtypes, e.g. of boolean and list columns), else from its CSV.

    Keys are the files digested; compare them with :func:`by_table`, which keys by table, so a
    table that gained a parquet twin (the scaling study's ``fits`` since every study writes its
    tables with ``write_run``) keeps its digest."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".parquet", ".csv"):
            continue
        if path.suffix == ".csv" and path.with_suffix(".parquet").exists():
            continue
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        text = canonical(frame)
        key = re.sub(r"^[^/]*-[0-9a-f]{6,}[^/]*/", "", str(path.relative_to(folder)))
        digests[key] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def by_table(digests: dict[str, str]) -> dict[str, str]:
    """The digests keyed by table (file name without ``.csv`` / ``.parquet``)."""
    return {re.sub(r"\.(csv|parquet)$", "", key): value for key, value in digests.items()}


def _cifar_folder(folder: Path) -> Path:
    from softhard.data.cifar import TEST_FILE, TRAIN_FILES, write_cifar10_file

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*TRAIN_FILES, TEST_FILE):
        labels = np.arange(20) % 10
        write_cifar10_file(folder / name, rng.integers(0, 256, (20, 3, 32, 32)), labels)
    return folder


def run_case(name: str, work: Path, invoke: Callable[[list[str]], None]) -> dict[str, str]:
    """Run one shipped config, shrunk, through the CLI; the digests of the tables it wrote."""
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
    return table_digests(out)


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


def compute(names: list[str]) -> dict[str, dict[str, str]]:
    invoke = cli_invoker()
    found = {}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SOFTHARD_CACHE"] = str(Path(tmp) / "cache")
            found[name] = run_case(name, Path(tmp), invoke)
        print(f"{name}: {len(found[name])} tables", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the digests")
    parser.add_argument("names", nargs="*", help="configs (default: all)")
    args = parser.parse_args()
    names = args.names or sorted(CASES)
    found = compute(names)
    stored = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if args.write:
        stored.update(found)
        DIGESTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        print(f"wrote {DIGESTS}")
        return 0
    bad = [n for n in names if by_table(stored.get(n, {})) != by_table(found[n])]
    for name in bad:
        print(f"DIFFERENT: {name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
