"""The CLI as a user meets it: a tiny run end to end, and clear one-paragraph errors."""

import gzip
import struct

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from softhard.cli import app

runner = CliRunner()

TINY = {
    "name": "tiny",
    "tasks": ["digits:0-1"],
    "widths": [1, 2],
    "seeds": [0],
    "train": {"epochs": 5},
    "teacher": {"width": 16, "epochs": 5},
    "margin": {"num_directions": 32},
}


def write_config(tmp_path, data, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_error(result, *needles, out_dir=None):
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, text
    if out_dir is not None:
        assert not out_dir.exists() or not any(out_dir.iterdir())


def test_tiny_run_end_to_end(tmp_path):
    out = tmp_path / "runs"
    result = invoke(
        "run", write_config(tmp_path, TINY), "--out", out, "--quiet", "--set", "seeds=[0,1]"
    )
    assert result.exit_code == 0, result.output
    (folder,) = list(out.iterdir())
    assert "run folder" in result.output and "test acc" in result.output
    table = pd.read_csv(folder / "results.csv")
    assert len(table) == 2 * 2 * 2 and set(table["seed"]) == {0, 1}


def test_validate_prints_resolved_config(tmp_path):
    result = invoke("validate", write_config(tmp_path, TINY))
    assert result.exit_code == 0 and "optimizer: gd" in result.output


def test_configs_lists_demo():
    result = invoke("configs")
    assert result.exit_code == 0 and "demo" in result.output


def test_unknown_key(tmp_path):
    out = tmp_path / "runs"
    result = invoke("run", write_config(tmp_path, {**TINY, "train": {"epochz": 3}}), "--out", out)
    assert_clean_error(result, "unknown key 'train.epochz'", "allowed keys", "epochs", out_dir=out)


def test_unknown_value(tmp_path):
    out = tmp_path / "runs"
    result = invoke(
        "run", write_config(tmp_path, TINY), "--out", out, "--set", "train.optimizer=lbfgs"
    )
    assert_clean_error(result, "train.optimizer", "'gd'", "'sgd'", "'adam'", "lbfgs", out_dir=out)


def test_unknown_digit(tmp_path):
    out = tmp_path / "runs"
    result = invoke("run", write_config(tmp_path, {**TINY, "tasks": ["digits:3-12"]}), "--out", out)
    assert_clean_error(result, "3-12", out_dir=out)


def _idx(path, array, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(
        ">" + "I" * array.ndim, *array.shape
    )
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(">u1").tobytes())


def _mnist(folder, n=20):
    folder.mkdir()
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 10
    for prefix, count in (("train", n), ("t10k", n)):
        _idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (count, 28, 28)))
        _idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels[:count])
    return folder


