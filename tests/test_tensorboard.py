"""TensorBoard export, read back with TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _report_data import make_run_folder
from softhard.cli import app
from softhard.errors import DataError
from softhard.sweep.executor_config import ExecutorConfig

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from softhard.report.tensorboard import export_run_folder


def _with_curves(folder: Path) -> pd.DataFrame:
    results = pd.read_parquet(folder / "results.parquet")
    rows = []
    for r in results.itertuples():
        for epoch in range(5):
            rows.append({"task": r.task, "width": r.width, "seed": r.seed,
                         "label_mode": r.label_mode, "epoch": epoch,
                         "loss": 1.0 / (epoch + 1 + r.width), "test_acc": r.test_acc})  # fmt: skip
    curves = pd.DataFrame(rows)
    curves.to_parquet(folder / "curves.parquet", index=False)
    return curves


def _read(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return acc


def test_run_folder_curves_and_finals_read_back(tmp_path: Path) -> None:
    run = make_run_folder(tmp_path)
    curves = _with_curves(run)
    folders = export_run_folder(run, tmp_path / "tb")
    results = pd.read_parquet(run / "results.parquet")
    assert len(folders) == len(results)
    one = curves[(curves["task"] == "level1") & (curves["width"] == 4) & (curves["seed"] == 2)]
    one = one[one["label_mode"] == "soft"]
    match = [f for f in folders if "level1" in f.name and "width=4" in f.name
             and "seed=2" in f.name and "soft" in f.name]  # fmt: skip
    assert len(match) == 1
    acc = _read(match[0])
    assert {"curves/loss", "curves/test_acc", "final/test_acc"} <= set(acc.Tags()["scalars"])
    events = acc.Scalars("curves/loss")
    assert [e.step for e in events] == list(range(5))
    np.testing.assert_allclose([e.value for e in events], one["loss"], rtol=1e-6)
    final = results[(results["task"] == "level1") & (results["width"] == 4)
                    & (results["seed"] == 2) & (results["label_mode"] == "soft")]  # fmt: skip
    assert acc.Scalars("final/test_acc")[0].value == pytest.approx(
        final["test_acc"].iloc[0], rel=1e-6
    )


def test_cli_export_tb_and_missing_curves(tmp_path: Path) -> None:
    run = make_run_folder(tmp_path)
    with pytest.raises(DataError, match="curves.parquet"):
        export_run_folder(run, tmp_path / "tb")
    _with_curves(run)
    result = CliRunner().invoke(app, ["export-tb", str(run), "--out", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    students = len(pd.read_parquet(run / "results.parquet"))
    assert len(list((tmp_path / "tb").rglob("events.out.tfevents.*"))) == students


def test_store_export_reads_back(tmp_path: Path) -> None:
    from softhard.sweep import load_sweep_spec, run_sweep

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        "kind: sweep\nname: tb\nbase: {tasks: [digits:0-1], widths: [2], seeds: [0],"
        " train: {epochs: 4}, teacher: {width: 16, epochs: 5}, margin: {estimate: false}}\n"
        "grid: {temperature: [1.0]}\n"
    )
    store = tmp_path / "store"
    run_sweep(
        load_sweep_spec(spec_file),
        store_dir=store,
        executor=ExecutorConfig(workers=1),
        progress=False,
    )
    result = CliRunner().invoke(
        app,
        [
            "runs",
            "export",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "tb"),
            "--format",
            "tensorboard",
        ],
    )
    assert result.exit_code == 0, result.output
    folders = sorted(p for p in (tmp_path / "tb").iterdir() if p.is_dir())
    assert len(folders) == 2  # soft and hard
    acc = _read(folders[0])
    assert [e.step for e in acc.Scalars("curves/avg_loss")] == [0, 1, 2, 3]
    assert "final/avg_loss" in acc.Tags()["scalars"]
