"""reproduce: stages in order, resumable, and a failed stage leaves nothing that looks complete."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from _report_data import make_run_folder
from softhard.errors import ConfigError, DataError
from softhard.report.document import PLAN_FILE, STAGE_MARKER, collect
from softhard.studies.deep.stage import deep_config
from softhard.studies.margins import run_margins
from softhard.studies.motivating import motivating_config
from softhard.studies.reproduce import Stage, reproduce
from softhard.studies.table import stages


class Calls:
    """Fake stages that write a synthetic run folder; ``fail`` makes one raise midway."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.fail: str | None = None

    def stage(self, name: str, kind: str) -> Stage:
        def run(folder: Path, quick: bool, progress: bool) -> Path:
            self.count[name] = self.count.get(name, 0) + 1
            run_dir = make_run_folder(folder, kind=kind)
            if self.fail == name:
                (folder / "half-written.txt").write_text("x")
                raise OSError(28, "No space left on device")
            return run_dir

        return Stage(name, f"fake {name}", run)


def test_interrupted_stage_is_finished_and_nothing_redone(tmp_path: Path) -> None:
    calls = Calls()
    stages = [calls.stage("1-a", "two_layer"), calls.stage("2-b", "deep")]
    calls.fail = "2-b"
    with pytest.raises(OSError, match="No space"):
        reproduce(tmp_path, stages=stages, announce=lambda s: None)
    assert (tmp_path / "1-a" / STAGE_MARKER).is_file()
    assert not (tmp_path / "2-b").exists() and not (tmp_path / "2-b.partial").exists()
    assert not (tmp_path / "report.html").exists()
    with pytest.raises(DataError, match="2-b"):
        collect(tmp_path)
    calls.fail = None
    result = reproduce(tmp_path, stages=stages, announce=lambda s: None)
    assert calls.count == {"1-a": 1, "2-b": 2}
    assert result.seconds["1-a"] is None and result.seconds["2-b"] is not None
    assert result.report.is_file()
    assert "data:image/png;base64," in result.report.read_text()
    again = reproduce(tmp_path, stages=stages, announce=lambda s: None)
    assert calls.count == {"1-a": 1, "2-b": 2} and set(again.seconds.values()) == {None}


def test_killed_stage_leftover_is_redone(tmp_path: Path) -> None:
    calls = Calls()
    stages = [calls.stage("1-a", "two_layer")]
    leftover = tmp_path / "1-a.partial"
    leftover.mkdir(parents=True)
    (leftover / STAGE_MARKER).write_text("{}")  # a kill between marker and rename
    reproduce(tmp_path, stages=stages, announce=lambda s: None)
    assert calls.count == {"1-a": 1} and not leftover.exists()
    marker = json.loads((tmp_path / "1-a" / STAGE_MARKER).read_text())
    assert (tmp_path / "1-a" / marker["run"] / "manifest.json").is_file()


def test_quick_and_full_do_not_mix(tmp_path: Path) -> None:
    calls = Calls()
    reproduce(tmp_path, stages=[calls.stage("1-a", "two_layer")], quick=True, announce=print)
    assert json.loads((tmp_path / PLAN_FILE).read_text())["quick"] is True
    with pytest.raises(ConfigError, match="--quick"):
        reproduce(tmp_path, stages=[calls.stage("1-a", "two_layer")], announce=print)


def test_shipped_stage_configs() -> None:
    names = [s.name for s in stages()]
    assert names == ["1-motivating", "2-margins", "3-scaling", "4-regimes", "5-deep", "6-theorem"]
    for quick in (True, False):
        cfg = motivating_config(quick)
        assert len(cfg.tasks) >= 3 and {"soft", "hard"} <= set(cfg.label_modes)
        deep = deep_config(quick)
        assert len(deep.tasks) >= 3 and len(deep.data_seeds or deep.seeds) >= 2  # units
        assert deep.tune is not None  # each arm at its own rate, chosen on validation data
    assert motivating_config(True).tasks == motivating_config(False).tasks


def test_margin_stage_writes_certified_gammas(tmp_path: Path) -> None:
    run = run_margins(tmp_path, list(motivating_config(True).tasks[:2]), 256)
    table = json.loads((run / "manifest.json").read_text())
    assert table["num_directions"] == 256
    margins = pd.read_csv(run / "margins.csv")
    assert len(margins) == 2
    assert (margins["lower"] <= margins["upper"] + 1e-12).all()
    assert (margins["gamma"] > 0).all()
    assert (run / "margins.png").is_file()


def test_reproduce_and_scaling_take_the_executor_options(tmp_path: Path) -> None:
    """`softhard reproduce` and `softhard scaling` read the sweep's executor options; a bad one
    is refused before anything is written."""
    from typer.testing import CliRunner

    from softhard.cli import app

    for command in (["reproduce", "--out", str(tmp_path / "r")], ["scaling", "scaling_digits"]):
        result = CliRunner().invoke(app, [*command, "--executor", "spark"], terminal_width=200)
        assert result.exit_code != 0
        assert "--executor must be 'local' or 'ray'" in result.output
        help_text = CliRunner().invoke(app, [command[0], "--help"], terminal_width=200).output
        for option in ("--executor", "--workers", "--ray-address", "--group-size", "--lease"):
            assert option in help_text
    assert not (tmp_path / "r").exists()
