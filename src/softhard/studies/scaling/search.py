"""The scaling study's width search: one stored run per level x mode x width x seed, many readouts.

Every run trains for the study's longest horizon ``T_run`` and stores its per-epoch curves. Full-
batch GD (and the seeded SGD batch order) does not depend on the total number of epochs, so the
first ``T`` epochs of a run *are* a run of ``T`` epochs: each quantity of the study is read off the
stored curves at its own horizon instead of training again:

- theorem view: ``(1/T) sum_{t<T} L(W_t)`` at ``T = T(eps)`` (the epoch average);
- capacity view: ``min_{t<T} L(W_t)`` at the capacity horizon (the best over epochs);

with ``L`` the mode's theorem loss (``loss`` curve) or the yardstick (``yard_loss`` curve).

Each target (level, mode, view, loss, eps rule, horizon choice, eps) runs the bracket-then-bisect
search of :mod:`softhard.studies.min_width.search` on the mean over seeds; all targets of a level x mode
share the evaluated widths. The runs of each round (every level) are sweep runs: trained by
:func:`softhard.sweep.runner.execute_runs` with the study's executor (local processes or Ray; each
group prepares its level's task from the teacher and margin caches) and written to the run store,
so a second search, or an interrupted one, trains nothing already done.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from softhard.config import DataConfig, ExperimentConfig
from softhard.studies.min_width.search import _Search
from softhard.sweep.spec import Run, split_runs
from softhard.sweep.store import RunStore

CURVE_OF_LOSS = {"theorem": "loss", "yardstick": "yard_loss"}


@dataclass
class Target:
    """One minimum width to find: where, which quantity, which eps; and its search state."""

    level: int
    mode: str
    view: str  # theorem | capacity
    loss: str  # theorem | yardstick
    rule: str  # fixed | quantile
    constant: float  # k of T(eps) = ceil(k / eps) (theorem view); nan for capacity
    horizon: int
    eps: float
    search: _Search

    @property
    def pair(self) -> tuple[int, str]:
        return (self.level, self.mode)


@dataclass
class PairCurves:
    """Per evaluated width, the per-seed curves of one level x mode: column -> (seeds, epochs)."""

    curves: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    def values(self, width: int, view: str, loss: str, horizon: int) -> np.ndarray:
        """Per-seed value of a view's quantity at ``horizon`` (inf for a run that stopped early)."""
        arr = self.curves[width][CURVE_OF_LOSS[loss]]
        if arr.shape[1] < horizon:
            return np.full(arr.shape[0], np.inf)
        head = arr[:, :horizon]
        out = head.mean(axis=1) if view == "theorem" else head.min(axis=1)
        return np.where(np.isfinite(out), out, np.inf)

    def table(self, view: str, loss: str, horizon: int) -> dict[int, np.ndarray]:
        return {w: self.values(w, view, loss, horizon) for w in sorted(self.curves)}


def width_grid(min_width: int, max_width: int, steps: int) -> list[int]:
    """The widths searched: ``round(min_width * 2^(i / steps))`` up to ``max_width`` (included),
    without repeats. The search bisects over this grid's positions, so m* is resolved to a
    factor ``2^(1/steps)`` and all targets share a bounded set of widths."""
    out: list[int] = []
    i = 0
    while True:
        w = min(max_width, round(min_width * 2 ** (i / steps)))
        if not out or w > out[-1]:
            out.append(w)
        if w >= max_width:
            return out
        i += 1


def step(target: Target, data: PairCurves, grid: list[int]) -> int | None:
    """The next width ``target``'s search needs (None when it is done).

    The search of :mod:`softhard.studies.min_width.search` runs over grid positions ``1..len(grid)``
    (doubling the position, then bisecting), each position standing for ``grid[p - 1]``.
    """
    table = data.table(target.view, target.loss, target.horizon)
    mean = {p: float(np.mean(table[w])) for p, w in enumerate(grid, 1) if w in table}
    p = target.search.next_width(mean)
    return None if p is None else grid[p - 1]


