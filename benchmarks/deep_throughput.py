"""Training throughput of a deep student, in images per second, on CIFAR-sized synthetic images.

Runs :func:`softhard.studies.deep.train.train_model` (the code path of ``softhard run``) on random
3x32x32 images with 10 classes: one warm-up epoch, then ``--epochs`` timed epochs, and prints
images/s for hard and soft labels. Device ``auto`` picks CUDA when present.

    python benchmarks/deep_throughput.py --arch resnet8 --width 16 --n 4096
    python benchmarks/deep_throughput.py --device cuda --amp --n 50000 --arch resnet20 --width 64
"""

from __future__ import annotations

import argparse
import time

import torch

from softhard.device import cpu_threads, deterministic_mode, resolve_device
from softhard.models.table import build_model, count_parameters
from softhard.studies.deep.config import DeepTrainConfig
from softhard.studies.deep.train import train_model
from softhard.targets import ClassTargets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet8")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--n", type=int, default=4096, help="synthetic training images")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA)")
    p.add_argument("--augment", action="store_true", help="random crop + flip")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-deterministic", action="store_true")
    args = p.parse_args()

    device = resolve_device(args.device)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.n, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (args.n,), generator=gen)
    teacher = torch.randn(args.n, 10, generator=gen)
    data = (x.to(device), y.to(device), x[:256].to(device), y[:256].to(device))
    cfg = DeepTrainConfig(batch_size=args.batch_size, augment=args.augment)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}, torch threads {args.threads or torch.get_num_threads()}, amp {args.amp}")
    with cpu_threads(args.threads), deterministic_mode(not args.no_deterministic):
        for mode, kd in (("hard", 0.0), ("soft", 1.0)):  # the resolved soft weight
            model = build_model(args.arch, (3, 32, 32), 10, args.width, seed=0).to(device)
            targets = ClassTargets(y.to(device), teacher.to(device), kd, temperature=4.0)
            run = {"seed": 0, "targets": targets, "amp": args.amp}
            train_model(model, data, cfg, epochs=1, **run)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            train_model(model, data, cfg, epochs=args.epochs, **run)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            rate = args.n * args.epochs / seconds
            print(
                f"{args.arch} width {args.width} ({count_parameters(model):,} params) {mode:4s}: "
                f"{rate:,.0f} images/s ({seconds:.2f} s for {args.epochs} x {args.n} images, "
                f"batch {args.batch_size}, augment {args.augment})"
            )


if __name__ == "__main__":
    main()
