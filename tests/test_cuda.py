"""The bank engine on a GPU against the reference trainer on the CPU (skipped without CUDA)."""

import pytest
import torch

from softhard.config import TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.train import train_two_layer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize(
    ("dtype", "rtol"), [(torch.float32, 1e-5), (torch.float64, 1e-10)], ids=["f32", "f64"]
)
@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_cuda_bank_matches_cpu_reference(dtype, rtol, optimizer):
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(64, 8, generator=gen, dtype=torch.float64), dim=1)
    y = torch.where(x[:, 0] > 0, 1.0, -1.0).to(torch.float64)
    teacher = 2.0 * torch.tanh(3.0 * x[:, 0])
    students = [
        BankEntry.of(Student(w, s, mode), y, teacher)
        for w in (1, 3, 16)
        for s in (0, 1)
        for mode in ("hard", "soft")
    ]
    cfg = TrainConfig(optimizer=optimizer, lr=1.0, epochs=10, batch_size=16, rho=1.0)
    results = train_bank(x.to(dtype), students, cfg, device="cuda", dtype=dtype)
    for spec, bank in zip(students, results, strict=True):
        assert bank.weight.device.type == "cuda"
        model = TwoLayerReLU(8, spec.width, seed=spec.seed, dtype=dtype)
        ref = train_two_layer(model, x.to(dtype), spec.targets.to(dtype), cfg)
        scale = float(ref.weight.abs().max())
        assert float((bank.weight.cpu() - ref.weight).abs().max()) <= rtol * scale
        assert bank.final["loss"] == pytest.approx(ref.final["loss"], rel=rtol)
        assert bank.final["train_acc"] == ref.final["train_acc"]
