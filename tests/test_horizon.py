"""``train.epochs: auto``: the doubling rule on known curves, and through run_experiment."""

import json
import math

import numpy as np
import pytest

from softhard.config import AutoEpochs, ExperimentConfig, MarginConfig, TrainConfig, validate
from softhard.errors import ConfigError
from softhard.horizon import choose_epochs, relative_change
from softhard.studies.two_layer import prepare_task, run_experiment, train_students


def _running(avg_at):
    """A fake trainer: T -> {mode: running-average curve A(1..T)}; records the T asked for."""
    asked = []

    def curves(epochs):
        asked.append(epochs)
        t = np.arange(1, epochs + 1, dtype=float)
        return {mode: f(t) for mode, f in avg_at.items()}

    return curves, asked


def test_relative_change_reads_T_and_T_over_2():
    curve = np.array([8.0, 4.0, 3.0, 2.0])
    assert relative_change(curve) == (2.0, 4.0, 1.0)
    assert relative_change(np.array([1.0, np.nan]))[2] == math.inf


def test_stops_when_the_tolerance_holds():
    # A(T) = 1 + 10/T: change (10/T) / (1 + 10/T) < 0.05 first at T = 200 on 25, 50, 100, 200
    curves, asked = _running({"soft": lambda t: 1 + 10 / t, "hard": lambda t: 2 + 1 / t})
    horizon = choose_epochs(curves, AutoEpochs(start=25, cap=10_000, rtol=0.05))
    assert asked == [25, 50, 100, 200]
    assert horizon.epochs == 200 and horizon.auto and horizon.converged
    last = horizon.history[-1]["modes"]["soft"]
    assert last["change"] == pytest.approx(0.05 / 1.05) and last["avg"] == pytest.approx(1.05)
    assert horizon.history[-2]["modes"]["soft"]["change"] >= 0.05


def test_stops_at_the_cap_when_the_average_keeps_moving():
    curves, asked = _running({"soft": lambda t: 1 + 0 * t, "hard": lambda t: 1 / t})
    horizon = choose_epochs(curves, AutoEpochs(start=25, cap=150, rtol=0.05))
    assert asked == [25, 50, 100, 150]  # the last step is cut at the cap
    assert horizon.epochs == 150 and not horizon.converged
    assert horizon.history[-1]["modes"]["soft"]["change"] == 0.0  # one mode settled, not both
    assert horizon.info()["converged"] is False


def test_a_diverged_curve_never_counts_as_settled():
    curves, _ = _running({"soft": lambda t: np.where(t > 5, np.nan, 1.0)})
    horizon = choose_epochs(curves, AutoEpochs(start=20, cap=80, rtol=0.5))
    assert horizon.epochs == 80 and not horizon.converged


def test_auto_settings_are_validated():
    with pytest.raises(ConfigError, match="train.epochs must be a whole number >= 1 or 'auto'"):
        validate(TrainConfig, {"epochs": "forever"})
    with pytest.raises(ConfigError, match="cap"):
        validate(TrainConfig, {"epochs": "auto", "auto": {"start": 64, "cap": 32}})
    with pytest.raises(ConfigError, match="rtol"):
        validate(TrainConfig, {"epochs": "auto", "auto": {"rtol": 1.5}})


TINY_AUTO = {
    "name": "auto",
    "tasks": ["digits:0-1"],
    "widths": [2, 8],
    "seeds": [0, 1],
    "train": {"epochs": "auto", "auto": {"start": 4, "cap": 16, "rtol": 0.2}},
    "teacher": {"width": 32, "epochs": 10},
    "margin": {"estimate": False},
}


def test_run_experiment_records_the_chosen_horizon(tmp_path):
    cfg = validate(ExperimentConfig, TINY_AUTO)
    result = run_experiment(cfg, out_dir=tmp_path, progress=False)
    (horizon,) = result.horizons
    assert horizon.auto and horizon.epochs in (4, 8, 16)
    table = result.results
    assert (table["epochs"] == horizon.epochs).all() and table["epochs_auto"].all()
    assert (table["epochs_run"] == horizon.epochs).all()
    # the rule's numbers are those of the widest students trained at the chosen T
    widest = table[table["width"] == 8]
    for mode, rows in widest.groupby("label_mode"):
        recorded = horizon.history[-1]["modes"][mode]["avg"]
        assert recorded == pytest.approx(rows["avg_loss"].mean(), rel=1e-9)
    manifest = json.loads((result.path / "manifest.json").read_text())
    (entry,) = manifest["horizons"]
    assert entry["epochs"] == horizon.epochs and entry["auto"] is True
    assert entry["converged"] == horizon.converged and entry["cap"] == 16


def test_train_students_needs_a_resolved_horizon():
    cfg = validate(ExperimentConfig, TINY_AUTO)
    task = prepare_task(cfg.tasks[0], cfg.teacher, margin=MarginConfig(estimate=False))
    with pytest.raises(ConfigError, match="auto"):
        train_students(task, cfg.students()[:1], cfg)
