"""Network teachers trained to a stopping rule, and the weak-teacher flag."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from softhard.config import DataConfig, ExperimentConfig, TeacherConfig, validate
from softhard.data import load_dataset
from softhard.studies.two_layer import run_experiment
from softhard.teachers.two_layer import (
    _segment,
    network_teacher,
    teacher_key,
    train_teacher,
    validation_split,
)
from softhard.teachers.weak import TaskPredictions, weak_teachers


@pytest.fixture(scope="module")
def noisy():
    """Digits 3-8 with 30% of the training labels flipped: a teacher overfits the noise, so
    its validation loss turns up."""
    ds = load_dataset(DataConfig.parse("digits:3-8,flip=0.3"))
    x, xt = ds.flat()
    return ds, x.double(), ds.y_train_pm.double(), xt.double(), ds.y_test_pm.double()


def _cfg(**stop):
    return validate(TeacherConfig, {"width": 64, "lr": 2.0, "stop": stop})


def test_validation_split_is_seeded_and_disjoint():
    val, fit = validation_split(100, 0.2, seed=3)
    assert len(val) == 20 and len(fit) == 80
    assert set(val.tolist()).isdisjoint(fit.tolist())
    assert torch.equal(val, validation_split(100, 0.2, seed=3)[0])
    assert not torch.equal(val, validation_split(100, 0.2, seed=4)[0])


def test_patience_stops_and_keeps_the_best_check(noisy):
    _, x, y, _, _ = noisy
    cfg = _cfg(rule="val_loss", patience=40, check_every=10, max_epochs=4000)
    weight, info = train_teacher(cfg, x, y)
    assert info["stop_rule"] == "val_loss"
    assert info["epochs_trained"] < 4000  # stopped by patience, not by the cap
    assert info["epochs_trained"] - info["epochs_used"] >= 40
    assert info["epochs_used"] % 10 == 0
    # the kept weights are those of one straight run of epochs_used on the fit part
    val, fit = validation_split(x.shape[0], 0.2, cfg.seed)
    straight, res = _segment(cfg, x[fit], y[fit], None, info["epochs_used"], x[val], y[val])
    torch.testing.assert_close(weight, straight, rtol=1e-9, atol=1e-12)
    assert info["val_loss"] == pytest.approx(res.final["test_loss"], rel=1e-9)
    # ... and no later check was better
    _, later = _segment(cfg, x[fit], y[fit], straight, 40, x[val], y[val])
    assert later.curves["test_loss"][10::10].min() >= info["val_loss"]


def test_train_tolerance_stops_before_the_cap(noisy):
    _, x, y, _, _ = noisy
    _, info = train_teacher(_cfg(rule="train_tol", tol=1e-2, check_every=20, max_epochs=5000), x, y)
    assert info["stop_rule"] == "train_tol" and info["epochs_used"] == info["epochs_trained"]
    assert info["epochs_used"] < 5000


def test_fixed_epochs_rule_uses_the_whole_training_set(noisy):
    _, x, y, _, _ = noisy
    cfg = validate(TeacherConfig, {"width": 32, "epochs": 7})
    _, info = train_teacher(cfg, x, y)
    assert info == {"stop_rule": "epochs", "epochs_used": 7, "epochs_trained": 7}


def test_the_rule_is_part_of_the_cache_key_and_the_info_survives_the_cache(noisy):
    ds, x, y, xt, yt = noisy
    a = _cfg(rule="val_loss", patience=20, check_every=10, max_epochs=60)
    b = _cfg(rule="val_loss", patience=30, check_every=10, max_epochs=60)
    assert teacher_key(a, "data") != teacher_key(b, "data")
    first = network_teacher(a, x, y, xt, yt, data_fingerprint=ds.fingerprint())
    again = network_teacher(a, x, y, xt, yt, data_fingerprint=ds.fingerprint())
    assert not first.info["from_cache"] and again.info["from_cache"]
    for key in ("epochs_used", "val_acc", "val_loss", "fit_acc", "train_acc", "test_acc"):
        assert again.info[key] == first.info[key]


def test_weak_teacher_flag_compares_with_the_best_hard_width():
    """The best width by seed-mean (8, mean 0.94), its median student (seed 1 of two sorted
    0.92 < 0.96: the upper, 0.96), and the paired test on 100 test examples."""
    rows = [
        {"task": "t", "task_index": 0, "label_mode": m, "width": w, "seed": s, "test_acc": acc}
        for m, w, s, acc in [
            ("hard", 2, 0, 0.80),
            ("hard", 2, 1, 0.90),  # mean 0.85
            ("hard", 8, 0, 0.96),
            ("hard", 8, 1, 0.92),  # mean 0.94: the best width
            ("soft", 8, 0, 0.99),  # soft students are not the yardstick of the flag
        ]
    ]
    table = pd.DataFrame(rows)
    student = np.arange(100) >= 4  # 96 right
    teacher = np.arange(100) >= 20  # 80 right, wrong on 16 the student gets right
    preds = TaskPredictions(teacher, {(8, 0): student, (8, 1): student, (2, 0): student})
    (flag,) = weak_teachers(table, {0: preds})
    assert flag["best_hard_width"] == 8 and flag["best_hard_test_acc"] == pytest.approx(0.94)
    assert flag["student_seed"] == 0 and flag["student_only"] == 16 and flag["teacher_only"] == 0
    assert flag["p_value"] == pytest.approx(2 * 0.5**16)
    assert weak_teachers(table, {0: TaskPredictions(student, preds.hard)}) == []


def test_a_one_epoch_teacher_is_flagged_in_the_run(tmp_path):
    cfg = validate(
        ExperimentConfig,
        {
            "name": "weak",
            "tasks": ["digits:3-8"],
            "widths": [16],
            "seeds": [0],
            "train": {"epochs": 200},
            "teacher": {"width": 16, "epochs": 1, "lr": 0.01},
            "margin": {"estimate": False},
        },
    )
    result = run_experiment(cfg, out_dir=tmp_path, progress=False)
    (flag,) = result.weak_teachers
    assert flag["task"] == "digits:3-8" and flag["teacher_test_acc"] < flag["best_hard_test_acc"]
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["weak_teachers"] == result.weak_teachers


def test_result_rows_record_the_configured_rule_and_the_epochs_it_chose(tmp_path):
    """Under val_loss the configured teacher.epochs is unused: the row leaves it empty and
    records the rule and the epochs the rule chose; under 'epochs' both are the setting."""
    base = {
        "tasks": ["digits:3-8"],
        "widths": [4],
        "seeds": [0],
        "train": {"epochs": 5},
        "margin": {"estimate": False},
    }
    stop = {"rule": "val_loss", "patience": 20, "check_every": 10, "max_epochs": 40}
    rows = {}
    for name, teacher in (
        ("rule", {"width": 16, "epochs": 7, "stop": stop}),
        ("fixed", {"width": 16, "epochs": 7}),
    ):
        cfg = validate(ExperimentConfig, {**base, "name": name, "teacher": teacher})
        rows[name] = run_experiment(cfg, out_dir=tmp_path, progress=False).results.iloc[0]
    rule, fixed = rows["rule"], rows["fixed"]
    assert rule["teacher_stop_rule"] == "val_loss" and pd.isna(rule["teacher_epochs"])
    assert rule["teacher_epochs_used"] in (10, 20, 30, 40)
    assert fixed["teacher_stop_rule"] == "epochs"
    assert fixed["teacher_epochs"] == 7 and fixed["teacher_epochs_used"] == 7
