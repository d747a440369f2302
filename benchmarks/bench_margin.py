"""Speed of the margin estimator: n = 2000, d = 64, K = 4096 directions, to a relative gap of 1e-3.

Target (issues 3 and 13): under 10 s on the 2-core development machine. Run:

    .venv/bin/python benchmarks/bench_margin.py [--threads T] [--device cpu] [--kinds linear random]
    .venv/bin/python benchmarks/bench_margin.py --kinds heavy --n 300 1000 2000 --d 32 64 \
        --sigma 3 3.5 --repeats 1

Data: x_i uniform on the unit sphere of R^64; labels from a random linear rule ("linear") and
uniformly random ("random", the harder case: nearly every example is a support vector).

Real data (issue 18), loaded through the experiments' own pipeline (``softhard.data``: 75/25
split with data seed 0, centring, projection onto the unit sphere), so gamma is that of the training
split a run would use: "breast_cancer" (scikit-learn's bundled Wisconsin set, n = 427, d = 30),
"wine" (classes 0 and 1, n = 97, d = 13), "iris" (the pairs 0-1, 0-2, 1-2, n = 75, d = 4) and
"digits" (the pairs 3-8, 1-7 and 4-9 of the bundled 8x8 digits, n ~ 270, d = 64). ``--real``
lists them all. ``--n``, ``--d`` and ``--sigma`` do not apply to them.

"heavy" (issue 13): a near-zero margin from tabular-like data. Raw features are Student-t(3)
values times per-feature scales drawn lognormal(0, sigma) (heavy-tailed: a few features dominate
the raw norms); the label is the sign of a random linear rule on the unscaled values (every
feature matters for the label). Then the pipeline's own centring and projection onto the unit
sphere (``softhard.data.transforms.normalize``): on the sphere the rule lives in the tiny
coordinates, so the NTK margin is small and most examples carry dual weight. Larger sigma gives
smaller gamma (with data seed 1: about 1e-3 at sigma = 3 for n = 300, d = 32 and at sigma = 3.5
for n = 2000, d = 64). ``--n``, ``--d`` and ``--sigma`` take several values and sweep them.

Each line prints gamma, the certificates, the gap, the iterations (first-order plus Newton), why
the solver stopped (``stopped_by``), the wall and CPU time (``time.process_time``, all threads;
including drawing directions and the pattern), the load average when the run started, the CPU seconds other processes used during
the run (from /proc/stat: near 0 means the timing is clean), and PASS when it converged in under
10 s. ``--wait-idle S`` waits (up to S seconds) for an idle machine before each run.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.data.transforms import normalize
from softhard.ntk import estimate_margin

REAL = ("breast_cancer", "wine", "iris", "digits")


def heavy_tailed(
    n: int, d: int, seed: int, sigma: float = 4.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The "heavy" data of the module docstring: ``(x (n, d) on the sphere, y in {-1, +1})``."""
    rng = np.random.default_rng(seed)
    scales = rng.lognormal(0.0, sigma, size=d)
    values = rng.standard_t(3, size=(n, d))
    y = np.where(values @ rng.standard_normal(d) > 0, 1.0, -1.0)
    raw = (values + rng.standard_normal(d)) * scales  # an offset, removed again by the centring
    x, _ = normalize(raw, raw[:1])
    return torch.from_numpy(x), torch.from_numpy(y)


