"""Probe for the scaling study's design: where each level's loss-vs-width curve lies and floors.

For a scaling spec (shipped name or YAML) it reads the per-epoch curves of its runs from a run store
(training, with ``--train``, the widths x seeds it is asked for, through the study's own code) and
prints, per level x label mode x loss:

- ``cap``: the seed-mean best loss over ``capacity.epochs`` (the capacity view) at each width;
- ``reach k``: the smallest eps the theorem view reaches at each width with horizon constant k
  (the seed-mean epoch average at ``T(eps) = ceil(k / eps)`` is <= eps), ``-`` where none is;
- ``C``: ``T_run * (A(T_run) - L(T_run))`` at the widest width, the size of the optimisation term
  ``~ C / T`` in the epoch average: a theorem-view constant k below C reaches no eps at all.

It is how the levels, eps rules and constants of the shipped scaling configs were chosen from
measured curves (docs/scaling.md, "Where m* is measurable"). Examples::

    python benchmarks/scaling_floors.py scaling_digits --store runs/sweeps
    python benchmarks/scaling_floors.py scaling_digits --store /tmp/probe --train 2,8,32,128,512 \\
        --seeds 0,1
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from softhard.cli.run import resolve_config_path
from softhard.studies.scaling import search as S
from softhard.studies.scaling.levels import prepare_levels
from softhard.studies.scaling.run import _reach
from softhard.studies.scaling.spec import load_scaling_spec
from softhard.sweep.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--store", required=True)
    parser.add_argument("--train", help="widths to train (comma-separated); default: read only")
    parser.add_argument("--seeds", help="seeds (comma-separated); default: the spec's")
    parser.add_argument("--levels", help="level indices (comma-separated); default: all")
    parser.add_argument("--set", action="append", default=[], help="spec override key=value")
    args = parser.parse_args()
    spec = load_scaling_spec(resolve_config_path(args.spec), args.set)
    base = spec.base_config()
    t_run = spec.run_epochs()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else list(spec.seeds)
    widths = [int(w) for w in args.train.split(",")] if args.train else spec.grid()
    idx = [int(i) for i in args.levels.split(",")] if args.levels else list(range(len(spec.levels)))
    columns = [S.CURVE_OF_LOSS[x] for x in spec.losses]
    start = time.perf_counter()
    trained = 0
    with RunStore(args.store) as store:
        if args.train:
            levels = prepare_levels(spec)
            for i in idx:
                for mode in spec.label_modes:
                    runs = S.run_configs(base, i, spec.levels, mode, widths, seeds)
                    store.register(spec.name, spec.model_dump(mode="json"), runs, replace=False)
                    trained += S.train_level(store, levels[i].task, runs)
        print(f"{spec.name}: runs of T={t_run}, seeds {seeds}; {trained} trained now, "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        for i in idx:
            for mode in spec.label_modes:
                data = S.PairCurves()
                for w in widths:
                    runs = S.run_configs(base, i, spec.levels, mode, [w], seeds)
                    status = store.statuses([r.id for r in runs])
                    if len(status) == len(runs) and all(s == "done" for s, _ in status.values()):
                        S.read_curves(store, runs, columns, data)
                _report(spec, i, mode, data, t_run)


def _report(spec, i: int, mode: str, data: S.PairCurves, t_run: int) -> None:
    ws = sorted(w for w, c in data.curves.items() if all(v.size for v in c.values()))
    if not ws:
        return
    print(f"\n{spec.levels[i].display} {mode}: widths {ws}")
    for loss in spec.losses:
        key = "yardstick" if loss == "yardstick" else mode
        cap = [float(np.mean(data.values(w, "capacity", loss, spec.capacity.epochs))) for w in ws]
        curve = data.curves[ws[-1]][S.CURVE_OF_LOSS[loss]].mean(axis=0)
        c = len(curve) * (curve.mean() - curve[-1])
        print(f"  {loss:9s} cap  " + " ".join(f"{v:.4f}" for v in cap) + f"   C~{c:.0f}")
        for k in spec.constants(key):
            reach = [_reach(data, w, loss, k, t_run) for w in ws]
            print(
                f"  {loss:9s} k={k:<5g}"
                + " ".join("   -  " if not np.isfinite(r) else f"{r:.4f}" for r in reach)
            )


if __name__ == "__main__":
    main()
