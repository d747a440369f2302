import math

import pytest
import torch

from softhard import losses
from softhard.targets import ClassTargets, make_targets


def _kl(p, q):
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def test_logistic_golden_values():
    f = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    expected = [math.log(2), math.log(1 + math.exp(2)), math.log(1 + math.exp(-1))]
    torch.testing.assert_close(losses.logistic(f, y), torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_binary_kl_against_hand_computed(temperature):
    teacher = torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64)
    student = torch.tensor([1.0, 0.0, -2.0], dtype=torch.float64)
    p = losses.soft_targets(teacher, temperature)
    got = losses.binary_kl(student, p, temperature)
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    expected = [
        _kl(sig(F / temperature), sig(f / temperature))
        for F, f in zip(teacher.tolist(), student.tolist(), strict=True)
    ]
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


def test_binary_kl_is_zero_at_match_and_handles_hard_targets():
    f = torch.tensor([-3.0, 0.0, 5.0], dtype=torch.float64)
    assert torch.allclose(
        losses.binary_kl(f, torch.sigmoid(f)), torch.zeros(3, dtype=torch.float64), atol=1e-15
    )
    # p in {0, 1}: KL reduces to the logistic loss
    y = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(losses.binary_kl(f, (y + 1) / 2), losses.logistic(f, y))


def test_kl_grad_matches_autograd():
    f = torch.tensor([0.3, -2.0, 1.5], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([0.9, 0.2, 0.5], dtype=torch.float64)
    losses.binary_kl(f, p, 2.0).sum().backward()
    torch.testing.assert_close(f.grad, losses.binary_kl_grad(f.detach(), p, 2.0))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_t2_convention(temperature):
    """Objective = T^2 KL (Hinton); reported loss = plain KL; gradient = T (sigmoid(f/T) - p)."""
    y = torch.tensor([1.0, -1.0], dtype=torch.float64)
    teacher = torch.tensor([2.0, -0.5], dtype=torch.float64)
    f = torch.tensor([0.4, 0.1], dtype=torch.float64)
    t = make_targets("soft", y, teacher, temperature=temperature)
    kl = losses.binary_kl(f, t.p, temperature)
    torch.testing.assert_close(t.loss(f), kl)
    torch.testing.assert_close(t.objective(f), temperature**2 * kl)
    torch.testing.assert_close(
        t.objective_grad(f), temperature * (torch.sigmoid(f / temperature) - t.p)
    )
    plain = make_targets("soft", y, teacher, temperature=temperature, t2_scaling=False)
    torch.testing.assert_close(plain.objective(f), kl)


def test_mixed_targets_weigh_both_terms():
    y = torch.tensor([1.0, -1.0], dtype=torch.float64)
    teacher = torch.tensor([2.0, -0.5], dtype=torch.float64)
    f = torch.tensor([0.4, 0.1], dtype=torch.float64)
    mixed = make_targets("mixed", y, teacher, kd_weight=0.25)
    soft = make_targets("soft", y, teacher)
    hard = make_targets("hard", y, teacher)
    torch.testing.assert_close(mixed.loss(f), 0.25 * soft.loss(f) + 0.75 * hard.loss(f))
    torch.testing.assert_close(
        mixed.objective_grad(f), 0.25 * soft.objective_grad(f) + 0.75 * hard.objective_grad(f)
    )


def test_soft_targets_need_a_teacher():
    with pytest.raises(ValueError, match="teacher"):
        make_targets("soft", torch.ones(2, dtype=torch.float64), None)
    with pytest.raises(ValueError, match="label_mode"):
        make_targets("kd", torch.ones(2, dtype=torch.float64), None)


def test_multiclass_kd_objective_golden():
    logits = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
    teacher = torch.tensor([[0.0, 2.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([1])
    T = 2.0
    q = torch.softmax(logits / T, -1)[0]
    p = torch.softmax(teacher / T, -1)[0]
    kl = float((p * (p / q).log()).sum())
    ce = float(-torch.log_softmax(logits, -1)[0, 1])
    targets = ClassTargets(labels, teacher, soft_weight=0.3, temperature=T)
    assert float(targets.objective(logits)) == pytest.approx(0.3 * T * T * kl + 0.7 * ce, rel=1e-12)
    assert float(targets.loss(logits)) == pytest.approx(0.3 * kl + 0.7 * ce, rel=1e-12)
    with pytest.raises(ValueError, match="teacher logits"):
        ClassTargets(labels, None, soft_weight=0.3)