def run_configs(
    base: ExperimentConfig,
    task_index: int,
    tasks: list[DataConfig],
    mode: str,
    widths: list[int],
    seeds: list[int],
) -> list[Run]:
    """The single-student runs of one level x mode at ``widths`` (all seeds)."""
    cfg = base.model_copy(
        update={
            "tasks": [tasks[task_index]],
            "label_modes": [mode],
            "widths": widths,
            "seeds": seeds,
        }
    )
    return split_runs(cfg)


def read_curves(store: RunStore, runs: list[Run], columns: list[str], data: PairCurves) -> None:
    """Load the stored curves of ``runs`` (one level x mode) into ``data`` by width and seed."""
    by_col = {c: store.curves_by_id([r.id for r in runs], c) for c in columns}
    statuses = store.runs_by_id([r.id for r in runs])
    by_width: dict[int, list[Run]] = {}
    for run in runs:
        by_width.setdefault(run.config.widths[0], []).append(run)
    for width, members in by_width.items():
        data.curves[width] = {
            c: _stack(
                [by_col[c].get(r.id, []) if statuses[r.id][0] == "done" else [] for r in members]
            )
            for c in columns
        }


def _stack(rows: list[list[float]]) -> np.ndarray:
    """Curves of equal length as (seeds, epochs); a missing/short run pads with inf."""
    length = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), length), np.inf)
    for i, r in enumerate(rows):
        if len(r) == length:
            out[i] = r
    return out


def search_all(
    targets: list[Target],
    data: dict[tuple[int, str], PairCurves],
    evaluate: Callable[[dict[tuple[int, str], set[int]]], None],
    grid: list[int],
) -> int:
    """Advance every target's search, evaluating the widths they need round by round."""
    rounds = 0
    while True:
        need: dict[tuple[int, str], set[int]] = {}
        for t in targets:
            w = step(t, data[t.pair], grid)
            if w is not None:
                need.setdefault(t.pair, set()).add(w)
        if not need:
            return rounds
        evaluate(need)
        rounds += 1


def new_search(eps: float, positions: int) -> _Search:
    """A fresh bracket-then-bisect search for ``eps`` over grid positions ``1..positions``."""
    return _Search(eps, 0, 1, positions)


def horizon_for(constant: float, eps: float) -> int:
    """The theorem view's horizon ``T(eps) = ceil(k / eps)``."""
    return math.ceil(constant / eps - 1e-9)


INFORMATIVE_LOW = 4
"""The smallest m* that says something about a slope (width 2-3 is the search's floor)."""


def in_range(m_star: float, cap: int) -> bool:
    """Whether a minimum width is informative about a slope: uncensored and in ``[4, cap/4]``
    (docs/scaling.md, "Where m* is measurable")."""
    return bool(math.isfinite(m_star) and INFORMATIVE_LOW <= m_star <= cap / 4)


def range_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per view x mode: minimum widths in all, uncensored in ``[4, cap/4]`` (``in_range``),
    below 4, above cap/4 and censored. Says how many points can speak to a slope."""
    cap = table["cap"].to_numpy(float)
    m = table["m_star"].to_numpy(float)
    cens = table["censored"].to_numpy(bool)
    t = table.assign(
        _below=~cens & (m < INFORMATIVE_LOW),
        _above=~cens & (m > cap / 4),
        _in=[in_range(x, c) for x, c in zip(m, cap, strict=True)],
    )
    out = (
        t.groupby(["view", "mode"], sort=False)
        .agg(
            total=("m_star", "size"),
            in_range=("_in", "sum"),
            below=("_below", "sum"),
            above=("_above", "sum"),
            censored=("censored", "sum"),
        )
        .reset_index()
    )
    counts: pd.DataFrame = out.astype(
        {c: int for c in ("total", "in_range", "below", "above", "censored")}
    )
    return counts
