"""The CUDA path of the deep trainer on CIFAR-sized synthetic images (skipped without a GPU)."""

import pytest
import torch

from softhard.device import deterministic_mode, resolve_device
from softhard.models.table import build_model, predict_logits
from softhard.studies.deep.config import DeepTrainConfig
from softhard.studies.deep.train import train_model
from softhard.targets import ClassTargets

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _data(device, n=512):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = torch.rand(n, 3, 32, 32, generator=gen) * 0.5 + y.view(-1, 1, 1, 1) / 20
    return tuple(t.to(device) for t in (x, y, x[:128], y[:128]))


@pytest.mark.parametrize("amp", [False, True])
def test_cuda_training_with_augmentation_learns(amp):
    device = resolve_device("auto")
    assert device.type == "cuda"
    cfg = DeepTrainConfig(lr=0.05, batch_size=64, epochs=4, augment=True)
    data = _data(device)
    teacher = torch.nn.functional.one_hot(data[1], 10).float() * 5
    model = build_model("resnet8", (3, 32, 32), 10, 8, seed=0).to(device)
    with deterministic_mode():
        res = train_model(
            model, data, cfg, seed=0, targets=ClassTargets(data[1], teacher, 0.5), amp=amp
        )
    losses = [h["loss"] for h in res.history]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    assert next(model.parameters()).device.type == "cuda"


def test_cuda_same_seed_same_numbers():
    device = resolve_device("cuda")
    cfg = DeepTrainConfig(lr=0.05, batch_size=64, epochs=2)
    runs = []
    for _ in range(2):
        model = build_model("vgg8", (3, 32, 32), 10, 4, seed=1).to(device)
        with deterministic_mode():
            runs.append(train_model(model, _data(device), cfg, seed=1).history)
    assert runs[0] == runs[1]


def test_cuda_and_cpu_forward_agree():
    model = build_model("resnet8", (3, 32, 32), 10, 8, seed=0).eval()
    x = torch.rand(16, 3, 32, 32)
    cpu = predict_logits(model, x)
    gpu = predict_logits(model.to("cuda"), x.to("cuda")).cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-2, rtol=1e-2)
