"""Targets: the stacked form the bank consumes states the same formula as the per-model one.

``softhard.targets`` holds the loss formula once for one model (:class:`Targets`) and once
vectorised over a bank range (:class:`StackedTargets`, :class:`ObjectiveGrad`); the engine's
kernels and metrics only call the latter. These tests hold the two forms together, and add a
target mode (label smoothing) inside the test: no source file changes, the bank trains it and
agrees with the one-model reference trainer.
"""

import math

import pytest
import torch

from softhard import losses
from softhard.config import TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.targets import Targets, make_targets, stack_targets
from softhard.train import train_two_layer

F64 = torch.float64
CPU = torch.device("cpu")


def _problem(n=30, d=5, k=6):
    gen = torch.Generator().manual_seed(1)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=gen, dtype=F64), dim=1)
    y = torch.where(x[:, 0] - 0.5 * x[:, 1] > 0, 1.0, -1.0).to(F64)
    teacher = 2.5 * torch.tanh(3.0 * x[:, 0] + x[:, 2])
    f = 4.0 * torch.randn(k, n, generator=gen, dtype=F64)  # logits of k models
    return x, y, teacher, f


def _mixture(y, teacher):
    """Hard, soft, mixed; temperatures 1, 2 and 0.5; with and without the T^2 factor."""
    return [
        make_targets("hard", y, teacher),
        make_targets("hard", y, None),
        make_targets("soft", y, teacher, temperature=2.0),
        make_targets("soft", y, teacher, temperature=0.5, t2_scaling=False),
        make_targets("mixed", y, teacher, temperature=2.0, kd_weight=0.3),
        make_targets("mixed", y, teacher, temperature=1.0, kd_weight=0.8, t2_scaling=False),
    ]


def test_stacked_gradient_is_the_per_model_objective_gradient():
    _, y, teacher, f = _problem()
    targets = _mixture(y, teacher)
    stacked = stack_targets(targets, F64, CPU)
    expected = torch.stack([t.objective_grad(f[j]) for j, t in enumerate(targets)])
    torch.testing.assert_close(stacked.grad.into(f), expected, rtol=1e-12, atol=1e-14)
    out, work = torch.empty_like(f), torch.empty_like(f)
    assert stacked.grad.into(f, out=out, work=work) is out
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)


def test_stacked_gradient_on_some_examples():
    _, y, teacher, f = _problem()
    targets = _mixture(y, teacher)
    grad = stack_targets(targets, F64, CPU).grad
    idx = torch.tensor([3, 0, 17, 17, 29])
    expected = torch.stack([t.objective_grad(f[j])[idx] for j, t in enumerate(targets)])
    torch.testing.assert_close(grad.columns(idx).into(f[:, idx]), expected, rtol=1e-12, atol=0)
    cut = slice(4, 11)
    for part in (grad.columns(cut), grad.view(cut)):
        expected = torch.stack([t.objective_grad(f[j])[cut] for j, t in enumerate(targets)])
        torch.testing.assert_close(part.into(f[:, cut]), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("which", ["all", "soft_only", "hard_only"])
def test_stacked_reported_loss_kl_and_logistic(which):
    _, y, teacher, f = _problem()
    targets = _mixture(y, teacher)
    if which == "soft_only":
        targets = [t for t in targets if t.soft_weight == 1.0]
    elif which == "hard_only":
        targets = [t for t in targets if t.soft_weight == 0.0]
    f = f[: len(targets)]
    stacked = stack_targets(targets, F64, CPU)
    loss, kl, logistic = stacked.reported(f[None])  # one epoch
    for j, t in enumerate(targets):
        assert float(loss[0, j]) == pytest.approx(float(t.loss(f[j]).mean()), rel=1e-12)
        direct = float(losses.logistic(f[j], t.y_pm).mean())
        assert float(logistic[0, j]) == pytest.approx(direct, rel=1e-12)
        if t.p is not None:
            direct = float(losses.binary_kl(f[j], t.p, t.temperature).mean())
            assert float(kl[0, j]) == pytest.approx(direct, rel=1e-12, abs=1e-14)
    assert stacked.has_p.tolist() == [t.p is not None for t in targets]
    assert stacked.has_hard == any(t.soft_weight < 1 for t in targets)
    assert stacked.has_soft == any(t.soft_weight > 0 for t in targets)


def smoothed_labels(y_pm: torch.Tensor, eps: float) -> Targets:
    """A target mode added here, in the test: label smoothing. The hard label's class gets
    probability ``1 - eps / 2``, the other ``eps / 2``, trained as soft labels (KL)."""
    p = torch.where(y_pm > 0, 1.0 - eps / 2, eps / 2).to(y_pm.dtype)
    return Targets(y_pm, p, soft_weight=1.0)


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_a_target_mode_added_in_the_test_trains_in_the_bank_as_in_the_reference(optimizer):
    x, y, _, _ = _problem()
    cfg = TrainConfig(optimizer=optimizer, lr=1.0, epochs=12, batch_size=8)
    entries = [
        BankEntry.from_targets(width, seed, smoothed_labels(y, eps))
        for width, seed, eps in [(3, 0, 0.1), (8, 1, 0.3), (8, 2, 0.0)]
    ]
    entries.append(BankEntry.from_targets(5, 3, make_targets("hard", y, None)))
    results = train_bank(x, entries, cfg, dtype=F64, chunk_neurons=8)
    for entry, bank in zip(entries, results, strict=True):
        model = TwoLayerReLU(x.shape[1], entry.width, seed=entry.seed, dtype=F64)
        ref = train_two_layer(model, x, entry.targets, cfg)
        torch.testing.assert_close(bank.weight, ref.weight, rtol=1e-10, atol=1e-12)
        for column in ("loss", "kl", "train_acc"):
            torch.testing.assert_close(
                torch.as_tensor(bank.curves[column]),
                torch.as_tensor(ref.curves[column]),
                rtol=1e-10,
                atol=1e-12,
                equal_nan=True,
            )
        if entry.targets.p is not None:  # the loss is the KL to the smoothed labels
            f = TwoLayerReLU(x.shape[1], entry.width, seed=entry.seed, dtype=F64)
            with torch.no_grad():
                f.weight.copy_(bank.weight)
                logits = f(x)
            p = entry.targets.p
            q = torch.sigmoid(logits)
            direct = torch.xlogy(p, p / q) + torch.xlogy(1 - p, (1 - p) / (1 - q))
            assert bank.final["loss"] == pytest.approx(float(direct.mean()), rel=1e-9)
            assert bank.final["kl"] == bank.final["loss"]
        else:
            assert math.isnan(bank.final["kl"])
    assert [e.student.label_mode for e in entries] == ["soft", "soft", "soft", "hard"]


def test_a_bank_entry_needs_the_targets_of_its_student():
    _, y, teacher, _ = _problem()
    entry = BankEntry.from_targets(4, 0, make_targets("mixed", y, teacher, kd_weight=0.25))
    assert (entry.student.label_mode, entry.student.soft_weight) == ("mixed", 0.25)
    with pytest.raises(ConfigError, match="soft_weight"):
        BankEntry(Student(4, 0, "soft"), make_targets("hard", y, teacher))
    with pytest.raises(ConfigError, match="temperature"):
        BankEntry(Student(4, 0, "soft", 2.0), make_targets("soft", y, teacher))
