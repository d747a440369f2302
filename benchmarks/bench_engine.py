"""Benchmark: the student-bank engine against a plain PyTorch loop over models.

Workloads (issue 4):
  A  digits 3-8 (the whole pair, n = 357, d = 64), widths {1,2,3,4,6,8,12,16,24,32,48,64},
     10 seeds, soft and hard targets, 100 full-batch epochs;
  B  synthetic n = 2000, d = 64, widths 2^0..2^10, 3 seeds, soft and hard, 200 full-batch epochs.

Both trainers record the same per-epoch metrics (loss, train and test accuracy, KL to the
teacher). The loop is a naive nn.Module + torch.optim.SGD with autograd, one model at a time.
Printed per workload: both times, their ratio, and the engine's useful GFLOP/s (4 n d sum(m)
per full-batch step) as a fraction of the float32 matmul peak measured in the same run.

    python benchmarks/bench_engine.py [--device cuda] [--workload A B] [--repeat 2]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from softhard.config import DataConfig, TrainConfig
from softhard.data.pipeline import load_dataset
from softhard.engine import BankEntry, train_bank
from softhard.losses import binary_kl
from softhard.models.two_layer import TwoLayerReLU, init_two_layer
from softhard.student import Student
from softhard.targets import make_targets


@dataclass
class Workload:
    name: str
    x: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    students: list[BankEntry]
    epochs: int

    @property
    def neurons(self) -> int:
        return sum(s.width for s in self.students)

    def useful_flops(self) -> float:
        n, d = self.x.shape
        return 4.0 * n * d * self.neurons * self.epochs


def _students(x, y, widths, seeds) -> list[BankEntry]:
    teacher = TwoLayerReLU(x.shape[1], 2048, seed=10_000, signs="random")
    with torch.no_grad():
        logits = teacher(x.double())
        logits = 3.0 * logits / logits.std()
    out = []
    for mode in ("soft", "hard"):
        targets = make_targets(mode, y, logits)
        out += [BankEntry(Student(w, s, mode), targets) for w in widths for s in seeds]
    return out


def workload_a() -> Workload:
    ds = load_dataset(DataConfig.parse("digits:3-8"))
    x_train, x_test = ds.flat()
    x = torch.cat([x_train, x_test])  # the whole pair (n = 357); test metrics on the split
    y = torch.cat([ds.y_train_pm, ds.y_test_pm])
    widths = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
    return Workload(
        "A digits 3-8", x, x_test, ds.y_test_pm, _students(x, y, widths, range(10)), 100
    )


def workload_b(max_log_width: int = 10, epochs: int = 200) -> Workload:
    cfg = DataConfig(source="synthetic", n_samples=2500, dim=64, test_fraction=0.2)
    ds = load_dataset(cfg)
    widths = [2**k for k in range(max_log_width + 1)]
    students = _students(ds.x_train, ds.y_train_pm, widths, range(3))
    name = f"B synthetic n=2000 widths<=2^{max_log_width}"
    return Workload(name, ds.x_train, ds.x_test, ds.y_test_pm, students, epochs)


class _NaiveStudent(nn.Module):
    """The two-layer network as anyone would write it: autograd does the gradient."""

    def __init__(self, w0: torch.Tensor, a: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(w0.clone())
        self.register_buffer("readout", a / math.sqrt(len(a)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.T) @ self.readout


def train_loop(wl: Workload, cfg: TrainConfig, device: torch.device) -> list[list[float]]:
    """One model at a time: forward, metrics, backward, SGD step; same epochs and metrics."""
    x, xt = wl.x.float().to(device), wl.x_test.float().to(device)
    yt = wl.y_test.float().to(device)
    curves = []
    for spec in wl.students:
        w0, a = init_two_layer(spec.width, x.shape[1], seed=spec.seed, dtype=torch.float32)
        model = _NaiveStudent(w0, a).to(device)
        targets = spec.targets.to(torch.float32, device)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        losses = []
        for _ in range(cfg.epochs):
            f = model(x)
            objective = targets.objective(f).mean()
            with torch.no_grad():
                losses.append(float(targets.loss(f).mean()))
                _ = float(((f > 0) == (targets.y_pm > 0)).double().mean())
                _ = float(binary_kl(f, targets.p, targets.temperature).mean())
                _ = float(((model(xt) > 0) == (yt > 0)).double().mean())
            opt.zero_grad()
            objective.backward()
            opt.step()
        curves.append(losses)
    return curves


def matmul_peak(device: torch.device, size: int = 4096, tries: int = 5) -> float:
    """Best float32 GFLOP/s of a ``size``-square matrix product (same threads, same run)."""
    return max(_sgemm(device, size, tries))


def matmul_peak_per_cpu_second(size: int = 4096, tries: int = 5) -> float:
    """Best sgemm GFLOP per CPU-second (all threads' time summed): a per-core peak."""
    return max(_sgemm(torch.device("cpu"), size, tries, clock=time.process_time))


def _sgemm(device: torch.device, size: int, tries: int, clock=time.perf_counter) -> list[float]:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    c = torch.empty(size, size, device=device)
    rates = []
    for _ in range(tries):
        seconds = _timed(lambda: torch.mm(a, b, out=c), device, clock)
        rates.append(2.0 * size**3 / seconds / 1e9)
    return rates


def _timed(fn, device: torch.device, clock=time.perf_counter) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = clock()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock() - start


def run(wl: Workload, device: torch.device, repeat: int, peak: float) -> dict[str, float]:
    cfg = TrainConfig(optimizer="gd", lr=1.0, epochs=wl.epochs)

    def engine():
        return train_bank(
            wl.x, wl.students, cfg, x_test=wl.x_test, y_test_pm=wl.y_test, device=device
        )

    t_engine = min(_timed(engine, device) for _ in range(repeat))
    cpu_engine = min(_timed(engine, device, time.process_time) for _ in range(repeat))
    t_loop = min(_timed(lambda: train_loop(wl, cfg, device), device) for _ in range(repeat))
    gflops = wl.useful_flops() / t_engine / 1e9
    return {
        "models": len(wl.students),
        "neurons": wl.neurons,
        "loop_s": t_loop,
        "engine_s": t_engine,
        "speedup": t_loop / t_engine,
        "gflops": gflops,
        "peak_fraction": gflops / peak,
        "gflops_per_cpu_s": wl.useful_flops() / cpu_engine / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workload", nargs="+", default=["A", "B"], choices=["A", "B"])
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    peak = matmul_peak(device)
    print(f"float32 matmul peak (best of 5, 4096^3 sgemm): {peak:.1f} GFLOP/s")
    makers = {"A": workload_a, "B": workload_b}
    for key in args.workload:
        wl = makers[key]()
        r = run(wl, device, args.repeat, peak)
        peak = max(peak, matmul_peak(device))  # re-measure: the best of both is the peak
        r["peak_fraction"] = r["gflops"] / peak
        print(
            f"{wl.name}: {r['models']} models, sum m = {r['neurons']}, {wl.epochs} epochs | "
            f"loop {r['loop_s']:.2f} s | engine {r['engine_s']:.2f} s | "
            f"speed-up {r['speedup']:.1f}x | engine {r['gflops']:.1f} GFLOP/s = "
            f"{100 * r['peak_fraction']:.0f}% of peak ({peak:.0f})"
        )
        if device.type == "cpu":  # robust to other processes sharing the cores
            core_peak = matmul_peak_per_cpu_second()
            print(
                f"  per CPU-second: engine {r['gflops_per_cpu_s']:.1f} GFLOP = "
                f"{100 * r['gflops_per_cpu_s'] / core_peak:.0f}% of sgemm's {core_peak:.0f}"
            )


if __name__ == "__main__":
    main()
