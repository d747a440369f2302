"""Per-arm tuning on validation data: planted best rates and epochs, and the tuned comparison."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from softhard.config import ExperimentConfig, validate
from softhard.errors import ConfigError
from softhard.studies.min_width.search import metric_value
from softhard.studies.regimes.by_width import plot_paired_by_width, verdict
from softhard.studies.regimes.compare import paired_compare
from softhard.studies.two_layer import run_experiment
from softhard.train import TrainResult
from softhard.tuning import choose, selection_keys, tuned_result


def _result(val_acc, test_acc, val_loss=None, diverged=False):
    """A planted run: curves of T epochs plus the final value (the last entry)."""
    val_acc, test_acc = np.asarray(val_acc, float), np.asarray(test_acc, float)
    val_loss = np.ones_like(val_acc) if val_loss is None else np.asarray(val_loss, float)
    t = len(val_acc) - 1
    curves = {
        "loss": np.ones(t),
        "test_acc": test_acc[:t],
        "val_acc": val_acc[:t],
        "val_loss": val_loss[:t],
    }
    final = {"loss": 1.0, "test_acc": test_acc[t], "val_acc": val_acc[t], "val_loss": val_loss[t]}
    return TrainResult(torch.zeros(1, 1), curves, final, diverged, None, t)


def test_the_planted_best_rate_and_epoch_are_chosen_at_every_budget():
    # rate 0 peaks early (epoch 1), rate 1 peaks late (epoch 4); test accuracy tells them apart
    slow = _result([0.5, 0.6, 0.6, 0.7, 0.9, 0.8], [0.50, 0.61, 0.62, 0.71, 0.91, 0.81])
    fast = _result([0.5, 0.8, 0.7, 0.7, 0.7, 0.7], [0.50, 0.82, 0.72, 0.73, 0.74, 0.75])
    tuned = tuned_result([fast, slow], [4.0, 1.0])
    # budget e: best validation over (rate, t <= e); its test accuracy is reported
    np.testing.assert_allclose(tuned.curves["test_acc"], [0.50, 0.82, 0.82, 0.82, 0.91])
    np.testing.assert_allclose(tuned.curves["tuned_lr"], [4.0, 4.0, 4.0, 4.0, 1.0])
    np.testing.assert_allclose(tuned.curves["tuned_epoch"], [0, 1, 1, 1, 4])
    assert tuned.final["test_acc"] == pytest.approx(0.91)  # horizon 5: still epoch 4 of rate 1
    assert (tuned.final["tuned_lr"], tuned.final["tuned_epoch"]) == (1.0, 4.0)
    assert tuned.final["last_test_acc"] == pytest.approx(0.81)  # rate 1's own W_T
    # without early stopping the epoch is the budget itself
    late = tuned_result([fast, slow], [4.0, 1.0], early_stop=False)
    np.testing.assert_allclose(late.curves["tuned_epoch"], [0, 1, 2, 3, 4])
    assert late.final["test_acc"] == pytest.approx(0.81)


def test_ties_go_to_lower_validation_loss_then_earlier_epoch_then_smaller_rate():
    keys = selection_keys(np.array([0.8, 0.8, 0.8]), np.array([0.5, 0.3, 0.3]))
    assert keys[1] > keys[0] and keys[1] == keys[2]
    rate, epoch = choose(np.stack([keys, keys]))
    assert list(rate) == [0, 0, 0] and list(epoch) == [0, 1, 1]
    # a NaN (diverged) checkpoint is never chosen
    bad = selection_keys(np.array([np.nan, 0.9]), np.array([0.1, np.nan]))
    assert np.isneginf(bad).all()


def test_test_data_never_choose():
    """Test accuracy differs wildly between rates; validation is equal: the smaller rate wins."""
    a = _result([0.5, 0.7, 0.7], [0.5, 0.1, 0.1])
    b = _result([0.5, 0.7, 0.7], [0.5, 0.99, 0.99])
    tuned = tuned_result([a, b], [1.0, 2.0])
    assert tuned.final["tuned_lr"] == 1.0 and tuned.final["test_acc"] == pytest.approx(0.1)


def _tuned_config(**extra):
    return ExperimentConfig.model_validate(
        {
            "tasks": ["digits:3-8,max_train=120"],
            "data_seeds": [0, 1, 2],
            "widths": [2],
            "seeds": [0, 1],
            "temperature": 2.0,
            "teacher": {"width": 64, "epochs": 40},
            "train": {"optimizer": "gd", "epochs": 30},
            "tune": {"lrs": [0.5, 4.0]},
            "margin": {"estimate": False},
            **extra,
        }
    )


def test_a_tuned_run_is_paired_on_data_seeds_and_names_the_chosen_rates(tmp_path):
    cfg = _tuned_config()
    result = run_experiment(cfg, write=False, progress=False, cache=tmp_path)
    table = result.results
    assert len(table) == 3 * 2 * 2  # data seeds x student seeds x label modes: one row each
    assert set(table["steps"]) == {"tuned"} and set(table["lr"]) <= {0.5, 4.0}
    assert (table["n_val"] == 24).all() and (table["n_train"] == 120 - 24).all()
    assert table["tuned_epoch"].between(0, 30).all()
    paired = paired_compare(table, curves=result.curves, epochs=[10, "last"])
    assert set(paired["unit"]) == {"data seeds"} and (paired["n_seeds"] == 3).all()
    assert set(paired["steps"]) == {"tuned"}
    assert paired[["lr_soft_chosen", "lr_hard_chosen"]].isin([0.5, 4.0, 2.25]).all().all()
    # the paired difference is the per-data-seed mean of soft - hard tuned test accuracy
    last = table.pivot_table(index=["data_seed", "seed"], columns="label_mode", values="test_acc")
    expected = (last["soft"] - last["hard"]).groupby(level="data_seed").mean().mean()
    row = paired[paired["epoch"] == 30].iloc[0]
    assert row["mean_diff"] == pytest.approx(expected)


def test_tune_refuses_fixed_rate_settings():
    with pytest.raises(ValidationError, match="tune chooses every arm"):
        _tuned_config(train={"epochs": 30, "match_steps": True})
    cfg = _tuned_config()
    assert cfg.val_fraction() == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="tune.lrs"):
        validate(ExperimentConfig, {"tune": {"lrs": [0.0, 1.0]}})


def test_the_demo_verdict_names_the_cells_that_differ(tmp_path):
    rows = []
    for task, diffs in (("easy", (0.0, 0.0)), ("noisy", (0.05, -0.04))):
        for width, diff in zip((1, 4), diffs, strict=True):
            sign = "+" if diff > 0 else "-" if diff < 0 else "0"
            rows.append(
                {
                    "task": task, "width": width, "epoch": 300, "mean_diff": diff,
                    "ci_low": diff - 0.01, "ci_high": diff + 0.01, "sign": sign,
                    "unit": "student seeds (1 data seed)", "steps": "tuned",
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    text = verdict(frame)
    assert "beat hard labels in 1 of 4" in text and "noisy width 1" in text
    assert "hard labels won 1 (noisy width 4)" in text and "2 were not distinguishable" in text
    assert "tuned on validation data" in text
    assert plot_paired_by_width(frame, tmp_path / "f.png", title="t").stat().st_size > 0


def test_min_width_can_choose_on_validation_error():
    metrics = {"test_acc": 0.9, "tuned_val_acc": 0.75}
    assert metric_value(metrics, "val_error") == pytest.approx(0.25)
    assert metric_value(metrics, "test_error") == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="tuned on validation data"):
        metric_value({"test_acc": 0.9}, "val_error")


def test_the_soft_temperature_is_chosen_with_the_rate_and_recorded():
    # run order: (T=1, lr 1), (T=1, lr 4), (T=4, lr 1), (T=4, lr 4); the planted best is T=4, lr 1
    runs = [_result([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]) for _ in range(4)]
    runs[2] = _result([0.5, 0.8, 0.9], [0.5, 0.8, 0.85])
    tuned = tuned_result(runs, [1.0, 4.0, 1.0, 4.0], temperatures=[1.0, 1.0, 4.0, 4.0])
    assert tuned.final["tuned_temperature"] == 4.0 and tuned.final["tuned_lr"] == 1.0
    assert tuned.final["test_acc"] == pytest.approx(0.85)
    np.testing.assert_allclose(tuned.curves["tuned_temperature"], [1.0, 4.0])
    assert "tuned_temperature" not in tuned_result(runs, [1.0, 4.0, 1.0, 4.0]).final
    with pytest.raises(ValueError, match="one temperature per run"):
        tuned_result(runs, [1.0, 4.0, 1.0, 4.0], temperatures=[1.0])


def test_a_temperature_grid_tunes_the_soft_arm_only_and_beats_each_single_temperature(tmp_path):
    both = run_experiment(
        _tuned_config(tune={"lrs": [0.5, 4.0], "temperatures": [1.0, 4.0]}),
        write=False,
        progress=False,
        cache=tmp_path,
    ).results
    soft, hard = both[both["label_mode"] == "soft"], both[both["label_mode"] == "hard"]
    assert set(soft["tuned_temperature"]) <= {1.0, 4.0} and hard["tuned_temperature"].isna().all()
    assert (both["temperature_grid"] == "1,4").all()
    singles = []
    for t in (1.0, 4.0):
        cfg = _tuned_config(temperature=t)
        one = run_experiment(cfg, write=False, progress=False, cache=tmp_path).results
        singles.append(one[one["label_mode"] == "soft"]["tuned_val_acc"].to_numpy())
        hard_one = one[one["label_mode"] == "hard"]
        # the hard arm has no temperature: the same runs, the same choices
        np.testing.assert_allclose(hard_one["test_acc"], hard["test_acc"], atol=1e-9)
    # the soft arm chooses over both temperatures: its validation accuracy is the better one's
    best = np.maximum(*singles)
    np.testing.assert_allclose(soft["tuned_val_acc"].to_numpy(), best, atol=1e-9)


def test_a_diverged_run_loses_on_validation_from_the_epoch_it_diverged():
    # the fast rate is best until it diverges at epoch 2 (NaN losses, frozen): it keeps its
    # pre-divergence checkpoint under early stopping, and never wins a later epoch
    fast = _result([0.5, 0.9, np.nan, np.nan], [0.5, 0.88, np.nan, np.nan], diverged=True)
    fast = dataclasses.replace(fast, epochs_run=2)
    slow = _result([0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.7, 0.75])
    tuned = tuned_result([fast, slow], [64.0, 1.0], early_stop=False)
    np.testing.assert_allclose(tuned.curves["tuned_lr"], [64.0, 64.0, 1.0])
    assert tuned.final["tuned_lr"] == 1.0 and tuned.final["test_acc"] == pytest.approx(0.75)
    stopped = tuned_result([fast, slow], [64.0, 1.0])
    assert stopped.final["test_acc"] == pytest.approx(0.88)  # its checkpoint at epoch 1
    assert np.isfinite(stopped.final["tuned_val_acc"])


def test_huge_rates_run_without_crashing(tmp_path):
    """At rates far above the grid the students saturate (their ReLUs die or the logistic loss
    goes flat) rather than overflow; the run completes and every chosen value is finite."""
    cfg = _tuned_config(tune={"lrs": [0.5, 1e38]}, dtype="float32")
    table = run_experiment(cfg, write=False, progress=False, cache=tmp_path).results
    assert len(table) == 12 and set(table["lr"]) <= {0.5, 1e38}
    assert np.isfinite(table["test_acc"]).all() and np.isfinite(table["tuned_val_acc"]).all()
