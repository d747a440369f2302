"""Sweep specs (validation before anything runs, stable ids), grouping, resume and divergence."""

import math

import pytest
import yaml

from softhard.errors import ConfigError
from softhard.sweep import RunStore, SweepSpec, expand, load_sweep_spec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.executors import plan_groups
from softhard.sweep.store import STORE_FILE

BASE = {
    "tasks": ["digits:0-1"],
    "teacher": {"width": 16, "epochs": 5},
    "train": {"epochs": 4},
    "widths": [1, 2],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "margin": {"estimate": False},
    "engine": "loop",
}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))


def _spec(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_expansion_ids_are_stable_and_independent_of_grid_order():
    a = SweepSpec(name="a", base=BASE, grid={"train.lr": [0.5, 1.0], "temperature": [1.0, 2.0]})
    b = SweepSpec(name="b", base=BASE, grid={"temperature": [2.0, 1.0], "train.lr": [1.0, 0.5]})
    ids_a, ids_b = [r.id for r in expand(a)], [r.id for r in expand(b)]
    assert len(ids_a) == len(set(ids_a)) == 2 * 2 * 2 * 2 * 2 * 1  # lr, T, width, seed, mode
    assert sorted(ids_a) == sorted(ids_b)
    assert ids_a == [r.id for r in expand(a)]
    one = expand(a)[0].config
    assert len(one.tasks) == len(one.widths) == len(one.seeds) == len(one.label_modes) == 1


def test_grid_over_tasks_strings_and_nested_fields():
    spec = SweepSpec(
        name="t",
        base=BASE,
        grid={"tasks": ["digits:0-1", "digits:3-8,mix=0.3"], "tasks.0.noise": [0.0, 0.1]},
    )
    runs = expand(spec)
    tasks = {(r.config.tasks[0].task, r.config.tasks[0].mix, r.config.tasks[0].noise) for r in runs}
    assert tasks == {("0-1", 0.0, 0.0), ("0-1", 0.0, 0.1), ("3-8", 0.3, 0.0), ("3-8", 0.3, 0.1)}


def test_groups_share_task_and_training_not_students():
    spec = SweepSpec(name="g", base=BASE, grid={"temperature": [1.0, 2.0], "train.lr": [0.5, 1.0]})
    runs = expand(spec)
    groups = plan_groups(runs, units=1, threads=1)
    assert len(groups) == 2  # one per learning rate; temperatures train in the same bank
    assert sorted(i for g in groups for i, _ in g.runs) == sorted(r.id for r in runs)
    assert len(plan_groups(runs, units=4, threads=1)) == 4


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"name": "x", "base": BASE, "grid": {"train.lrr": [1.0]}}, "train.lrr"),
        ({"name": "x", "base": BASE, "grid": {"train.lr": []}}, "must not be empty"),
        ({"name": "x", "base": BASE, "grid": {"train.lr": ["fast"]}}, "train.lr"),
        ({"name": "x", "base": BASE, "grid": {"label_modes": [["kd"]]}}, "label_modes"),
        ({"name": "x", "base": {**BASE, "widths": [0]}, "grid": {}}, "base"),
        ({"name": "x", "base": BASE, "grid": {}, "extra": 1}, "extra"),
        ({"name": "x", "base": BASE, "grid": {"train.lr": 1.0}}, "grid.train.lr"),
        ({"name": "x", "base": BASE, "grid": {"tasks.3.mix": [0.1]}}, "tasks.3.mix"),
    ],
)
def test_bad_spec_fails_before_any_run(tmp_path, data, needle):
    path = _spec(tmp_path, {"kind": "sweep", **data})
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_sweep_spec(path)
    from softhard.cli.run import load_any_config

    with pytest.raises(ConfigError):
        load_any_config(str(path), None)
    assert not (tmp_path / "store" / STORE_FILE).exists()


def test_bad_spec_through_cli_writes_no_store(tmp_path):
    from typer.testing import CliRunner

    from softhard.cli import app

    path = _spec(tmp_path, {"kind": "sweep", "name": "x", "base": BASE, "grid": {"seeds": []}})
    res = CliRunner().invoke(app, ["sweep", str(path), "--store", str(tmp_path / "store")])
    assert res.exit_code == 2 and "seeds" in res.output and "empty" in res.output
    assert not (tmp_path / "store").exists()


def test_resume_skips_done_and_retry_failed_reruns_divergent(tmp_path):
    spec = SweepSpec(name="div", base=BASE, grid={"train.lr": [1.0, math.inf]})
    first = run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert first.counts == {"done": 8, "failed": 8} and first.trained == 16
    failed = first.table[first.table["status"] == "failed"]
    assert (failed["lr"] == math.inf).all()
    assert failed["reason"].str.contains("loss became nan").all()
    again = run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert again.trained == 0 and again.counts == first.counts
    retry = run_sweep(
        spec,
        store_dir=tmp_path / "store",
        executor=ExecutorConfig(workers=1),
        progress=False,
        retry_failed=True,
    )
    assert retry.trained == 8 and retry.counts == first.counts
    table = retry.table.set_index("id")
    assert (table.loc[failed["id"], "attempts"] == 2).all()
    done = first.table[first.table["status"] == "done"]["id"]
    assert (table.loc[done, "attempts"] == 1).all()
    with RunStore(tmp_path / "store") as store:
        assert store.integrity() == "ok"


def test_cli_sweep_runs_list_show_export(tmp_path):
    from typer.testing import CliRunner

    from softhard.cli import app

    path = _spec(tmp_path, {"kind": "sweep", "name": "cli", "base": BASE, "grid": {}})
    store = str(tmp_path / "store")
    cli = CliRunner()
    res = cli.invoke(app, ["sweep", str(path), "--store", store, "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    assert "8 done, 0 failed, 8 trained now" in res.output
    res = cli.invoke(app, ["runs", "list", "--store", store])
    assert res.exit_code == 0 and "cli" in res.output
    with RunStore(store) as st:
        run_id = st.runs("cli")["id"].iloc[0]
    res = cli.invoke(app, ["runs", "show", run_id[:8], "--store", store])
    assert res.exit_code == 0 and run_id in res.output and "avg_loss" in res.output
    res = cli.invoke(app, ["runs", "export", "--store", store, "--out", str(tmp_path / "x")])
    assert res.exit_code == 0
    import pandas as pd

    assert len(pd.read_parquet(tmp_path / "x" / "runs.parquet")) == 8
    assert len(pd.read_csv(tmp_path / "x" / "runs.csv")) == 8
    assert len(pd.read_parquet(tmp_path / "x" / "curves.parquet")) == 8 * 4


def test_sweep_and_min_width_specs_are_config_models():
    """Both specs stand on ConfigModel: unknown keys are rejected and a loaded spec is frozen."""
    import pydantic

    from softhard.config import ConfigModel
    from softhard.studies.min_width import MinWidthSpec

    for cls, data in (
        (SweepSpec, {"name": "s"}),
        (MinWidthSpec, {"tasks": ["digits:0-1"], "eps": [0.1]}),
    ):
        assert issubclass(cls, ConfigModel)
        with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
            cls.model_validate({**data, "typo": 1})
        spec = cls.model_validate(data)
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            spec.name = "other"
