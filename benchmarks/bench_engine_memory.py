"""Peak resident memory of the bank engine on workload B with widths up to 2^14 (issue 4, item 3).

Runs in fresh subprocesses (so the peak belongs to this run alone) and prints the peak resident
set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of: the imports and data alone, and
the same plus training the bank (3 seeds, soft and hard, widths 2^0..2^14, a few full-batch
epochs). Target: under 1 GiB.

    python benchmarks/bench_engine_memory.py [--max-log-width 14] [--epochs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

_CHILD = textwrap.dedent(
    """
    import resource, sys, time
    sys.path.insert(0, {bench_dir!r})
    import torch
    from bench_engine import workload_b
    from softhard.config import TrainConfig
    from softhard.engine import train_bank
    wl = workload_b(max_log_width={max_log_width}, epochs={epochs})
    if {train}:
        start = time.perf_counter()
        results = train_bank(
            wl.x, wl.students, TrainConfig(optimizer="gd", lr=1.0, epochs=wl.epochs),
            x_test=wl.x_test, y_test_pm=wl.y_test,
        )
        seconds = time.perf_counter() - start
        print(f"trained {{len(results)}} models, sum m = {{wl.neurons}}, in {{seconds:.1f}} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"PEAK_MIB {{peak:.0f}}")
    """
)


def measure(max_log_width: int, epochs: int, train: bool) -> float:
    code = _CHILD.format(
        bench_dir=str(Path(__file__).parent),
        max_log_width=max_log_width,
        epochs=epochs,
        train=train,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        if not line.startswith("PEAK_MIB"):
            print("  " + line)
    return float(out.split("PEAK_MIB")[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-log-width", type=int, default=14)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    base = measure(args.max_log_width, args.epochs, train=False)
    print(f"imports + data only: peak RSS {base:.0f} MiB")
    peak = measure(args.max_log_width, args.epochs, train=True)
    verdict = "within" if peak <= 1024 else "OVER"
    print(
        f"workload B, widths 2^0..2^{args.max_log_width}, {args.epochs} epochs: peak RSS "
        f"{peak:.0f} MiB ({verdict} the 1 GiB target; training added {peak - base:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
