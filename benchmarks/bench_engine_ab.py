"""Benchmark: the engine of two source trees, run alternately (A B A B ...) on one machine.

The engine half of ``benchmarks/bench_engine.py`` (workloads A and B, the same
``train_bank`` call and ``TrainConfig``), timed for an old and a new tree in turn: each run is a
fresh process with ``PYTHONPATH`` set to that tree's ``src`` and ``benchmarks``, so it imports
that tree's softhard and its own ``bench_engine`` workloads. Alternating the trees cancels a
load that drifts over the minutes the pairs take (a shared machine); the medians over pairs and
their ratio (new / old) are printed, with the 1-minute load average read before each run.

    python benchmarks/bench_engine_ab.py OLD_TREE NEW_TREE [--pairs 3] [--workload A B]
        [--threads 2] [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys, time, torch
import bench_engine as b
from softhard.config import TrainConfig
torch.set_num_threads({threads})
out = {{}}
for key in {workloads!r}:
    wl = {{"A": b.workload_a, "B": b.workload_b}}[key]()
    cfg = TrainConfig(optimizer="gd", lr=1.0, epochs=wl.epochs)
    best = {{"wall_s": float("inf"), "cpu_s": float("inf")}}
    for _ in range({repeat}):
        wall, cpu = time.perf_counter(), time.process_time()
        b.train_bank(wl.x, wl.students, cfg, x_test=wl.x_test, y_test_pm=wl.y_test,
                     device=torch.device("cpu"))
        best["wall_s"] = min(best["wall_s"], time.perf_counter() - wall)
        best["cpu_s"] = min(best["cpu_s"], time.process_time() - cpu)
    out[key] = best
print(json.dumps(out))
"""


def run_once(
    tree: Path, workloads: list[str], threads: int, repeat: int
) -> dict[str, dict[str, float]]:
    """One fresh process on ``tree``: ``{workload: {wall_s, cpu_s}}``, each the best of
    ``repeat`` calls (as ``bench_engine.py --repeat``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{tree / 'src'}{os.pathsep}{tree / 'benchmarks'}"
    code = _CHILD.format(threads=threads, workloads=workloads, repeat=repeat)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--workload", nargs="+", default=["A", "B"], choices=["A", "B"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many per process")
    parser.add_argument("--json", type=Path, default=None, help="write every run here")
    args = parser.parse_args()
    runs: list[dict[str, object]] = []
    for pair in range(args.pairs):
        order = [("old", args.old), ("new", args.new)]
        for label, tree in order if pair % 2 == 0 else order[::-1]:
            load = load1()
            times = run_once(tree, args.workload, args.threads, args.repeat)
            runs.append({"pair": pair, "tree": label, "load1": load, **times})
            line = ", ".join(
                f"{k} {v['wall_s']:.2f} s ({v['cpu_s']:.2f} CPU-s)" for k, v in times.items()
            )
            print(f"pair {pair} {label}: {line}; load {load:.2f}", flush=True)
    for key in args.workload:
        for clock in ("wall_s", "cpu_s"):
            med = {
                t: statistics.median(r[key][clock] for r in runs if r["tree"] == t)  # type: ignore[index]
                for t in ("old", "new")
            }
            print(
                f"workload {key} {clock}: median old {med['old']:.3f}, new {med['new']:.3f}, "
                f"new/old {med['new'] / med['old']:.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
