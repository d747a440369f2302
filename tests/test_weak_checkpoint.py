"""The weak-teacher check compares the teacher with the hard-label student whose accuracy is
reported: for tuned students that is the early-stopped checkpoint, not the horizon's weights."""

import numpy as np
import pytest
import torch

from softhard.config import DataConfig, ExperimentConfig, TeacherConfig, validate
from softhard.data import load_dataset
from softhard.studies.two_layer import checkpoints, prepare_task, run_experiment, train_students
from softhard.teachers.two_layer import train_teacher, validation_split
from softhard.teachers.weak import student_correct


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset(DataConfig.parse("digits:3-8"))
    x, xt = ds.flat()
    return ds, x.double(), ds.y_train_pm.double(), xt.double(), ds.y_test_pm.double()


def _config() -> ExperimentConfig:
    return validate(
        ExperimentConfig,
        {
            "tasks": ["digits:3-8,flip=0.3,max_train=150"],
            "widths": [2, 8],
            "seeds": [0, 1],
            "temperature": 4.0,
            "teacher": {"width": 32, "lr": 2.0, "stop": {"rule": "val_acc", "max_epochs": 100}},
            "train": {"optimizer": "gd", "epochs": 60},
            "tune": {"lrs": [1.0, 8.0]},
            "margin": {"estimate": False},
        },
    )


def test_tuned_hard_students_are_checked_at_their_chosen_epoch(tmp_path):
    cfg = _config()
    task = prepare_task(cfg.tasks[0], cfg.teacher, cache=tmp_path, val_fraction=cfg.val_fraction())
    students = [st for st in cfg.students() if st.label_mode == "hard"]
    results = train_students(task, students, cfg)
    stopped = [r.final["tuned_epoch"] < r.epochs_run for r in results]
    assert any(stopped), "the planted noisy task should stop some hard student early"
    kept = checkpoints(task, students, results, cfg)
    moved = 0
    for st, res, ck in zip(students, results, kept, strict=True):
        at_ck = student_correct(ck.weight, st.seed, task.x_test, task.y_test_pm).mean()
        at_end = student_correct(res.weight, st.seed, task.x_test, task.y_test_pm).mean()
        # the checkpoint's predictions give the reported (tuned) test accuracy
        assert at_ck == pytest.approx(res.final["test_acc"], abs=1e-9)
        moved += not np.isclose(at_end, res.final["test_acc"])
    assert moved > 0, "the horizon's weights must differ somewhere, or the test shows nothing"


def test_the_run_checks_the_reported_student_against_the_teacher(tmp_path):
    cfg = _config()
    result = run_experiment(cfg, write=False, progress=False, cache=tmp_path)
    (check,) = result.teacher_checks
    task = prepare_task(cfg.tasks[0], cfg.teacher, cache=tmp_path, val_fraction=cfg.val_fraction())
    n_test = task.y_test_pm.shape[0]
    # McNemar's discordant counts come from the student whose accuracy the table reports
    gap = check["teacher_test_acc"] - check["student_test_acc"]
    assert gap == pytest.approx((check["teacher_only"] - check["student_only"]) / n_test, abs=1e-9)


def test_the_teacher_keeps_its_best_validation_checkpoint_not_its_last_weights(digits):
    _, x, y, _, _ = digits
    noisy = y.clone()
    noisy[::3] *= -1
    base = {"width": 64, "lr": 4.0}
    stop = {"rule": "val_acc", "check_every": 10, "patience": 80, "max_epochs": 200}
    cfg = validate(TeacherConfig, {**base, "stop": stop})
    weight, info = train_teacher(cfg, x, noisy)
    assert info["epochs_used"] < info["epochs_trained"]  # it ran past the kept check
    val, _ = validation_split(x.shape[0], cfg.stop.val_fraction, cfg.seed)
    kept = student_correct(weight, cfg.seed, x[val], noisy[val]).mean()
    assert kept == pytest.approx(info["val_acc"], abs=1e-9)
    last, _ = train_teacher(
        validate(TeacherConfig, {**base, "epochs": info["epochs_trained"]}), x, noisy
    )
    assert not torch.allclose(weight, last)