def test_missing_idx_file(tmp_path):
    folder = _mnist(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    out = tmp_path / "runs"
    cfg = {**TINY, "tasks": [{"source": "mnist", "task": "0-1", "path": str(folder)}]}
    result = invoke("run", write_config(tmp_path, cfg), "--out", out)
    assert_clean_error(result, "t10k-labels-idx1-ubyte", out_dir=out)


def test_corrupt_idx_file(tmp_path):
    folder = _mnist(tmp_path / "mnist")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04garbage"))
    out = tmp_path / "runs"
    cfg = {**TINY, "tasks": [{"source": "mnist", "task": "0-1", "path": str(folder)}]}
    result = invoke("run", write_config(tmp_path, cfg), "--out", out)
    assert_clean_error(result, "train-images-idx3-ubyte", out_dir=out)


def test_real_idx_files_run(tmp_path):
    folder = _mnist(tmp_path / "mnist", n=40)
    cfg = {**TINY, "tasks": [{"source": "mnist", "task": "0-1", "path": str(folder)}]}
    result = invoke("run", write_config(tmp_path, cfg), "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output


def test_class_with_no_examples(tmp_path):
    data = tmp_path / "data.csv"
    pd.DataFrame(
        {"a": [0.1, 0.2, 0.3, 0.5], "b": [1.0, 0.0, 1.0, 0.2], "label": [1, 1, 3, 4]}
    ).to_csv(data, index=False)
    out = tmp_path / "runs"
    cfg = {
        **TINY,
        "tasks": [{"source": "file", "path": str(data), "label_column": "label", "task": "1-2"}],
    }
    result = invoke("run", write_config(tmp_path, cfg), "--out", out)
    assert_clean_error(result, "2", out_dir=out)


def test_csv_without_label_column(tmp_path):
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": [0.1, 0.2], "b": [1.0, 0.0], "y": [0, 1]}).to_csv(data, index=False)
    out = tmp_path / "runs"
    cfg = {**TINY, "tasks": [{"source": "file", "path": str(data), "label_column": "label"}]}
    result = invoke("run", write_config(tmp_path, cfg), "--out", out)
    assert_clean_error(result, "label", "data.csv", out_dir=out)


def test_failure_during_training_leaves_no_complete_looking_folder(tmp_path, monkeypatch):
    from softhard.config import ExperimentConfig, validate
    from softhard.studies.two_layer import run_experiment

    def boom(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr("softhard.studies.two_layer.plot_width_sweep", boom)
    out = tmp_path / "runs"
    with pytest.raises(RuntimeError):
        run_experiment(validate(ExperimentConfig, TINY), out_dir=out, progress=False)
    assert list(out.iterdir()) == []


def test_run_runs_a_sweep_spec_and_sweep_refuses_an_experiment(tmp_path):
    spec = {
        "kind": "sweep",
        "name": "tiny_sweep",
        "base": {**TINY, "margin": {"estimate": False}},
        "grid": {"train.lr": [0.5, 1.0]},
    }
    path = write_config(tmp_path, spec, "spec.yaml")
    store = tmp_path / "store"
    result = invoke("run", path, "--store", store, "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert "8 done, 0 failed, 8 trained now" in " ".join(result.output.split())
    again = invoke("sweep", path, "--store", store, "--workers", "1", "--quiet")
    assert "8 done, 0 failed, 0 trained now" in " ".join(again.output.split())
    experiment = spec_with(tmp_path, kind="two_layer")
    assert_clean_error(invoke("sweep", experiment), "of kind 'two_layer'", "softhard run")
    assert_clean_error(invoke("run", spec_with(tmp_path, kind="bogus")), "'kind'", "'min_width'")
    assert_clean_error(invoke("run", path, "--executor", "dask"), "--executor", "'ray'")


def spec_with(tmp_path, **fields):
    return write_config(tmp_path, {**TINY, **fields}, "other.yaml")


def test_old_keys_name_their_replacement(tmp_path):
    old = {**TINY, "teacher": {"width": 16, "num_directions": 32}}
    result = invoke("run", write_config(tmp_path, old), "--out", tmp_path / "runs")
    assert_clean_error(result, "teacher.num_directions", "margin: {num_directions: K}")
    result = invoke("validate", "demo", "--set", "margin=false")
    assert_clean_error(result, "margin: {estimate: false}")


def test_bad_set_value_names_the_override(tmp_path):
    result = invoke("run", "demo", "--set", "train.epochs=-3", "--out", tmp_path)
    assert_clean_error(result, "--set 'train.epochs=-3'", "train.epochs")
    assert "demo.yaml is invalid" not in result.output
    assert not list(tmp_path.iterdir())


def test_error_text_with_brackets_is_printed_verbatim(tmp_path):
    result = invoke("validate", "demo", "--set", "tasks=[digits:0-1,mixx=0.1]")
    assert_clean_error(result, "tasks=[digits:0-1,mixx=0.1]")


def test_summary_shows_the_yardstick_the_horizon_and_a_weak_teacher(tmp_path):
    weak = {
        **TINY,
        "tasks": ["digits:3-8"],
        "widths": [8],
        "train": {"epochs": 150},
        "teacher": {"width": 16, "epochs": 1, "lr": 0.01},
        "margin": {"estimate": False},
    }
    result = invoke("run", write_config(tmp_path, weak), "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Mean over the units of replication" in text and "yard: the yardstick" in text
    assert text.count("yard") >= 4 and text.count("theorem") >= 4  # the table's headers
    assert "digits:3-8: horizon 150 epochs (fixed)" in text
    assert "WEAK TEACHER (data seed 0): teacher" in text and "< hard student" in text
    assert "McNemar p = " in text and "discordant test examples" in text


def test_demo_runs_reduced_with_tuned_arms_and_says_what_it_found(tmp_path):
    overrides = [
        "tasks=[digits:0-1]",
        "widths=[2,4]",
        "seeds=[0,1]",
        "margin.estimate=false",
        "train.epochs=8",
        "tune.lrs=[0.5,8]",
        "teacher.width=16",
        "teacher.stop.max_epochs=20",
        "teacher.stop.check_every=10",
    ]
    args = [a for o in overrides for a in ("--set", o)]
    result = invoke("demo", "--out", tmp_path / "runs", "--quiet", *args)
    assert result.exit_code == 0, result.output
    (folder,) = list((tmp_path / "runs").iterdir())
    table = pd.read_csv(folder / "results.csv")
    assert set(table["steps"]) == {"tuned"} and set(table["lr"]) <= {0.5, 8.0}
    assert (folder / "soft_minus_hard.png").is_file()
    paired = pd.read_csv(folder / "paired.csv")
    assert len(paired) == 2 and set(paired["unit"]) == {"student seeds (1 data seed)"}
    text = " ".join(result.output.split())
    assert "With each arm's learning rate and stopping epoch tuned on validation data" in text
