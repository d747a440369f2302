"""The deep training loop: determinism, schedule, augmentation, soft vs hard targets."""

import math

import pytest
import torch

from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.errors import ConfigError
from softhard.models.table import build_model, predict_logits
from softhard.studies.deep.config import DeepTrainConfig
from softhard.studies.deep.train import _lr_factor, augment, standardize, train_model
from softhard.targets import ClassTargets


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny CNNs run fastest (and steadiest on a shared 2-core machine) on one thread."""
    with cpu_threads(1):
        yield


CFG = DeepTrainConfig(lr=0.05, batch_size=16, epochs=3)


def _data(n=48, k=3, shape=(1, 8, 8), seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    x = torch.randn(n, *shape, generator=gen) + y.view(-1, *[1] * len(shape)).float()
    return x, y, x[: n // 4].clone(), y[: n // 4].clone()


def _train(seed, kd_weight=0.0, teacher=None, cfg=CFG):
    data = _data()
    model = build_model("cnn8x8", (1, 8, 8), 3, 4, seed=seed)
    with deterministic_mode():
        res = train_model(
            model,
            data,
            cfg,
            seed=seed,
            targets=ClassTargets(data[1], teacher, kd_weight, temperature=2.0),
        )
    return model, res


def test_same_seed_same_numbers_on_cpu():
    m1, r1 = _train(seed=5)
    m2, r2 = _train(seed=5)
    assert r1.history == r2.history
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    _, r3 = _train(seed=6)
    assert r3.history != r1.history


def test_history_and_result_fields():
    _, res = _train(seed=0)
    assert [h["epoch"] for h in res.history] == [1, 2, 3]
    losses = [h["loss"] for h in res.history]
    assert res.final_loss == losses[-1]
    assert res.avg_loss == pytest.approx(sum(losses) / 3)
    assert res.history[1]["avg_loss"] == pytest.approx(sum(losses[:2]) / 2)
    assert 0.0 <= res.train_acc <= 1.0 and 0.0 <= res.test_acc <= 1.0
    assert res.history[0]["lr"] == pytest.approx(CFG.lr)


def test_soft_labels_pull_student_toward_teacher():
    data = _data()
    teacher = torch.randn(48, 3, generator=torch.Generator().manual_seed(1)) * 3
    model, res = _train(
        seed=0, kd_weight=1.0, teacher=teacher, cfg=CFG.model_copy(update={"epochs": 15})
    )
    agree = (predict_logits(model, data[0]).argmax(1) == teacher.argmax(1)).float().mean()
    assert agree > 0.6  # random teacher: only reachable by following the soft targets
    assert res.history[-1]["loss"] < res.history[0]["loss"]


def test_cosine_schedule_with_warmup():
    cfg = DeepTrainConfig(lr=1.0, schedule="cosine")
    assert _lr_factor(0, 100, 0, cfg) == 1.0
    assert _lr_factor(50, 100, 0, cfg) == pytest.approx(0.5)
    assert _lr_factor(100, 100, 0, cfg) == pytest.approx(0.0, abs=1e-12)
    assert _lr_factor(0, 100, 10, cfg) == pytest.approx(0.1)
    assert _lr_factor(10, 100, 10, cfg) == 1.0
    assert _lr_factor(55, 100, 10, cfg) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert _lr_factor(70, 100, 0, DeepTrainConfig(schedule="constant")) == 1.0


def test_augment_is_a_shifted_maybe_flipped_crop():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    gen = torch.Generator().manual_seed(0)
    out = augment(x, gen)
    assert out.shape == x.shape
    gen = torch.Generator().manual_seed(0)
    shifts = torch.randint(0, 9, (2, 2), generator=gen)
    flips = torch.rand(2, generator=gen) < 0.5
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(2):
        dy, dx = int(shifts[0, i]), int(shifts[1, i])
        crop = padded[i, :, dy : dy + 32, dx : dx + 32]
        expected = crop.flip(-1) if flips[i] else crop
        assert torch.equal(out[i], expected)


def test_standardize_uses_training_statistics_per_channel():
    x = torch.randn(100, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5
    xs, ts = standardize(x, x[:10])
    mean = xs.mean(dim=(0, 2, 3))
    std = xs.std(dim=(0, 2, 3))
    torch.testing.assert_close(mean, torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(std, torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(ts, xs[:10])


def test_deterministic_mode_restores_settings():
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic_mode():
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.backends.cudnn.benchmark
    assert torch.are_deterministic_algorithms_enabled() == before


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            resolve_device("cuda")