def real_tasks(kind: str, folder: Path) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``(label, x, y)`` of each task of a real kind, through ``softhard.data`` (see the docstring)."""
    if kind == "digits":
        specs = {f"digits {p}": DataConfig.parse(f"digits:{p}") for p in ("3-8", "1-7", "4-9")}
    else:
        tables = {
            "breast_cancer": [("", *load_breast_cancer(return_X_y=True))],
            "wine": [("0-1", *load_wine(return_X_y=True))],
            "iris": [(p, *load_iris(return_X_y=True)) for p in ("0-1", "0-2", "1-2")],
        }[kind]
        specs = {}
        for pair, x, y in tables:
            if pair:
                a, b = (int(c) for c in pair.split("-"))
                keep = (y == a) | (y == b)
                x, y = x[keep], (y[keep] == b).astype(np.int64)
            path = folder / f"{kind}{pair}.npz"
            np.savez(path, X=x, y=y)
            specs[f"{kind} {pair}".strip()] = DataConfig(source="file", path=str(path))
    out = []
    for label, cfg in specs.items():
        ds = load_dataset(cfg)
        out.append((f"{label} n={ds.n_train} d={ds.dim}", ds.flat()[0].double(), ds.y_train_pm))
    return out


def _data(kind: str, n: int, d: int, seed: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    if kind == "heavy":
        return heavy_tailed(n, d, seed, sigma)
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
    parser.add_argument("--n", type=int, nargs="+", default=[2000], help="one or more sizes")
    parser.add_argument("--d", type=int, nargs="+", default=[64], help="one or more dimensions")
    parser.add_argument("--directions", type=int, default=4096)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["linear", "random", "heavy"],
        help=f"linear, random, heavy and the real data sets {', '.join(REAL)}",
    )
    parser.add_argument("--real", action="store_true", help="add every real data set's kind")
    parser.add_argument(
        "--sigma",
        type=float,
        nargs="+",
        default=[4.0],
        help="heavy: lognormal scale spread; several values sweep it (larger: smaller gamma)",
    )
    parser.add_argument("--data-seed", type=int, default=1)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--max-newton-steps", type=int, default=100)
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="before each run wait (at most this many seconds) until the machine is idle: over "
        "90 %% of CPU time idle during 3 s (Linux /proc/stat)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="time budget per estimate (default none)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    print(f"K={args.directions} tol={args.tol:g} data seed {args.data_seed}")
    kinds = [*args.kinds, *(k for k in REAL if args.real and k not in args.kinds)]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in (k for k in kinds if k in REAL):
            for label, x, y in real_tasks(kind, Path(tmp)):
                _run(args, label, x, y)
    for kind in (k for k in kinds if k not in REAL):
        for n in args.n:
            for d in args.d:
                for sigma in args.sigma if kind == "heavy" else [math.nan]:
                    x, y = _data(kind, n, d, seed=args.data_seed, sigma=sigma)
                    label = f"{kind} n={n} d={d}" + (f" sigma={sigma:g}" if kind == "heavy" else "")
                    _run(args, label, x, y)


def _run(args: argparse.Namespace, label: str, x: torch.Tensor, y: torch.Tensor) -> None:
    for rep in range(args.repeats):
        _wait_idle(args.wait_idle)
        load = os.getloadavg()[0]
        busy = _busy_seconds()
        start, cpu = time.perf_counter(), time.process_time()
        est = estimate_margin(
            x,
            y,
            num_directions=args.directions,
            seed=rep,
            tol=args.tol,
            device=args.device,
            fresh_directions=0,
            max_iter=args.max_iter,
            max_newton_steps=args.max_newton_steps,
            max_seconds=args.max_seconds,
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        others = _busy_seconds() - busy - cpu  # CPU seconds of other processes during the run
        ok = seconds < 10 and est.converged
        print(
            f"{label} run {rep}: {seconds:6.2f} s (cpu {cpu:6.2f} s, load {load:5.2f}, "
            f"others' cpu {others:6.2f} s)  "
            f"iterations {est.iterations:4d}  gamma {est.gamma:.3e}  "
            f"lower {est.lower:.4e}  upper {est.upper:.4e}  gap {est.gap:.2e}  "
            f"converged {est.converged} ({est.stopped_by}, {est.status})  "
            f"{'PASS' if ok else 'FAIL'} (< 10 s)",
            flush=True,
        )


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (nan where /proc/stat is missing)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return math.nan
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def _wait_idle(limit: float) -> None:
    """Wait until over 90 % of the machine's CPU time was idle during 3 s, at most ``limit`` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before, start = _busy_seconds(), time.monotonic()
        time.sleep(3.0)
        busy = (_busy_seconds() - before) / ((time.monotonic() - start) * (os.cpu_count() or 1))
        if not busy > 0.1:  # also stops waiting where /proc/stat is missing (nan)
            return


if __name__ == "__main__":
    main()
