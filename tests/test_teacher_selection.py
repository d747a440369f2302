"""Teachers chosen on validation: the kept checkpoint, candidates, the paired weak test,
temperature calibration, and the weak-teacher flag per data seed."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import binomtest

from softhard.config import DataConfig, ExperimentConfig, TeacherConfig, validate
from softhard.data import load_dataset
from softhard.errors import ConfigError
from softhard.studies.two_layer import run_experiment
from softhard.teachers.selection import (
    CheckTracker,
    candidate_configs,
    fit_temperature,
    logistic_nll,
)
from softhard.teachers.two_layer import chosen_teacher, train_teacher, validation_split
from softhard.teachers.weak import (
    TaskPredictions,
    mcnemar,
    significantly_worse,
    teacher_checks,
    weak_teachers,
)

# A planted validation curve of a noisy task: the loss turns up after the first check while
# the accuracy still improves (epoch 150: 0.80 at loss 0.50; epoch 200 ties at a higher loss).
PLANTED = [
    (50, 0.60, 0.40),
    (100, 0.70, 0.45),
    (150, 0.80, 0.50),
    (200, 0.80, 0.55),
    (250, 0.75, 0.60),
    (300, 0.70, 0.65),
    (350, 0.78, 0.70),
]


def _walk(rule, patience):
    tracker = CheckTracker(rule, patience)
    for epoch, acc, loss in PLANTED:
        if tracker.offer({"epochs_used": epoch, "val_acc": acc, "val_loss": loss}):
            return tracker.best["epochs_used"], epoch
    return tracker.best["epochs_used"], None


def test_val_acc_keeps_the_best_accuracy_checkpoint_ties_by_loss_on_a_planted_curve():
    assert _walk("val_acc", patience=1000) == (150, None)  # not 200: same acc, higher loss
    assert _walk("val_acc", patience=150) == (150, 300)  # patience counts from epoch 150
    assert _walk("val_loss", patience=100) == (50, 150)  # the old rule: the first check


def test_mcnemar_one_example_never_fires_a_planted_weak_teacher_does():
    reference = np.ones(90, dtype=bool)
    one_off = reference.copy()
    one_off[0] = False  # 89/90 against 90/90: the digits 3-8 case of issue 19
    worse, test = significantly_worse(one_off, reference)
    assert not worse and test.p_value == 1.0 and (test.a_only, test.b_only) == (0, 1)
    weak = reference.copy()
    weak[:12] = False  # 78/90: wrong on 12 the reference gets right
    worse, test = significantly_worse(weak, reference)
    assert worse and test.p_value == pytest.approx(2 * 0.5**12)


def test_mcnemar_p_value_is_the_binomial_on_discordant_pairs():
    a = np.array([1] * 2 + [0] * 9 + [1] * 50, dtype=bool)
    b = np.array([0] * 2 + [1] * 9 + [1] * 50, dtype=bool)
    test = mcnemar(a, b)
    assert (test.a_only, test.b_only) == (2, 9)
    assert test.p_value == pytest.approx(134 / 2048)  # 2 (1 + 11 + 55) / 2^11
    assert test.p_value == pytest.approx(binomtest(2, 11).pvalue)
    assert not significantly_worse(a, b)[0]  # p = 0.065: not at 0.05
    with pytest.raises(ValueError, match="same examples"):
        mcnemar(a, b[:-1])


def test_temperature_calibration_lowers_the_validation_nll():
    gen = torch.Generator().manual_seed(0)
    y = torch.where(torch.rand(400, generator=gen) < 0.5, -1.0, 1.0).double()
    clean = y * (1.0 + torch.randn(400, generator=gen, dtype=torch.float64))
    logits = 8.0 * clean  # over-confident: about 16% wrong at large |F|
    fit = fit_temperature(logits, y)
    assert fit["val_nll_after"] < 0.8 * fit["val_nll_before"]
    assert fit["val_nll_after"] == pytest.approx(logistic_nll(logits / fit["temperature"], y))
    assert 2.0 < fit["temperature"] < 32.0
    # a calibrated teacher is left (nearly) as it is
    again = fit_temperature(logits / fit["temperature"], y)
    assert again["temperature"] == pytest.approx(1.0, rel=1e-2)


def test_candidates_need_a_validation_split_and_keep_their_order():
    with pytest.raises(ConfigError, match="teacher.candidates needs .* val_acc"):
        validate(TeacherConfig, {"candidates": [{"width": 8}]})
    cfg = validate(
        TeacherConfig,
        {
            "width": 64,
            "stop": {"rule": "val_acc", "max_epochs": 300},
            "candidates": [{"width": 16, "lr": 0.5}, {"max_epochs": 900}],
            "calibrate": True,
        },
    )
    first, second = candidate_configs(cfg)
    assert (first.width, first.lr, first.stop.max_epochs) == (16, 0.5, 300)
    assert (second.width, second.lr, second.stop.max_epochs) == (64, 1.0, 900)
    assert not first.candidates and not second.calibrate


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset(DataConfig.parse("digits:3-8"))
    x, xt = ds.flat()
    return ds, x.double(), ds.y_train_pm.double(), xt.double(), ds.y_test_pm.double()


def test_a_weak_candidate_is_replaced_by_the_next(digits, tmp_path):
    ds, x, y, xt, yt = digits
    stop = {"rule": "val_acc", "check_every": 10, "patience": 50, "max_epochs": 10}
    cfg = validate(
        TeacherConfig,
        {
            "width": 64,
            "lr": 1.0,
            "stop": stop,
            "reference": {"widths": [4, 16], "epochs": 100},
            "candidates": [{"lr": 1e-4}, {"lr": 2.0, "max_epochs": 150}, {"lr": 4.0}],
        },
    )
    out = chosen_teacher(cfg, x, y, xt, yt, data_fingerprint=ds.fingerprint(), cache=tmp_path)
    weak, strong = out.info["candidates"]  # the third is never trained
    assert weak["vs_reference"]["weak"] and weak["vs_reference"]["p_value"] < 0.05
    assert not strong["vs_reference"]["weak"]
    assert out.info["chosen"] == 1 and out.info["val_acc"] == strong["val_acc"]
    assert out.info["reference"]["width"] in (4, 16)
    every = chosen_teacher(
        cfg.model_copy(update={"try_all": True}),
        x,
        y,
        xt,
        yt,
        data_fingerprint=ds.fingerprint(),
        cache=tmp_path,
    )
    records = every.info["candidates"]
    assert len(records) == 3
    best = max(range(3), key=lambda i: (records[i]["val_acc"], -records[i]["val_loss"]))
    assert every.info["chosen"] == best


def test_calibrated_teacher_logits_are_divided_by_the_fitted_temperature(digits, tmp_path):
    _, x, y, xt, yt = digits
    stop = {"rule": "val_acc", "check_every": 50, "max_epochs": 400}
    base = {"width": 64, "lr": 2.0, "stop": stop}
    plain = chosen_teacher(
        validate(TeacherConfig, base), x, y, xt, yt, data_fingerprint="d", cache=tmp_path
    )
    calib = chosen_teacher(
        validate(TeacherConfig, {**base, "calibrate": True}),
        x,
        y,
        xt,
        yt,
        data_fingerprint="d",
        cache=tmp_path,
    )
    fit = calib.info["calibration"]
    torch.testing.assert_close(calib.train_logits, plain.train_logits / fit["temperature"])
    val, _ = validation_split(x.shape[0], 0.2, 12345)
    assert logistic_nll(calib.train_logits[val], y[val]) == pytest.approx(fit["val_nll_after"])
    assert fit["val_nll_after"] <= fit["val_nll_before"]


def test_val_acc_rule_keeps_a_checkpoint_no_worse_on_validation_accuracy(digits):
    _, x, y, _, _ = digits
    flipped = y.clone()
    flipped[::4] *= -1  # 25% noise: the validation loss turns up early
    stop = {"check_every": 10, "patience": 50, "max_epochs": 150}
    by = {
        rule: train_teacher(
            validate(TeacherConfig, {"width": 64, "lr": 2.0, "stop": {**stop, "rule": rule}}),
            x,
            flipped,
        )[1]
        for rule in ("val_loss", "val_acc")
    }
    assert by["val_acc"]["val_acc"] >= by["val_loss"]["val_acc"]
    assert by["val_acc"]["stop_rule"] == "val_acc"


def _three_seed_table():
    """Three data seeds of one task; hard students of widths 2 and 8, seeds 0-2."""
    accs = {
        0: {2: [0.90, 0.92, 0.91], 8: [0.95, 0.97, 0.96]},  # best width 8, median seed 2 (0.96)
        1: {2: [0.97, 0.99, 0.98], 8: [0.93, 0.94, 0.95]},  # best width 2, median seed 2 (0.98)
        2: {2: [0.80, 0.85, 0.90], 8: [0.86, 0.86, 0.86]},  # width 8 (0.86 > 0.85); ties: seed 1
    }
    rows = [
        {
            "task": "digits:3-8",
            "task_index": ds,
            "data_seed": ds,
            "label_mode": "hard",
            "width": w,
            "seed": s,
            "test_acc": a,
        }
        for ds, per in accs.items()
        for w, values in per.items()
        for s, a in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_weak_teacher_check_runs_per_data_seed_against_a_hand_computation():
    table = _three_seed_table()
    n = 100
    right = np.ones(n, dtype=bool)
    student = {ds: right.copy() for ds in range(3)}
    teacher = {ds: right.copy() for ds in range(3)}
    teacher[0][:1] = False  # data seed 0: one example behind, p = 1
    teacher[1][:10] = False  # data seed 1: ten behind, p = 2^-9
    student[2][:5] = False  # data seed 2: the teacher is better
    preds = {
        ds: TaskPredictions(teacher[ds], {(w, s): student[ds] for w in (2, 8) for s in range(3)})
        for ds in range(3)
    }
    checks = teacher_checks(table, preds)
    assert [c["data_seed"] for c in checks] == [0, 1, 2]
    hand = [(8, 2, 0.96, 1.0), (2, 2, 0.98, 2 * 0.5**10), (8, 1, 0.86, 2 * 0.5**5)]
    for check, (width, seed, best, p) in zip(checks, hand, strict=True):
        assert check["best_hard_width"] == width and check["student_seed"] == seed
        assert check["best_hard_test_acc"] == pytest.approx(best)
        assert check["best_hard_test_acc"] == pytest.approx(
            table[(table.data_seed == check["data_seed"]) & (table.width == width)].test_acc.mean()
        )
        assert check["p_value"] == pytest.approx(p)
    (flag,) = weak_teachers(table, preds)  # only data seed 1's teacher, not seed 0's
    assert flag["data_seed"] == 1 and flag["teacher_test_acc"] == pytest.approx(0.90)


def test_a_run_with_three_data_seeds_checks_each_seeds_teacher(tmp_path):
    cfg = validate(
        ExperimentConfig,
        {
            "name": "three",
            "tasks": ["digits:3-8"],
            "data_seeds": [0, 1, 2],
            "widths": [4, 16],
            "seeds": [0, 1],
            "train": {"epochs": 100},
            "teacher": {"width": 16, "epochs": 1, "lr": 0.01},
            "margin": {"estimate": False},
        },
    )
    result = run_experiment(cfg, out_dir=tmp_path, progress=False)
    checks = result.teacher_checks
    assert [c["data_seed"] for c in checks] == [0, 1, 2]
    table = result.results
    for check in checks:
        hard = table[(table.data_seed == check["data_seed"]) & (table.label_mode == "hard")]
        per_width = hard.groupby("width").test_acc.mean()
        assert check["best_hard_width"] == per_width.idxmax()
        assert check["best_hard_test_acc"] == pytest.approx(per_width.max())
        assert check["teacher_test_acc"] == pytest.approx(hard.teacher_test_acc.iloc[0])
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert [c["data_seed"] for c in manifest["teacher_checks"]] == [0, 1, 2]
    assert all(math.isfinite(c["p_value"]) for c in checks)
