"""The student bank against the one-model reference trainer, model by model."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from softhard.config import TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.targets import make_targets
from softhard.train import CURVE_COLUMNS, train_two_layer

RTOL = {torch.float32: 1e-5, torch.float64: 1e-10}
CONFIGS = {
    "gd": TrainConfig(optimizer="gd", lr=1.0, epochs=15),
    "projected_gd": TrainConfig(optimizer="gd", lr=1.0, epochs=15, rho=0.3),
    "sgd": TrainConfig(optimizer="sgd", lr=0.5, epochs=5, batch_size=16),
}


def _data(dtype, n=48, n_test=20, d=6):
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=gen, dtype=torch.float64), dim=1)
    xt = torch.nn.functional.normalize(
        torch.randn(n_test, d, generator=gen, dtype=torch.float64), dim=1
    )
    y = torch.where(x[:, 0] + 0.3 * x[:, 1] > 0, 1.0, -1.0).to(torch.float64)
    yt = torch.where(xt[:, 0] + 0.3 * xt[:, 1] > 0, 1.0, -1.0).to(torch.float64)
    teacher = 3.0 * torch.tanh(2.0 * x[:, 0] - x[:, 2])
    return x.to(dtype), y.to(dtype), xt.to(dtype), yt.to(dtype), teacher.to(dtype)


def _students(y, teacher, widths=(1, 2, 3, 8, 17)):
    out = []
    for width in widths:
        for seed, mode in [(0, "hard"), (1, "soft"), (2, "mixed")]:
            student = Student(width, seed + width, mode, 2.0 if mode == "mixed" else 1.0)
            signs = "random" if seed == 1 else "balanced"
            out.append(BankEntry.of(student, y, teacher, signs=signs, lr=0.7 * seed or None))
    return out


def _reference(spec, x, cfg, xt, yt, dtype):
    model = TwoLayerReLU(
        x.shape[1], spec.width, seed=spec.seed, init=spec.init, signs=spec.signs, dtype=dtype
    )
    cfg = cfg.model_copy(update={"lr": cfg.lr if spec.lr is None else spec.lr})
    return train_two_layer(model, x, spec.targets, cfg, x_test=xt, y_test_pm=yt)


def _assert_same(bank, ref, rtol):
    finite = ref.weight[torch.isfinite(ref.weight)]
    scale = float(finite.abs().max()) if finite.numel() else 1.0
    torch.testing.assert_close(bank.weight, ref.weight, rtol=0, atol=rtol * scale, equal_nan=True)
    assert (bank.diverged, bank.reason, bank.epochs_run) == (
        ref.diverged,
        ref.reason,
        ref.epochs_run,
    )
    for column in CURVE_COLUMNS:
        np.testing.assert_allclose(bank.curves[column], ref.curves[column], rtol=rtol, atol=rtol)
    assert bank.final.keys() == ref.final.keys()
    for key, value in ref.final.items():
        if math.isnan(value):
            assert math.isnan(bank.final[key]), key
        else:
            assert bank.final[key] == pytest.approx(value, rel=rtol, abs=rtol), key


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_model_matches_the_reference(name, dtype):
    x, y, xt, yt, teacher = _data(dtype)
    students = _students(y, teacher)
    cfg = CONFIGS[name]
    # small chunks: several ranges, several example blocks, a model wider than a range
    results = train_bank(
        x, students, cfg, x_test=xt, y_test_pm=yt, dtype=dtype, chunk_neurons=12, chunk_examples=20
    )
    assert len(results) == len(students)
    for spec, bank in zip(students, results, strict=True):
        assert bank.weight.shape == (spec.width, x.shape[1])
        _assert_same(bank, _reference(spec, x, cfg, xt, yt, dtype), RTOL[dtype])


@pytest.mark.parametrize("name", ["gd", "sgd"])
def test_validation_curves_match_the_reference_at_per_student_rates(name):
    """A learning-rate grid in one bank, with a validation set: every model equals the
    one-model loop at its own rate, validation accuracy and loss included."""
    dtype = torch.float64
    x, y, xt, yt, teacher = _data(dtype, n=60)
    xv, yv, x, y, teacher = x[:12], y[:12], x[12:], y[12:], teacher[12:]
    cfg = CONFIGS[name]
    students = [
        BankEntry.of(Student(w, 3, mode), y, teacher, lr=lr)
        for w in (2, 5)
        for mode in ("soft", "hard")
        for lr in (0.25, 1.0, 4.0)
    ]
    results = train_bank(
        x,
        students,
        cfg,
        x_test=xt,
        y_test_pm=yt,
        x_val=xv,
        y_val_pm=yv,
        dtype=dtype,
        chunk_neurons=8,
    )
    for spec, bank in zip(students, results, strict=True):
        model = TwoLayerReLU(x.shape[1], spec.width, seed=spec.seed, dtype=dtype)
        ref = train_two_layer(
            model,
            x,
            spec.targets,
            cfg.model_copy(update={"lr": spec.lr}),
            x_test=xt,
            y_test_pm=yt,
            x_val=xv,
            y_val_pm=yv,
        )
        _assert_same(bank, ref, RTOL[dtype])
        for column in ("val_acc", "val_loss"):
            np.testing.assert_allclose(bank.curves[column], ref.curves[column], rtol=1e-10)
    assert len({round(r.final["val_loss"], 8) for r in results}) > len(results) // 2


@pytest.mark.parametrize("chunks", [(1, 1), (4096, 4096)])
def test_chunk_sizes_do_not_change_results(chunks):
    x, y, xt, yt, teacher = _data(torch.float64)
    students = _students(y, teacher, widths=(1, 5))
    cfg = CONFIGS["gd"]
    base = train_bank(x, students, cfg, x_test=xt, y_test_pm=yt, dtype=torch.float64)
    other = train_bank(
        x,
        students,
        cfg,
        x_test=xt,
        y_test_pm=yt,
        dtype=torch.float64,
        chunk_neurons=chunks[0],
        chunk_examples=chunks[1],
    )
    for a, b in zip(base, other, strict=True):
        torch.testing.assert_close(a.weight, b.weight, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.curves["loss"], b.curves["loss"], rtol=1e-12)


def test_a_diverging_model_stops_and_the_others_go_on():
    x, y, xt, yt, teacher = _data(torch.float64)
    good = _students(y, teacher, widths=(3,))
    bad = BankEntry(Student(4, 0, "hard"), make_targets("hard", y, teacher), lr=math.inf)
    students = [good[0], bad, *good[1:]]
    cfg = CONFIGS["gd"]
    results = train_bank(x, students, cfg, x_test=xt, y_test_pm=yt, dtype=torch.float64)
    assert results[1].diverged and results[1].reason.startswith("loss became nan at epoch 1")
    assert not any(r.diverged for i, r in enumerate(results) if i != 1)
    for spec, bank in zip(students, results, strict=True):
        _assert_same(bank, _reference(spec, x, cfg, xt, yt, torch.float64), 1e-10)


def test_without_test_set_test_accuracy_is_nan():
    x, y, _, _, teacher = _data(torch.float64)
    (result,) = train_bank(x, _students(y, teacher, widths=(2,))[:1], CONFIGS["gd"])
    assert np.isnan(result.curves["test_acc"]).all() and math.isnan(result.final["test_acc"])
    assert result.epochs_run == CONFIGS["gd"].epochs


def test_adam_and_bad_shapes_are_config_errors():
    x, y, xt, _, teacher = _data(torch.float64)
    students = _students(y, teacher, widths=(2,))
    with pytest.raises(ConfigError, match="engine: loop"):
        train_bank(x, students, TrainConfig(optimizer="adam"))
    with pytest.raises(ConfigError, match="labels"):
        train_bank(x[:10], students, CONFIGS["gd"])
    with pytest.raises(ConfigError, match="both"):
        train_bank(x, students, CONFIGS["gd"], x_test=xt)


def _direct_logistic(spec, weight, x, y, dtype):
    """Mean ln(1 + exp(-y f)) of the network with first layer ``weight``, written out."""
    model = TwoLayerReLU(
        x.shape[1], spec.width, seed=spec.seed, init=spec.init, signs=spec.signs, dtype=dtype
    )
    f = (torch.relu(x @ weight.T) * model.a).sum(1) / math.sqrt(spec.width)
    return float(torch.log1p(torch.exp(-y * f)).mean())


@pytest.mark.parametrize("engine", ["bank", "loop"])
def test_yardstick_equals_a_direct_computation(engine):
    """Soft, hard and mixed students: logistic loss vs the true labels, train and test, and the
    epoch summaries (average over t < T, best over t <= T) from the curves."""
    dtype = torch.float64
    x, y, xt, yt, teacher = _data(dtype)
    students = _students(y, teacher, widths=(3, 8))
    cfg = CONFIGS["gd"]
    if engine == "bank":
        results = train_bank(x, students, cfg, x_test=xt, y_test_pm=yt, dtype=dtype)
    else:
        results = [_reference(s, x, cfg, xt, yt, dtype) for s in students]
    modes = set()
    for spec, res in zip(students, results, strict=True):
        modes.add(spec.targets.soft_weight)
        assert res.final["yard_loss"] == pytest.approx(
            _direct_logistic(spec, res.weight, x, y, dtype), rel=1e-10
        )
        assert res.final["test_loss"] == pytest.approx(
            _direct_logistic(spec, res.weight, xt, yt, dtype), rel=1e-10
        )
        curve = res.curves["yard_loss"]
        assert len(curve) == cfg.epochs
        assert res.final["yard_avg_loss"] == pytest.approx(curve.mean(), rel=1e-12)
        best = min(curve.min(), res.final["yard_loss"])
        assert res.final["yard_best_loss"] == best
        theorem = min(res.curves["loss"].min(), res.final["loss"])
        assert res.final["best_loss"] == theorem
        if spec.targets.soft_weight == 0.0:  # hard: the theorem loss is the yardstick
            np.testing.assert_allclose(res.curves["loss"], curve, rtol=1e-12)
        else:  # soft and mixed: it is not
            assert not np.allclose(res.curves["loss"], curve)
    assert modes == {0.0, 0.5, 1.0}


def test_yardstick_at_the_initial_weights():
    """Epoch 0 of the curves is at W_0: yard_loss and test_loss of the untrained network."""
    dtype = torch.float64
    x, y, xt, yt, teacher = _data(dtype)
    students = _students(y, teacher, widths=(5,))
    results = train_bank(x, students, CONFIGS["sgd"], x_test=xt, y_test_pm=yt, dtype=dtype)
    for spec, res in zip(students, results, strict=True):
        model = TwoLayerReLU(x.shape[1], spec.width, seed=spec.seed, signs=spec.signs, dtype=dtype)
        w0 = model.weight.detach()
        assert res.curves["yard_loss"][0] == pytest.approx(
            _direct_logistic(spec, w0, x, y, dtype), rel=1e-10
        )
        assert res.curves["test_loss"][0] == pytest.approx(
            _direct_logistic(spec, w0, xt, yt, dtype), rel=1e-10
        )


def test_continuing_from_weights_equals_one_straight_run():
    """BankEntry.weight: 6 epochs then 9 more from the weights reached = 15 epochs at once."""
    x, y, xt, yt, teacher = _data(torch.float64)
    students = _students(y, teacher, widths=(3, 8))
    cfg = CONFIGS["gd"]
    straight = train_bank(x, students, cfg, x_test=xt, y_test_pm=yt, dtype=torch.float64)
    first = train_bank(x, students, cfg.model_copy(update={"epochs": 6}), dtype=torch.float64)
    more = [dataclasses.replace(s, weight=r.weight) for s, r in zip(students, first, strict=True)]
    second = train_bank(
        x, more, cfg.model_copy(update={"epochs": 9}), x_test=xt, y_test_pm=yt, dtype=torch.float64
    )
    for a, b in zip(straight, second, strict=True):
        torch.testing.assert_close(a.weight, b.weight, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.curves["yard_loss"][6:], b.curves["yard_loss"], rtol=1e-12)
    bad = [BankEntry(Student(3, 0, "hard"), students[0].targets, weight=torch.zeros(2, x.shape[1]))]
    with pytest.raises(ConfigError, match="start weight"):
        train_bank(x, bad, cfg)
    with pytest.raises(ConfigError, match="auto"):
        train_bank(x, students, cfg.model_copy(update={"epochs": "auto"}))
