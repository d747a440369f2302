"""Clear errors at the edges (issue 18 item 4): each is one paragraph and exit status 2, no
traceback; and the edges that should work (a min-width folder in ``report``, a relative data
path read from the config's folder) do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from _report_data import results_table
from softhard.cli import app
from softhard.config_paths import data_paths, missing_data_paths, resolve_data_paths
from softhard.kinds import load_any

runner = CliRunner()


def _error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    text: str = " ".join(result.output.split())
    return text


def _run_folder(root: Path, epochs: int = 200) -> Path:
    folder = root / "run"
    folder.mkdir()
    table = results_table().assign(epochs=epochs, data_seed=0)
    table.to_parquet(folder / "results.parquet", index=False)
    curves = table[["task", "width", "seed", "label_mode", "test_acc"]].assign(epoch=epochs)
    curves.to_parquet(folder / "curves.parquet", index=False)
    return folder


def test_compare_beyond_the_last_epoch_names_the_epochs_that_exist(tmp_path):
    run = _run_folder(tmp_path)
    text = _error(["compare", str(run), "--epochs", "5000", "--out", str(tmp_path / "o")])
    assert "5000" in text and "200 epochs" in text and "'last'" in text
    assert "no soft/hard pairs" not in text
    ok = runner.invoke(app, ["compare", str(run), "--epochs", "5000,last", "-o", str(tmp_path)])
    assert ok.exit_code == 0, ok.output  # a horizon beyond is left out when others remain


def test_sweep_on_an_experiment_config_names_the_command(tmp_path):
    text = _error(["sweep", "demo", "--store", str(tmp_path / "s")])
    assert "of kind 'two_layer'" in text and "`softhard run demo`" in text
    assert "allowed keys" not in text
    text = _error(["scaling", "sweep_digits_lr", "--store", str(tmp_path / "s")])
    assert "of kind 'sweep'" in text and "`softhard sweep sweep_digits_lr`" in text
    text = _error(["min-width", "scaling_digits", "--store", str(tmp_path / "s")])
    assert "`softhard scaling scaling_digits`" in text


def _data_folder(root: Path) -> Path:
    data = root / "project" / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    pd.DataFrame(
        {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": (x[:, 0] > 0).astype(int)}
    ).to_csv(data / "table.csv", index=False)
    return data


def test_relative_data_path_is_read_from_the_config_folder(tmp_path, monkeypatch):
    data = _data_folder(tmp_path)
    config = data.parent / "exp.yaml"
    tasks = [
        {"source": "file", "path": "data/table.csv", "label_column": "label"},
        "file:data/table.csv,label_column=label",
    ]
    config.write_text(yaml.safe_dump({"name": "rel", "tasks": tasks, "widths": [2]}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_any(str(config))
    assert [t.path for t in cfg.tasks] == [str(data / "table.csv")] * 2  # type: ignore[union-attr]
    assert runner.invoke(app, ["validate", str(config)]).exit_code == 0
    # the resolved config a run folder stores reruns from anywhere
    stored = tmp_path / "stored.yaml"
    stored.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    monkeypatch.chdir(tmp_path)
    assert load_any(str(stored)).tasks[0].path == str(data / "table.csv")  # type: ignore[union-attr]


def test_validate_checks_that_data_files_exist(tmp_path):
    config = tmp_path / "exp.yaml"
    tasks = [{"source": "file", "path": "missing.csv", "label_column": "y"}]
    config.write_text(yaml.safe_dump({"name": "m", "tasks": tasks}))
    text = _error(["validate", str(config)])
    assert str(tmp_path / "missing.csv") in text and "do not exist" in text
    other = ["validate", str(config), "--set", "tasks.0.source=digits"]  # reads no file
    assert runner.invoke(app, other).exit_code == 0


def test_data_path_helpers_on_specs_and_keys(tmp_path):
    raw = {"tasks": ["mnist:0-1,path=m", "file:/abs.csv", {"path": "x.npz"}], "data_path": "c"}
    out = resolve_data_paths(raw, tmp_path)
    assert out["tasks"][0] == f"mnist:0-1,path={tmp_path / 'm'}"
    assert out["tasks"][1] == "file:/abs.csv" and out["data_path"] == str(tmp_path / "c")
    assert data_paths(out) == [str(tmp_path / "c"), str(tmp_path / "m"), "/abs.csv",
                               str(tmp_path / "x.npz")]  # fmt: skip
    (tmp_path / "m").mkdir()
    assert str(tmp_path / "m") not in missing_data_paths(out)


def test_report_takes_a_min_width_folder(tmp_path):
    folder = tmp_path / "minwidth_digits-run"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"command": "softhard min-width x"}))
    (folder / "config.yaml").write_text(yaml.safe_dump({"kind": "min_width", "name": "x"}))
    pd.DataFrame(
        {"task": ["digits:0-1"] * 2, "label_mode": ["soft", "hard"], "eps": [0.5, 0.5],
         "min_width": [1.0, np.nan], "reached": [True, False]}
    ).to_csv(folder / "min_width.csv", index=False)  # fmt: skip
    pd.DataFrame({"task": ["digits:0-1"], "label_mode": ["soft"], "width": [1]}).to_csv(
        folder / "evaluated.csv", index=False
    )
    result = runner.invoke(app, ["report", str(folder), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Minimum-width search" in text and "1 of 2 reached" in text


@pytest.mark.parametrize("bad", ["fifty", "-3", ","])
def test_compare_bad_epochs_is_one_paragraph(tmp_path, bad):
    assert "--epochs" in _error(["compare", str(_run_folder(tmp_path)), "--epochs", bad])
