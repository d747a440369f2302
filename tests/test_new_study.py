"""A new study in three places: its package, one study-table entry, its CLI runner.

The toy study below is all three, written inside this test (docs/studies.md has the recipe). It
is registered with :func:`softhard.studies.table.register` and its CLI runner added to
:data:`softhard.cli._options.RUNNERS`; nothing else in softhard changes. It then runs through
``softhard run``, a sweep over it, ``softhard report`` and ``softhard reproduce``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pytest
from pydantic import Field
from typer.testing import CliRunner

from softhard.cli import app
from softhard.cli._options import RUNNERS, RunOptions
from softhard.config import ConfigModel, DataConfig, TaskList
from softhard.report.document import Evidence, Section, collect
from softhard.report.rundir import write_run
from softhard.studies.reproduce import reproduce
from softhard.studies.stage import Stage
from softhard.studies.table import STUDIES, StudyKind, plain_loader, register, unregister
from softhard.sweep import SweepSpec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.store import RunOutcome
from softhard.sweep.study import SweepStudy

# --- 1. the study's package: config, library driver, group trainer, report handler, stage ---


class ToyConfig(ConfigModel):
    """The toy study: "accuracy" = 1 - 1/(width + 1) for each task, width and seed."""

    kind: Literal["toy"] = "toy"
    name: str = "toy"
    tasks: TaskList = Field(default_factory=lambda: [DataConfig()])
    widths: list[int] = Field(default_factory=lambda: [1, 3])
    seeds: list[int] = Field(default_factory=lambda: [0])
    label_modes: list[Literal["soft", "hard"]] = Field(default_factory=lambda: ["soft", "hard"])
    temperature: float = 1.0
    kd_weight: float = 1.0
    out_dir: str = "runs"


def toy_row(task: Any, width: int, seed: int, mode: str) -> dict[str, Any]:
    acc = 1.0 - 1.0 / (width + 1) + (0.01 if mode == "soft" else 0.0)
    return {"task": task.display, "width": width, "seed": seed, "label_mode": mode, "toy_acc": acc}


def run_toy(cfg: ToyConfig, out_dir: Path) -> Path:
    """The library driver: every row, one run folder (``toy.csv``)."""
    rows = [
        toy_row(t, w, s, m)
        for t in cfg.tasks
        for w in cfg.widths
        for s in cfg.seeds
        for m in cfg.label_modes
    ]
    return write_run(
        out_dir, cfg, name=cfg.name, tables={"toy": pd.DataFrame(rows)}, manifest={"kind": "toy"}
    )


def toy_group(cfgs: Sequence[Any], run_ids: Sequence[str]) -> list[RunOutcome]:
    out = []
    for run_id, c in zip(run_ids, cfgs, strict=True):
        row = toy_row(c.tasks[0], c.widths[0], c.seeds[0], c.label_modes[0])
        out.append(RunOutcome(run_id, True, {**row, "test_acc": row["toy_acc"]}, {}, None))
    return out


def toy_section(section: Section, table: pd.DataFrame, config: Any, folder: Path, ev: Evidence):
    section.text = f"Toy study: {len(table)} rows, best toy accuracy {table['toy_acc'].max():.3f}."
    section.tables.append(("Toy table (toy.csv)", table))


def toy_stage(folder: Path, quick: bool, progress: bool) -> Path:
    return run_toy(ToyConfig(widths=[1] if quick else [1, 3]), folder)


# --- 2. the study table entry --------------------------------------------------------------

TOY = StudyKind(
    ToyConfig,
    plain_loader(ToyConfig),
    "run",
    SweepStudy(ToyConfig, lambda c: (list(c.tasks), {}), toy_group),
    (("toy", toy_section),),
    (Stage("9-toy", "the toy study", toy_stage),),
)

# --- 3. the CLI command file: the runner of its kind ---------------------------------------


def toy_runner(cfg: ToyConfig, options: RunOptions) -> None:
    path = run_toy(cfg, Path(options.out or cfg.out_dir))
    print(f"toy folder: {path}")


@pytest.fixture
def toy(monkeypatch) -> Iterator[None]:
    register("toy", TOY)
    monkeypatch.setitem(RUNNERS, "toy", toy_runner)
    try:
        yield
    finally:
        unregister("toy")


def test_the_toy_study_runs_through_run_sweep_report_and_reproduce(toy, tmp_path: Path) -> None:
    cli = CliRunner()
    spec = tmp_path / "toy.yaml"
    spec.write_text("kind: toy\nname: toy_run\nwidths: [1, 3]\n")
    # run: `softhard run` finds its loader in the table and its runner in RUNNERS
    out = cli.invoke(app, ["run", str(spec), "--out", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    (folder,) = (tmp_path / "runs").glob("toy_run-*")
    assert len(pd.read_csv(folder / "toy.csv")) == 4
    # report: the table's handler makes its section
    assert cli.invoke(app, ["report", str(folder)]).exit_code == 0
    section = collect(folder).sections[0]
    assert section.text.startswith("Toy study: 4 rows")
    # sweep: the executors train its runs with its group trainer
    sweep = SweepSpec(name="toys", base={"kind": "toy"}, grid={"widths": [[1], [2, 4]]})
    result = run_sweep(
        sweep, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert result.counts == {"done": 6, "failed": 0}
    assert sorted(result.table["width"].unique()) == [1, 2, 4]
    # reproduce: its stage runs and the report of the whole folder shows it
    stages = [s for study in STUDIES.values() for s in study.stages if s.name == "9-toy"]
    done = reproduce(tmp_path / "rep", quick=True, progress=False, stages=stages, announce=str)
    marker = json.loads((tmp_path / "rep" / "9-toy" / "stage.json").read_text())
    assert marker["stage"] == "9-toy" and done.report.is_file()
    assert "Toy study: 2 rows" in (tmp_path / "rep" / "report.md").read_text()


def test_unregistered_the_toy_kind_is_unknown(tmp_path: Path) -> None:
    spec = tmp_path / "toy.yaml"
    spec.write_text("kind: toy\n")
    out = CliRunner().invoke(app, ["run", str(spec)])
    assert out.exit_code == 2 and "field 'kind' must be one of" in out.output
    assert "toy" not in STUDIES
