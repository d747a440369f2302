"""The memory guard: estimates grow with the config, refusals come before any work or folder."""

import pytest
import yaml
from typer.testing import CliRunner

from softhard.cli import app
from softhard.config import ExperimentConfig
from softhard.errors import ResourceError
from softhard.resources import (
    LIMIT_ENV,
    available_memory,
    estimate_experiment,
    parse_size,
)
from softhard.studies.min_width import MinWidthSpec, min_width_search
from softhard.studies.two_layer import run_experiment
from softhard.sweep import SweepSpec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig

TINY = {
    "tasks": ["synthetic,n_samples=40,dim=4"],
    "widths": [1, 2],
    "seeds": [0],
    "train": {"epochs": 2},
    "teacher": {"width": 8, "epochs": 2},
    "margin": {"estimate": False, "num_directions": 16},
}


def test_parse_size_and_limit_source(monkeypatch):
    assert parse_size("8GiB") == 8 << 30 and parse_size("500MB") == 500 * 10**6
    assert parse_size("1e6") == 10**6 and parse_size("off") is None
    with pytest.raises(ResourceError, match="not a size"):
        parse_size("lots")
    monkeypatch.setenv(LIMIT_ENV, "3MiB")
    assert available_memory("cpu") == (3 << 20, f"{LIMIT_ENV}=3MiB")
    monkeypatch.delenv(LIMIT_ENV)
    free, source = available_memory("cpu")
    assert free is not None and free > 0 and source


def test_weights_part_matches_the_allocators_request():
    """demo's failed allocation asked 51.2 GB: one float64 copy of 1e8 x 64 weights."""
    cfg = ExperimentConfig(tasks=["digits:0-1"], widths=[10**8], seeds=[0], label_modes=["soft"])
    est = estimate_experiment(cfg, threads=1)
    copy = 10**8 * 64 * 8
    assert est.parts["student weights"] == 4 * copy  # draws, concatenation, initial, gradient
    assert est.largest()[0] == "student weights"
    small = estimate_experiment(cfg.model_copy(update={"widths": [10**6]}), threads=1)
    assert small.parts["student weights"] * 100 == est.parts["student weights"]
    f32 = estimate_experiment(cfg.model_copy(update={"dtype": "float32"}), threads=1)
    assert f32.parts["student weights"] == copy * 3  # 16 + 2 * 4 bytes per entry
    two = estimate_experiment(cfg.model_copy(update={"seeds": [0, 1]}), threads=2)
    assert two.parts["student weights"] == 2 * est.parts["student weights"]  # side by side


def test_cli_refuses_a_huge_width_with_one_paragraph_and_no_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    out = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["run", "demo", "--set", "widths=[100000000]", "--out", str(out), "-q"]
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Traceback" not in text
    assert "needs about" in text and "available (MemAvailable" in text
    assert "student weights" in text and "smaller widths" in text
    assert not out.exists()


def test_a_limit_refuses_a_tiny_run_that_otherwise_runs(tmp_path, monkeypatch):
    cfg = ExperimentConfig.model_validate(TINY)
    monkeypatch.setenv(LIMIT_ENV, "10kB")
    with pytest.raises(ResourceError, match=r"more than the 10 kB available \(SOFTHARD_MEMORY"):
        run_experiment(cfg, out_dir=tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()
    monkeypatch.setenv(LIMIT_ENV, "off")
    result = run_experiment(cfg, out_dir=tmp_path / "runs", progress=False)
    assert result.path is not None and result.path.is_dir()


def test_sweep_and_min_width_refuse_before_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, "100MB")  # below one spawned worker process (300 MB)
    spec = SweepSpec(name="s", base=TINY, grid={"train.lr": [0.5, 1.0]})
    with pytest.raises(ResourceError, match=r"sweep 's'.*worker processes|fewer --workers"):
        run_sweep(
            spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=2), progress=False
        )
    assert not (tmp_path / "store").exists()
    run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )  # fits in-process
    mw = MinWidthSpec(
        name="m",
        tasks=TINY["tasks"],
        eps=[0.5],
        max_width=10**8,
        base={k: v for k, v in TINY.items() if k not in ("tasks", "widths", "seeds")},
        seeds=[0],
    )
    with pytest.raises(ResourceError, match="min-width search 'm' needs about"):
        min_width_search(
            mw, store_dir=tmp_path / "mw", executor=ExecutorConfig(workers=1), progress=False
        )
    assert not (tmp_path / "mw").exists()


def test_validate_command_is_not_guarded(tmp_path, monkeypatch):
    """Checking a config costs nothing: the guard sits on the run paths only."""
    monkeypatch.setenv(LIMIT_ENV, "1kB")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0
