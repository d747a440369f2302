"""Speed of the margin estimator: n = 2000, d = 64, K = 4096 directions, to a relative gap of 1e-3.

Target (issue 3): under 10 s on the 2-core development machine. Run:

    .venv/bin/python benchmarks/bench_margin.py [--threads T] [--device cpu]

Data: x_i uniform on the unit sphere of R^64; labels from a random linear rule ("linear") and
uniformly random ("random", the harder case: nearly every example is a support vector). Prints the
wall time (including drawing directions and the pattern), iterations and the certified gap.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from softhard.ntk import estimate_margin


def _data(kind: str, n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    if kind == "linear":
        y = torch.sign(x @ torch.randn(d, generator=gen, dtype=torch.float64))
    else:
        y = torch.sign(torch.randn(n, generator=gen, dtype=torch.float64))
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--directions", type=int, default=4096)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"n={args.n} d={args.d} K={args.directions} tol={args.tol:g}")
    for kind in ("linear", "random"):
        x, y = _data(kind, args.n, args.d, seed=1)
        for rep in range(args.repeats):
            start = time.perf_counter()
            est = estimate_margin(
                x,
                y,
                num_directions=args.directions,
                seed=rep,
                tol=args.tol,
                device=args.device,
                fresh_directions=0,
            )
            seconds = time.perf_counter() - start
            print(
                f"{kind:7s} run {rep}: {seconds:6.2f} s  iterations {est.iterations:4d}  "
                f"gamma {est.gamma:.6f}  gap {est.gap:.2e}  converged {est.converged}  "
                f"({'PASS' if seconds < 10 and est.gap <= args.tol else 'FAIL'} < 10 s)"
            )


if __name__ == "__main__":
    main()
