"""A tiny deep experiment end to end: run folder contents, cache reuse, shipped configs."""

import json

import pandas as pd
import pytest
import yaml

from softhard.config import load_config, shipped_configs
from softhard.errors import ConfigError
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import FIGURE, run_deep_experiment

TINY = {
    "kind": "deep",
    "name": "tiny",
    "tasks": [
        {"source": "digits", "task": "0-1", "noise": 0.0, "max_train": 60},
        "digits:0-1,noise=0.5,max_train=60",
    ],
    "teacher": {"arch": "cnn8x8", "width": 4, "epochs": 2},
    "student": {"arch": "cnn8x8"},
    "widths": [1, 2],
    "seeds": [0],
    "label_modes": ["soft", "hard"],
    "train": {"epochs": 2, "batch_size": 32},
    "device": "cpu",
    "cpu_threads": 1,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    # the module shares one teacher cache (each test gets its own $SOFTHARD_CACHE otherwise)
    cfg = DeepExperimentConfig.model_validate({**TINY, "cache_dir": str(out / "cache")})
    return cfg, out, run_deep_experiment(cfg, out_dir=out, progress=False)


def test_run_folder_contents(tiny_run):
    cfg, out, folder = tiny_run
    assert folder.parent == out and not folder.name.endswith(".partial")
    for name in (
        "config.yaml",
        "manifest.json",
        "results.parquet",
        "results.csv",
        "summary.csv",
        "curves.parquet",
        FIGURE,
    ):
        assert (folder / name).is_file(), name
    results = pd.read_parquet(folder / "results.parquet")
    assert len(results) == 2 * 2 * 1 * 2
    for col in (
        "task",
        "noise",
        "width",
        "seed",
        "label_mode",
        "test_acc",
        "train_acc",
        "final_loss",
        "avg_loss",
        "params",
        "seconds",
    ):
        assert col in results.columns
    assert sorted(results["noise"].unique()) == [0.0, 0.5]
    assert results.groupby("width")["params"].first().is_monotonic_increasing
    curves = pd.read_parquet(folder / "curves.parquet")
    assert set(curves["role"]) == {"teacher", "student"}
    assert len(curves[curves["role"] == "student"]) == len(results) * 2
    assert (
        DeepExperimentConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
        == cfg
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "deep" and manifest["device"] == "cpu"
    assert [t["outputs_cache"] for t in manifest["teachers"]] == ["miss", "miss"]
    # the one teacher-cache convention: <cache root>/teachers, nothing beside the run folders
    cached = sorted(p.name.split("-")[0] for p in (out / "cache" / "teachers").iterdir())
    assert cached == ["outputs", "outputs", "weights", "weights"]
    assert not (out / ".teacher_cache").exists()


def test_second_run_reuses_cached_teacher_and_repeats_numbers(tiny_run):
    cfg, out, folder = tiny_run
    again = run_deep_experiment(cfg, out_dir=out, progress=False)
    manifest = json.loads((again / "manifest.json").read_text())
    assert [t["trained"] for t in manifest["teachers"]] == [False, False]
    assert [t["outputs_cache"] for t in manifest["teachers"]] == ["hit", "hit"]
    cols = [
        "task",
        "width",
        "seed",
        "label_mode",
        "test_acc",
        "train_acc",
        "final_loss",
        "avg_loss",
    ]
    first = pd.read_parquet(folder / "results.parquet")[cols]
    second = pd.read_parquet(again / "results.parquet")[cols]
    pd.testing.assert_frame_equal(first, second)


def test_image_tasks_default_to_no_normalization():
    cfg = DeepExperimentConfig.model_validate(TINY)
    assert [t.normalize for t in cfg.tasks] == [False, False]
    cfg = DeepExperimentConfig.model_validate({**TINY, "tasks": ["digits:0-1,normalize=true"]})
    assert cfg.tasks[0].normalize is True


@pytest.mark.parametrize("name", ["deep_digits", "deep_cifar10"])
def test_shipped_deep_configs_validate(name):
    path = shipped_configs()[name]
    cfg = load_config(path, model_cls=DeepExperimentConfig)
    assert cfg.kind == "deep" and len(cfg.tasks) >= 3


def test_unknown_key_and_bad_arch_are_config_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, "student": {"arch": "resnet9000"}}))
    with pytest.raises(ConfigError, match="student.arch"):
        load_config(path, model_cls=DeepExperimentConfig)
    path.write_text(yaml.safe_dump({**TINY, "epochs": 3}))
    with pytest.raises(ConfigError, match="unknown key 'epochs'"):
        load_config(path, model_cls=DeepExperimentConfig)


def test_t2_scaling_sits_under_train_as_in_the_two_layer_configs(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({**TINY, "t2_scaling": False}))
    with pytest.raises(ConfigError, match="train: {t2_scaling"):
        load_config(path, model_cls=DeepExperimentConfig)
    path.write_text(yaml.safe_dump({**TINY, "train": {"t2_scaling": False}}))
    assert load_config(path, model_cls=DeepExperimentConfig).train.t2_scaling is False


def test_cli_runs_a_deep_config(tmp_path):
    from typer.testing import CliRunner

    from softhard.cli import app

    path = tmp_path / "tiny.yaml"
    tiny = {**TINY, "tasks": TINY["tasks"][:1], "widths": [1], "label_modes": ["soft"]}
    path.write_text(yaml.safe_dump(tiny))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    folders = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith("tiny-")]
    assert len(folders) == 1
    assert len(pd.read_csv(folders[0] / "results.csv")) == 1


def test_cli_reports_missing_cifar_folder(tmp_path):
    from typer.testing import CliRunner

    from softhard.cli import app

    result = CliRunner().invoke(
        app,
        [
            "run",
            "deep_cifar10",
            "--set",
            f"data_path={tmp_path}/nowhere",
            "--out",
            str(tmp_path),
            "-q",
        ],
    )
    assert result.exit_code == 2
    assert "CIFAR-10" in result.output
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_shipped_cifar_config_runs_reduced_on_generated_files(tmp_path):
    import numpy as np

    from softhard.data.cifar import TEST_FILE, TRAIN_FILES, write_cifar10_file

    rng = np.random.default_rng(0)
    for name in (*TRAIN_FILES, TEST_FILE):
        labels = np.arange(20) % 10
        write_cifar10_file(tmp_path / name, rng.integers(0, 256, (20, 3, 32, 32)), labels)
    overrides = [
        f"data_path={tmp_path}", "widths=[2]", "seeds=[0]", "train.epochs=1",
        "teacher.width=2", "teacher.epochs=1", "teacher.arch=resnet8", "device=cpu", "cpu_threads=1",
    ]  # fmt: skip
    cfg = load_config(shipped_configs()["deep_cifar10"], overrides, model_cls=DeepExperimentConfig)
    assert cfg.train.augment and cfg.amp  # amp is ignored on CPU
    folder = run_deep_experiment(cfg, out_dir=tmp_path / "runs", progress=False)
    results = pd.read_parquet(folder / "results.parquet")
    assert len(results) == 3 * 2 and set(results["label_mode"]) == {"soft", "hard"}
    assert results["params"].iloc[0] == 1420  # resnet8 of base width 2
