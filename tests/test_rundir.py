"""The one run-folder writer: what it writes, and nothing when a step fails."""

import json
import re

import pandas as pd
import pytest
import yaml

from softhard.config import ExperimentConfig, config_digest
from softhard.report.rundir import write_run


def test_write_run_writes_config_tables_figures_and_manifest(tmp_path):
    cfg = ExperimentConfig(name="w", widths=[2])
    table = pd.DataFrame({"width": [2], "test_acc": [0.5]})
    folder = write_run(
        tmp_path,
        cfg,
        name="w",
        tables={"results": table, "curves": table},
        figures=lambda f: (f / "fig.png").write_bytes(b"png"),
        manifest={"seeds": [0]},
    )
    assert folder.parent == tmp_path and folder.name.startswith("w-")
    assert folder.name.endswith(config_digest(cfg)[:8])
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "config.yaml",
        "results.parquet",
        "results.csv",
        "curves.parquet",
        "fig.png",
        "manifest.json",
    }
    assert (
        ExperimentConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text())) == cfg
    )
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "results.parquet"), table)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config_digest"] == config_digest(cfg) and manifest["seeds"] == [0]
    assert "torch" in manifest and "git_revision" in manifest


def test_write_run_leaves_nothing_when_a_figure_fails(tmp_path):
    def boom(folder):
        raise RuntimeError("plot failed")

    with pytest.raises(RuntimeError, match="plot failed"):
        write_run(tmp_path, ExperimentConfig(), name="x", tables={}, figures=boom, manifest={})
    assert list(tmp_path.iterdir()) == []


def test_two_runs_of_one_config_in_the_same_second_both_land(tmp_path):
    from softhard.report.rundir import free_run_name

    (tmp_path / "demo-20260101-000000-abcdef12").mkdir()
    (tmp_path / "demo-20260101-000000-abcdef12-2.partial").mkdir()
    assert free_run_name(tmp_path, "demo-20260101-000000-abcdef12") == (
        "demo-20260101-000000-abcdef12-3"
    )
    assert free_run_name(tmp_path, "other") == "other"


def test_write_run_of_plain_settings_and_every_study_uses_it(tmp_path):
    """A result derived from stored runs (a comparison, the margin table) has plain settings as
    its config; and no study writes a run folder any other way."""
    from pathlib import Path

    from softhard.config import json_digest

    settings = {"kind": "comparison", "source": "runs/sweeps", "epochs": [50, "last"]}
    folder = write_run(
        tmp_path, settings, name="compare-x", tables={"paired": pd.DataFrame({"d": [0.1]})},
        manifest={"cells": 1},
    )  # fmt: skip
    assert folder.name.startswith("compare-x-")
    assert folder.name.endswith(json_digest(settings)[:8])
    assert yaml.safe_load((folder / "config.yaml").read_text()) == settings
    assert {p.name for p in folder.iterdir()} >= {"paired.csv", "paired.parquet", "manifest.json"}
    src = Path(__file__).resolve().parents[1] / "src" / "softhard"
    direct = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "rundir.py"
        and re.search(r"\b(run_folder|write_table|write_manifest)\(", p.read_text())
    ]
    assert direct == []
