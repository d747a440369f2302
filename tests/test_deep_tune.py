"""Deep students tuned per arm on validation data (issue 19 item 2, claim 4).

The rule is the two-layer one (:mod:`softhard.tuning`); here: it picks a planted best rate and
epoch (never a diverged one), it finds the rate that learns on a tiny real problem (the other is
too small to move the weights), the validation split is the teacher's and disjoint from the students' fit part, the
teacher is its best-validation checkpoint, and the tuned comparison is paired on data seeds.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from softhard.data import load_dataset
from softhard.models.table import build_model, predict_logits
from softhard.replication import DATA_UNITS
from softhard.report.claims import accuracy_gaps
from softhard.student import Student
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import prepare_deep_task, train_deep_student
from softhard.studies.deep.train import accuracy, train_model
from softhard.studies.deep.tune import tuned_history
from softhard.studies.regimes.compare import paired_compare
from softhard.teachers.cache import TeacherCache
from softhard.teachers.two_layer import validation_split

TINY = {
    "kind": "deep",
    "name": "tiny_tuned",
    "tasks": [{"source": "digits", "task": "0-1", "noise": 0.25, "max_train": 200}],
    "data_seeds": [0, 1],
    "teacher": {"arch": "cnn8x8", "width": 4, "epochs": 3},
    "student": {"arch": "cnn8x8"},
    "widths": [2],
    "seeds": [0],
    "train": {"epochs": 3, "batch_size": 16},
    # 1e-7 is too small to move the weights: 0.1 is the rate that learns (a diverging rate is
    # planted in test_tuned_history_picks_the_planted_rate_and_epoch)
    "tune": {"lrs": [1e-7, 0.1], "val_fraction": 0.25},
    "device": "cpu",
    "cpu_threads": 1,
}


def _history(val_acc, val_loss, test_acc):
    return [
        {"epoch": e + 1.0, "val_acc": a, "val_loss": lo, "test_acc": t, "loss": 1.0}
        for e, (a, lo, t) in enumerate(zip(val_acc, val_loss, test_acc, strict=True))
    ]


def test_tuned_history_picks_the_planted_rate_and_epoch():
    runs = [
        _history([0.5, 0.6, 0.6, 0.6], [1.0, 0.9, 0.9, 0.9], [0.5, 0.6, 0.6, 0.6]),
        # best validation at epoch 2, then overfits; its test accuracy there is planted
        _history([0.7, 0.9, 0.8, 0.8], [0.8, 0.5, 0.6, 0.7], [0.7, 0.77, 0.8, 0.8]),
        # diverged: NaN validation loss is never chosen, whatever its accuracy says
        _history([0.95, 0.95, 0.95, 0.95], [math.nan] * 4, [0.99] * 4),
    ]
    curve, final = tuned_history(runs, [0.01, 0.1, 1.0])
    assert final["lr"] == 0.1 and final["tuned_epoch"] == 2
    assert final["test_acc"] == pytest.approx(0.77) and final["last_test_acc"] == pytest.approx(0.8)
    assert final["tuned_val_acc"] == pytest.approx(0.9)
    # within a budget of one epoch the choice is epoch 1 of rate 0.1
    assert curve[0]["tuned_epoch"] == 1 and curve[0]["test_acc"] == pytest.approx(0.7)
    _, last = tuned_history(runs, [0.01, 0.1, 1.0], early_stop=False)
    assert last["tuned_epoch"] == 4 and last["test_acc"] == pytest.approx(0.8)


def test_ties_on_validation_accuracy_go_to_the_lower_validation_loss():
    runs = [
        _history([0.8, 0.8], [0.7, 0.7], [0.1, 0.1]),
        _history([0.8, 0.8], [0.6, 0.4], [0.2, 0.3]),
    ]
    _, final = tuned_history(runs, [0.1, 0.2])
    assert (final["lr"], final["tuned_epoch"], final["test_acc"]) == (0.2, 2.0, 0.3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    cfg = DeepExperimentConfig.model_validate({**TINY, "cache_dir": str(cache)})
    device = torch.device("cpu")
    tasks = [
        prepare_deep_task(cfg, t, TeacherCache(cache / "teachers"), device) for t in cfg.task_list()
    ]
    rows = [
        train_deep_student(cfg, task, Student(2, 0, mode, cfg.temperature, 1.0), device)[0]
        for task in tasks
        for mode in ("soft", "hard")
    ]
    return cfg, tasks, pd.DataFrame(rows)


def test_each_arm_gets_the_one_rate_that_learns(tiny):
    _, _, rows = tiny
    assert set(rows["steps"]) == {"tuned"}
    assert (rows["lr"] == 0.1).all(), rows[["label_mode", "data_seed", "lr"]]
    assert (rows["tuned_epoch"].between(1, 3)).all()
    assert (rows["test_acc"] > 0.7).all()  # two classes: chance is 1/2


def test_validation_split_is_the_teachers_and_disjoint_from_training(tiny):
    cfg, tasks, _ = tiny
    for task_cfg, task in zip(cfg.task_list(), tasks, strict=True):
        ds = load_dataset(task_cfg)
        val_idx, fit_idx = validation_split(ds.n_train, 0.25, cfg.teacher.seed)
        assert set(val_idx.tolist()).isdisjoint(fit_idx.tolist())
        assert len(val_idx) + len(fit_idx) == ds.n_train
        assert task.val is not None
        assert torch.equal(task.val[1], ds.y_train[val_idx])
        assert torch.equal(task.data[1], ds.y_train[fit_idx])
        assert task.teacher_logits.shape[0] == len(fit_idx)  # soft labels of the fit part only
        assert task.teacher["n_val"] == len(val_idx) and task.teacher["n_train"] == len(fit_idx)
        assert task.data[3].shape[0] == ds.n_test  # the test split is untouched


def test_teacher_is_its_best_validation_checkpoint(tiny):
    cfg, tasks, _ = tiny
    task = tasks[0]
    model = build_model("cnn8x8", task.in_shape, task.num_classes, 4, seed=cfg.teacher.seed)
    res = train_model(model, task.data, cfg.train, seed=cfg.teacher.seed, epochs=4,
                      val=task.val, keep_best=True)  # fmt: skip
    keys = [(h["val_acc"], -h["val_loss"]) for h in res.history]
    assert res.best_epoch == 1 + max(range(len(keys)), key=lambda i: (keys[i], -i))
    assert task.val is not None
    kept = accuracy(predict_logits(model, task.val[0]), task.val[1])
    assert kept == pytest.approx(res.history[res.best_epoch - 1]["val_acc"])
    assert {"val_acc", "val_loss", "test_acc"} <= set(res.history[0])


def test_tuned_comparison_is_paired_on_data_seeds(tiny):
    _, _, rows = tiny
    assert sorted(rows["data_seed"].unique()) == [0, 1]
    paired = paired_compare(rows)
    assert len(paired) == 1 and paired["n_seeds"].iloc[0] == 2
    assert paired["unit"].iloc[0] == DATA_UNITS and paired["steps"].iloc[0] == "tuned"
    soft = rows[rows["label_mode"] == "soft"].set_index("data_seed")["test_acc"]
    hard = rows[rows["label_mode"] == "hard"].set_index("data_seed")["test_acc"]
    assert paired["mean_diff"].iloc[0] == pytest.approx(float((soft - hard).mean()))


def test_claim_gap_pairs_tuned_arms_that_chose_different_rates():
    # soft chose 0.4 and hard 0.1 at every data seed: they still pair (lr is an outcome)
    rows = [
        {"task": f"T{lvl}", "noise": lvl, "width": 1, "seed": 0, "data_seed": d,
         "label_mode": mode, "steps": "tuned", "lr": 0.4 if mode == "soft" else 0.1,
         "test_acc": 0.5 + (0.1 * lvl + 0.01 * d if mode == "soft" else 0.0)}
        for lvl in (0, 1) for d in range(3) for mode in ("soft", "hard")
    ]  # fmt: skip
    gaps = accuracy_gaps(pd.DataFrame(rows), "noise")
    assert list(gaps["n_seeds"]) == [3, 3]
    assert np.allclose(gaps["gap"], [0.01, 0.11])
