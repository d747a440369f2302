"""The bank engine logs the online-GD inequality like the reference loop (softhard.inequality)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softhard.config import TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError
from softhard.inequality import INEQUALITY_COLUMNS
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.studies.theorem.reference import reference_point
from softhard.train import train_two_layer


def _setup():  # type: ignore[no-untyped-def]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=gen, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    y = torch.where(x[:, 0] > 0, 1.0, -1.0).to(torch.float64)
    q = torch.full((12,), 1 / 12, dtype=torch.float64)
    teacher = 2.0 * x[:, 0]
    return x, y, q, teacher


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_bank_logs_the_same_terms_as_the_loop(mode: str) -> None:
    x, y, q, teacher = _setup()
    cfg = TrainConfig(optimizer="gd", lr=0.5, epochs=15)
    entries, loops = [], []
    for width, seed in ((4, 0), (8, 1), (8, 2)):
        u = reference_point(x, y, q, width=width, scale=3.0, seed=seed, init="symmetric")
        student = Student(width, seed, mode)  # type: ignore[arg-type]
        entry = BankEntry.of(student, y, teacher, init="symmetric", reference=u.weight)
        entries.append(entry)
        net = TwoLayerReLU(5, width, seed=seed, init="symmetric")
        loops.append(train_two_layer(net, x, entry.targets, cfg, reference=u.weight))
    plain = BankEntry.of(Student(4, 3, mode), y, teacher, init="symmetric")  # type: ignore[arg-type]
    results = train_bank(x, [*entries, plain], cfg, dtype=torch.float64)
    for bank, loop in zip(results, loops, strict=False):
        for column in INEQUALITY_COLUMNS:
            np.testing.assert_allclose(
                bank.curves[column], loop.curves[column], rtol=1e-9, atol=1e-12
            )
    assert "gd_objective" not in results[-1].curves


def test_bank_refuses_the_inequality_with_sgd() -> None:
    x, y, q, _teacher = _setup()
    u = reference_point(x, y, q, width=4, scale=1.0, seed=0)
    entry = BankEntry.of(Student(4, 0, "hard"), y, None, init="symmetric", reference=u.weight)
    with pytest.raises(ConfigError, match="full-batch gd"):
        train_bank(x, [entry], TrainConfig(optimizer="sgd", lr=0.5, epochs=2, batch_size=4))
