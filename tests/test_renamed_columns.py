"""The resolved soft-term weight's column is ``soft_weight``; run stores and run folders written
when it was called ``kd_weight`` still read, under the new name (softhard.sweep.rows)."""

import os

import numpy as np
import pandas as pd

from softhard.report.document import _read_table
from softhard.studies.regimes.compare import load_results
from softhard.sweep import RunStore, SweepSpec, expand
from softhard.sweep.rows import RENAMED_COLUMNS, current_columns
from softhard.sweep.store import RunOutcome
from softhard.train import CURVE_COLUMNS

BASE = {
    "tasks": ["digits:0-1"],
    "teacher": {"width": 16, "epochs": 5},
    "train": {"epochs": 3},
    "widths": [1],
    "seeds": [0],
    "label_modes": ["soft", "hard"],
    "margin": {"estimate": False},
}


def test_old_name_renamed_and_new_kept():
    old = pd.DataFrame({"kd_weight": [1.0, 0.0], "width": [1, 2]})
    assert list(current_columns(old).columns) == ["soft_weight", "width"]
    assert list(current_columns(old)["soft_weight"]) == [1.0, 0.0]
    new = pd.DataFrame({"soft_weight": [1.0], "width": [1]})
    assert current_columns(new).equals(new)
    assert RENAMED_COLUMNS == {"kd_weight": "soft_weight"}


def test_a_store_resumed_across_the_rename_has_one_column(tmp_path):
    """Runs finished before the rename carry kd_weight, later ones soft_weight: one column."""
    runs = expand(SweepSpec(name="s", base=BASE))
    owner = f"{os.uname().nodename}:{os.getppid()}:alive"
    curves = {c: [1.0, 0.5] for c in CURVE_COLUMNS}
    with RunStore(tmp_path) as store:
        store.register("s", {}, runs, replace=True)
        store.claim([r.id for r in runs], owner, retry_failed=False)
        old, new = runs
        assert store.finish(
            RunOutcome(old.id, True, {"kd_weight": 1.0, "test_acc": 0.9}, curves), owner
        )
        assert store.finish(
            RunOutcome(new.id, True, {"soft_weight": 0.0, "test_acc": 0.8}, curves), owner
        )
        table = store.runs("s").set_index("id")
        assert "kd_weight" not in table.columns
        assert table.loc[old.id, "soft_weight"] == 1.0 and table.loc[new.id, "soft_weight"] == 0.0
        results, _ = load_results(tmp_path, "s")
        assert sorted(results["soft_weight"]) == [0.0, 1.0]


def test_an_old_run_folder_reads_under_the_new_name(tmp_path):
    rows = pd.DataFrame(
        {
            "task": ["t"] * 4,
            "width": [1] * 4,
            "seed": [0, 1, 0, 1],
            "label_mode": ["soft", "soft", "hard", "hard"],
            "kd_weight": [1.0, 1.0, 0.0, 0.0],
            "test_acc": [0.9, 0.8, 0.7, 0.6],
        }
    )
    rows.to_parquet(tmp_path / "results.parquet")
    results, _ = load_results(tmp_path)
    assert "kd_weight" not in results and list(results["soft_weight"]) == [1.0, 1.0, 0.0, 0.0]
    table = _read_table(tmp_path, "results")
    assert table is not None and np.allclose(table["soft_weight"], [1, 1, 0, 0])
    export = tmp_path / "export"
    export.mkdir()
    rows.assign(id=[f"r{i}" for i in range(4)], status="done").to_parquet(export / "runs.parquet")
    pd.DataFrame({"run_id": ["r0"], "epoch": [0], "test_acc": [0.5]}).to_parquet(
        export / "curves.parquet"
    )
    runs, _ = load_results(export)
    assert "kd_weight" not in runs and list(runs["soft_weight"]) == [1.0, 1.0, 0.0, 0.0]
