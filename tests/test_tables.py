"""Terminal tables at 80 columns: no number or task cut, short task labels with a legend."""

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

import softhard.cli.run as cli_run
import softhard.cli.sweep as cli_sweep
from softhard.cli import app
from softhard.report.tables import format_value, print_table

LONG = "file:/work/some/deep/folder/of/datasets/tabular_binary_heavy_tails.csv"


def _console():
    return Console(width=80, record=True, color_system=None)


def _whole_rows(text):
    """Every table line begins and ends with a box character (nothing ran past the width)."""
    rows = [line.rstrip() for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    return bool(rows) and all(r[-1] in "┓┃┩│┘" and len(r) <= 80 for r in rows)


def _numbers(text):
    return {tok for tok in text.replace("│", " ").replace("┃", " ").split()}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.012345678, "0.0123"),
        (0.98765, "0.988"),
        (12.0, "12"),
        (np.int64(7), "7"),
        (float("nan"), "-"),
        (1234567.0, "1.23e+06"),
        (True, "True"),
        ("digits:3-8", "digits:3-8"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def _min_width_like(tasks):
    rows = []
    for t in tasks:
        for mode in ("soft", "hard"):
            for eps in (0.5, 0.3, 0.25):
                rows.append(
                    {
                        "task": t,
                        "label_mode": mode,
                        "eps": eps,
                        "min_width": 12.0 if mode == "soft" else np.nan,
                        "reached": mode == "soft",
                        "avg_loss_mean": 0.012345,
                        "avg_loss_std": 0.0034567,
                        "avg_loss_min": 0.0098765,
                        "avg_loss_max": 0.0156789,
                        "widths_evaluated": 9,
                        "full_grid_widths": 256,
                    }
                )
    return pd.DataFrame(rows)


def test_min_width_table_keeps_every_number_and_task_whole():
    frame = _min_width_like(["digits:0-1", "digits:3-8", "digits:3-8 mix=0.3", LONG])
    con = _console()
    m = "avg_loss"
    print_table(
        frame,
        "minimum width",
        console=con,
        secondary=[f"{m}_min", f"{m}_max", "full_grid_widths", "widths_evaluated", f"{m}_std"],
        where_full="min_width.csv",
    )
    text = con.export_text()
    assert "…" not in text
    assert _whole_rows(text)
    tokens = _numbers(text)
    assert {"0.0123", "0.5", "0.25", "12", "-"} <= tokens
    assert "T4 = " + LONG in text  # the long task by a label, with its legend
    assert "left out at 80 columns" in text and "min_width.csv" in text
    # a wide terminal shows everything, without labels
    wide = Console(width=250, record=True, color_system=None)
    print_table(frame, "minimum width", console=wide, secondary=[f"{m}_min"])
    wide_text = wide.export_text()
    assert "0.00988" in wide_text and "left out" not in wide_text
    assert "digits:3-8 mix=0.3" in wide_text


def test_many_columns_fall_back_to_labels_then_drop_columns():
    frame = pd.DataFrame(
        {
            "task": ["digits:3-8 mix=0.4", "digits:0-1"],
            **{f"metric_{i}": [0.123456, 1e-5] for i in range(12)},
        }
    )
    con = _console()
    print_table(frame, "t", console=con, secondary=[f"metric_{i}" for i in range(12)])
    text = con.export_text()
    assert "…" not in text and _whole_rows(text)
    assert "digits:3-8 mix=0.4" in text  # short enough: kept, columns left out instead
    note = [line for line in text.splitlines() if line.startswith("left out")]
    assert note == ["left out at 80 columns: " + ", ".join(f"metric {i}" for i in range(6))]
    assert "0.123" in text and "1e-05" in text


TINY = {
    "name": "tiny",
    "tasks": ["digits:3-8,mix=0.4", "digits:0-1"],
    "widths": [1, 2],
    "seeds": [0],
    "train": {"epochs": 3},
    "teacher": {"width": 16, "epochs": 3},
    "margin": {"estimate": False},
}


def test_cli_run_sweep_and_runs_list_at_80_columns(tmp_path, monkeypatch):
    con = _console()
    monkeypatch.setattr(cli_run, "console", con)
    monkeypatch.setattr(cli_sweep, "console", con)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(cfg), "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    spec = tmp_path / "s.yaml"
    base = {k: v for k, v in TINY.items() if k != "name"} | {"engine": "loop"}
    spec.write_text(
        yaml.safe_dump({"kind": "sweep", "name": "s", "base": base, "grid": {"train.lr": [0.5, 1]}})
    )
    store = tmp_path / "store"
    args = ["sweep", str(spec), "--store", str(store), "-q", "--workers", "1"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, ["runs", "list", "--store", str(store)]).exit_code == 0
    result = runner.invoke(app, ["runs", "list", "--store", str(store), "--sweep", "s"])
    assert result.exit_code == 0
    text = con.export_text()
    assert "…" not in text
    assert "digits:3-8 mix=0.4" in text  # on one line, whole
    assert _whole_rows(text)
