"""The scaling study (``softhard scaling SPEC``): measured neuron scaling against the theory.

For each difficulty level (gamma from :func:`softhard.estimate_margin`), label mode, view, loss and
eps, it finds the minimum width m* (mean over seeds; bracket + bisection, every evaluation a stored
run), fits the laws of docs/theory.md section 4 with seed-bootstrap intervals
(:func:`~softhard.studies.scaling.fit.fit_scaling`) and sets each exponent beside the theory's with
a verdict. The design, set by what a fit at one fixed horizon gets wrong (it measures the horizon,
not the width), is in docs/scaling.md:

- **two views**: *theorem* -- the epoch-averaged loss at ``T(eps) = ceil(k / eps)`` for each
  constant ``k`` of ``theorem.constants``; *capacity* -- the best loss over epochs at a long horizon
  ``capacity.epochs`` (and at half of it, to see whether it has stopped moving);
- **two losses**: the mode's theorem loss (KL for soft, logistic for hard) and the yardstick
  (logistic loss against the true labels, the same for every student);
- **eps rules**: ``fixed`` (the grids in ``eps``), ``quantile`` and ``linear`` (per level, eps at
  geometric or arithmetic quantiles between the smallest eps reached at the width cap and at the
  smallest width, each read at its own horizon);
- **identification**: every fit is repeated for each eps rule and horizon choice; an exponent that
  moves by more than its bootstrap interval across them is "not identified", and the reported
  interval covers the spread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from softhard.config import ExperimentConfig
from softhard.studies.scaling import search as S
from softhard.studies.scaling.levels import Level, prepare_levels
from softhard.studies.scaling.report import write_folder
from softhard.studies.scaling.spec import ScalingSpec
from softhard.studies.scaling.tables import eps_choices, fit_table, min_width_table, studied_losses
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.executors import Executor, make_executor
from softhard.sweep.runner import DEFAULT_STORE, check_sweep_memory, execute_runs
from softhard.sweep.spec import Run
from softhard.sweep.store import RunStore


@dataclass(frozen=True)
class ScalingResult:
    """A finished study: its run folder, the minimum widths, the fits and what it cost.

    Attributes:
        path: the run folder.
        min_widths: one row per level x mode x view x loss x eps rule x horizon x eps
            (``min_widths.csv``).
        fits: one row per view x loss x mode x term, across choices (``fits.csv``).
        fits_by_choice: the same per eps rule and horizon choice.
        trained, seconds: runs trained now and wall time.
    """

    path: Path
    min_widths: pd.DataFrame
    fits: pd.DataFrame
    fits_by_choice: pd.DataFrame
    trained: int
    seconds: float
    run_epochs: int


def _eps_grid(
    spec: ScalingSpec,
    mode: str,
    loss: str,
    rule: str,
    view: str,
    choice: float,
    data: S.PairCurves,
    t_run: int,
) -> list[float]:
    """The eps values of one target family (see docs/scaling.md, "eps rules")."""
    if rule == "fixed":
        return spec.eps["yardstick" if loss == "yardstick" else mode]
    if view == "theorem":
        lo = _reach(data, spec.max_width, loss, choice, t_run)
        hi = _reach(data, spec.min_width, loss, choice, t_run)
    else:
        lo = float(np.mean(data.values(spec.max_width, view, loss, int(choice))))
        hi = float(np.mean(data.values(spec.min_width, view, loss, int(choice))))
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        return []  # no range at this level (flat or failed): no quantile points, said below
    if rule == "linear":
        return sorted({float(q * lo + (1 - q) * hi) for q in spec.quantiles}, reverse=True)
    return sorted({float(lo**q * hi ** (1 - q)) for q in spec.quantiles}, reverse=True)


REACH_GRID = 1024
"""Candidate eps per decade-spanning search of :func:`_reach` (geometric, ``k / T_run`` to 1)."""


def _reach(data: S.PairCurves, width: int, loss: str, constant: float, t_run: int) -> float:
    """The smallest eps the theorem view reaches at ``width``: the seed-mean epoch average at
    eps's own horizon ``T(eps) = ceil(k / eps)`` is <= eps (nan if no eps in ``[k / T_run, 1)``
    is reached, or the width was not run). A smaller eps has a longer horizon and a lower
    average, so the range is a fixed point, searched on a fine geometric grid of eps."""
    if width not in data.curves:
        return math.nan
    curve = data.curves[width][S.CURVE_OF_LOSS[loss]]
    if curve.size == 0:
        return math.nan
    mean = curve.mean(axis=0)
    avg = np.cumsum(mean) / np.arange(1, len(mean) + 1)  # avg[T - 1] = (1/T) sum_{t<T} L_t
    grid = np.geomspace(constant / t_run, 1.0, REACH_GRID, endpoint=False)
    horizons = np.array([S.horizon_for(constant, e) for e in grid])
    ok = horizons <= len(avg)
    reached = np.zeros(len(grid), bool)
    reached[ok] = avg[horizons[ok] - 1] <= grid[ok]
    return float(grid[reached].min()) if reached.any() else math.nan


def _targets(
    spec: ScalingSpec, data: dict[tuple[int, str], S.PairCurves], rules: list[str], t_run: int
) -> list[S.Target]:
    out = []
    for (level, mode), pair in data.items():
        for view in spec.views:
            for loss in studied_losses(spec):
                for rule in rules:
                    for choice in eps_choices(spec, view, mode, loss):
                        for eps in _eps_grid(spec, mode, loss, rule, view, choice, pair, t_run):
                            horizon = (
                                S.horizon_for(choice, eps) if view == "theorem" else int(choice)
                            )
                            out.append(
                                S.Target(
                                    level,
                                    mode,
                                    view,
                                    loss,
                                    rule,
                                    choice if view == "theorem" else math.nan,
                                    horizon,
                                    eps,
                                    S.new_search(eps, len(spec.grid())),
                                )
                            )
    return out


def run_scaling(
    spec: ScalingSpec,
    *,
    out_dir: str | Path | None = None,
    store_dir: str | Path | None = None,
    quick: bool = False,
    progress: bool = True,
    executor: ExecutorConfig | None = None,
) -> ScalingResult:
    """Run the study (module docstring) and write its run folder; bad input writes nothing.

    Every evaluation is a run in the run store, trained by ``executor`` (default: local
    processes, one per core; ``kind: ray`` on a Ray cluster) through
    :func:`softhard.sweep.runner.execute_runs`, as a sweep's runs are: the runs of a round
    (all levels) are claimed with leases, trained in groups (one bank per level and group) and
    written one by one, so an interrupted study resumes without training its done runs again.
    """
    start = time.perf_counter()
    executor = executor or ExecutorConfig()
    spec = spec.resolved(quick)
    base = spec.base_config()
    levels = prepare_levels(spec)
    t_run = spec.run_epochs()
    columns = [S.CURVE_OF_LOSS[x] for x in studied_losses(spec)]
    data: dict[tuple[int, str], S.PairCurves] = {
        (lv.index, m): S.PairCurves() for lv in levels for m in spec.label_modes
    }
    first = {p: {spec.min_width, spec.max_width} for p in data}
    _check_first_round(spec, base, first, executor)
    trained = 0
    pool: Executor | None = None
    with RunStore(Path(store_dir or DEFAULT_STORE)) as store:

        def evaluate(need: dict[tuple[int, str], set[int]]) -> None:
            nonlocal trained, pool
            runs = _round_runs(spec, base, need)
            flat = [r for rs in runs.values() for r in rs]
            store.register(spec.name, spec.model_dump(mode="json"), flat, replace=False)
            statuses = store.statuses([r.id for r in flat]).values()
            if pool is None and any(status != "done" for status, _ in statuses):
                pool = make_executor(executor)  # one pool of workers for every round
            n = execute_runs(store, flat, executor=executor, progress=progress, pool=pool)
            trained += n
            for p, rs in runs.items():
                S.read_curves(store, rs, columns, data[p])
            if progress:
                _say(
                    f"widths {sorted({w for ws in need.values() for w in ws})} on "
                    f"{len({i for i, _ in need})} levels: {n} runs trained ({trained} in all)"
                )

        try:
            evaluate(first)
            targets = _targets(spec, data, list(spec.eps_rules), t_run)
            S.search_all(targets, data, evaluate, spec.grid())
        finally:
            if pool is not None:
                pool.close()
    out = Path(out_dir or base.out_dir)
    return _tabulate_and_write(spec, levels, targets, data, out, quick, trained, start, t_run)


def _check_first_round(
    spec: ScalingSpec,
    base: ExperimentConfig,
    first: dict[tuple[int, str], set[int]],
    executor: ExecutorConfig,
) -> None:
    """Refuse a study whose first round (the widest and narrowest width) cannot fit in memory."""
    check_sweep_memory(
        [r for rs in _round_runs(spec, base, first).values() for r in rs],
        executor,
        what=f"scaling study {spec.name!r}",
    )


def _tabulate_and_write(
    spec: ScalingSpec,
    levels: list[Level],
    targets: list[S.Target],
    data: dict[tuple[int, str], S.PairCurves],
    out_dir: Path,
    quick: bool,
    trained: int,
    start: float,
    t_run: int,
) -> ScalingResult:
    """The min-width table and its fits, written to a run folder under ``out_dir``."""
    table = min_width_table(spec, levels, targets, data)
    by_choice, fits = fit_table(spec, table, targets, data)
    seconds = time.perf_counter() - start
    path = write_folder(
        spec,
        levels,
        table,
        fits,
        by_choice,
        quick=quick,
        trained=trained,
        seconds=seconds,
        out_dir=out_dir,
        t_run=t_run,
    )
    return ScalingResult(path, table, fits, by_choice, trained, seconds, t_run)


def _round_runs(
    spec: ScalingSpec, base: ExperimentConfig, need: dict[tuple[int, str], set[int]]
) -> dict[tuple[int, str], list[Run]]:
    """The runs of one round per (level, mode): its needed widths, all seeds (in ``need``'s
    order, level then mode: the banks' order)."""
    return {
        (level, mode): S.run_configs(base, level, spec.levels, mode, sorted(ws), spec.seeds)
        for (level, mode), ws in need.items()
    }


def _say(text: str) -> None:
    Console(stderr=True).print(text, highlight=False, soft_wrap=True)
