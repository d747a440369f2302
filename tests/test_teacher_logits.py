"""Bring your own teacher: teacher-logits files, checked against the data, and runs from them."""

import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from softhard.cli import app
from softhard.config import DataConfig, ExperimentConfig, load_config, validate
from softhard.data import load_dataset
from softhard.errors import ConfigError, DataError
from softhard.studies.min_width import load_min_width_spec
from softhard.studies.teacher_file import export_teacher_logits
from softhard.studies.two_layer import run_experiment
from softhard.teachers.logits import (
    logits_teacher_output,
    read_teacher_logits,
    write_teacher_logits,
)

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


BASE = {
    "name": "byo",
    "tasks": ["digits:3-8"],
    "widths": [2, 8],
    "seeds": [0, 1],
    "train": {"epochs": 60},
    "temperature": 2.0,
    "teacher": {"width": 32, "epochs": 80},
    "margin": {"estimate": False},
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset(DataConfig.parse("digits:3-8"))


def test_a_file_round_trips_and_two_class_rows_give_the_logit_difference(digits, tmp_path):
    gen = torch.Generator().manual_seed(0)
    rows = torch.randn(digits.n_train, 2, generator=gen, dtype=torch.float64)
    path = write_teacher_logits(tmp_path / "t.npz", digits, rows)
    train, test, info = read_teacher_logits(path, digits)
    torch.testing.assert_close(train, rows[:, 1] - rows[:, 0])
    assert test is None and not info["has_test"] and len(info["sha256"]) == 16


def test_a_file_of_the_wrong_length_is_refused_naming_the_file_and_the_fix(digits, tmp_path):
    path = tmp_path / "short.npz"
    np.savez(path, train_logits=np.zeros(digits.n_train - 1), fingerprint=digits.fingerprint())
    with pytest.raises(DataError) as err:
        read_teacher_logits(path, digits)
    text = str(err.value)
    assert str(path) in text and f"{digits.n_train - 1} rows" in text
    assert f"{digits.n_train} train examples" in text and "softhard teacher-logits" in text
    with pytest.raises(DataError, match="3 logits per example"):
        write_teacher_logits(tmp_path / "k.npz", digits, np.zeros((digits.n_train, 3)))


def test_a_file_written_for_other_data_or_without_a_fingerprint_is_refused(digits, tmp_path):
    path = write_teacher_logits(tmp_path / "t.npz", digits, np.zeros(digits.n_train))
    other = load_dataset(DataConfig.parse("digits:3-8,seed=1"))  # another split, same size
    assert other.n_train == digits.n_train
    with pytest.raises(DataError, match="written for other data .* data seed"):
        read_teacher_logits(path, other)
    bare = tmp_path / "bare.npz"
    np.savez(bare, train_logits=np.zeros(digits.n_train))
    with pytest.raises(DataError, match="has no fingerprint"):
        read_teacher_logits(bare, digits)
    with pytest.raises(DataError, match="does not exist"):
        read_teacher_logits(tmp_path / "none.npz", digits)


def test_a_logits_teacher_needs_a_path_and_a_relative_path_follows_the_config(tmp_path):
    with pytest.raises(ConfigError, match="teacher.path"):
        validate(ExperimentConfig, {"teacher": {"kind": "logits"}})
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "c.yaml").write_text(
        yaml.safe_dump({**BASE, "teacher": {"kind": "logits", "path": "t.npz"}})
    )
    cfg = load_config(folder / "c.yaml")
    assert cfg.teacher.path == str((folder / "t.npz").absolute()) and cfg.teacher.sha256 is None


def test_a_file_changed_after_the_config_was_loaded_is_refused(digits, tmp_path):
    path = write_teacher_logits(tmp_path / "t.npz", digits, np.ones(digits.n_train))
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({**BASE, "teacher": {"kind": "logits", "path": "t.npz"}})
    )
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.teacher.sha256 is not None  # keys the run store: a new file, new runs
    assert logits_teacher_output(cfg.teacher, digits)[2]["sha256"] == cfg.teacher.sha256
    write_teacher_logits(path, digits, -np.ones(digits.n_train))
    with pytest.raises(DataError, match="changed since the config was written"):
        logits_teacher_output(cfg.teacher, digits)


def test_a_run_from_a_logits_file_equals_the_run_with_the_trained_teacher(tmp_path):
    trained_cfg = validate(ExperimentConfig, BASE)
    path, info = export_teacher_logits(trained_cfg, tmp_path / "t.npz", cache=tmp_path)
    assert info["kind"] == "network"
    from_file_cfg = validate(
        ExperimentConfig, {**BASE, "teacher": {"kind": "logits", "path": str(path)}}
    )
    trained = run_experiment(trained_cfg, write=False, progress=False, cache=tmp_path)
    from_file = run_experiment(from_file_cfg, write=False, progress=False, cache=tmp_path)
    a, b = trained.results, from_file.results
    for col in ("test_acc", "avg_loss", "final_loss", "kl_to_teacher", "teacher_test_acc"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-7, atol=1e-9)
    assert (b["teacher_stop_rule"] == "logits").all()
    p_trained = [c["p_value"] for c in trained.teacher_checks]
    assert p_trained == pytest.approx([c["p_value"] for c in from_file.teacher_checks])


def test_cli_writes_a_file_and_refuses_one_for_other_data(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "t.npz"
    result = invoke("teacher-logits", str(cfg), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file()
    byo = tmp_path / "byo.yaml"
    byo.write_text(
        yaml.safe_dump(
            {
                **BASE,
                "tasks": ["digits:3-8,flip=0.1"],
                "teacher": {"kind": "logits", "path": "t.npz"},
            }
        )
    )
    result = invoke("run", str(byo), "--out", str(tmp_path / "runs"), "--quiet")
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "t.npz" in text and "written for other data" in text


def test_the_worked_example_writes_a_file_its_min_width_spec_reads(tmp_path):
    """examples/byo_teacher: make_teacher.main writes a file that the spec's teacher accepts."""
    root = Path(__file__).resolve().parents[1] / "examples" / "byo_teacher"
    module = runpy.run_path(str(root / "make_teacher.py"))
    path = module["main"](tmp_path / "teacher_logits.npz")
    (tmp_path / "minwidth.yaml").write_text((root / "minwidth.yaml").read_text())
    spec = load_min_width_spec(tmp_path / "minwidth.yaml")
    teacher = validate(ExperimentConfig, spec.base).teacher
    assert teacher.path == str(path.absolute()) and teacher.sha256 is not None
    dataset = load_dataset(spec.tasks[0])
    train, _, info = logits_teacher_output(teacher, dataset)
    assert info["test_acc"] > 0.9 and train.shape == (dataset.n_train,)
