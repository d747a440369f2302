"""The minimum-width search: the fewest neurons whose mean-over-seeds metric reaches eps.

For each task x label mode x eps it finds the smallest integer width ``m`` in
``[min_width, max_width]`` with ``mean_seeds metric(m) <= eps``, where the metric is the
epoch-averaged training loss ``(1/T) sum_t L(W_t)`` (the quantity theorems of docs/theory.md section 4 bound;
``avg_loss``) or the test error (``test_error``). It **assumes the metric is monotone
(non-increasing) in width** -- what the theory suggests for the averaged loss; where the measured
curve is not monotone the answer is a width that reaches eps, not necessarily the smallest.

Search: bracketing by doubling (``min_width, 2 min_width, 4 min_width, ...`` capped at
``max_width``) until a width reaches eps, then bisection over the integers between the last
width that failed and the first that reached it. Every evaluated width (all seeds) is a run in the
run store, so the eps values share evaluations, a repeated search trains nothing new, and all
searches of one round are trained together (one bank per task).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from softhard.config import (
    ConfigModel,
    ExperimentConfig,
    TaskList,
    read_yaml,
    soft_and_hard,
    validate,
    validate_with_overrides,
)
from softhard.errors import ConfigError
from softhard.student import LabelMode
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.runner import DEFAULT_STORE, check_sweep_memory, execute_runs
from softhard.sweep.spec import Run, StudyConfig, split_runs, study_class
from softhard.sweep.store import RunStore

# (task index, label mode) -> width -> metric per seed; ((task, mode), eps) -> its search
_Scores = dict[tuple[int, str], dict[int, list[float]]]
_Searches = dict[tuple[tuple[int, str], float], "_Search"]

Metric = Literal[
    "avg_loss", "test_error", "val_error", "best_loss", "yard_avg_loss", "yard_best_loss"
]
_ERRORS = {"test_error": "test_acc", "val_error": "tuned_val_acc"}  # metric -> accuracy column
_SET_BY_SEARCH = ("tasks", "widths", "seeds", "label_modes")


class MinWidthSpec(ConfigModel):
    """A minimum-width search (YAML ``kind: min_width``)."""

    kind: Literal["min_width"] = "min_width"
    name: str = Field("min_width", min_length=1)
    tasks: TaskList = Field(..., min_length=1)
    label_modes: list[LabelMode] = Field(default_factory=soft_and_hard, min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    eps: list[float] = Field(..., min_length=1)
    metric: Metric = "avg_loss"
    min_width: int = Field(1, ge=1)
    max_width: int = Field(256, ge=1)
    base: dict[str, Any] = Field(
        default_factory=dict, description="study config delta (kind: two_layer or deep)"
    )

    @field_validator("eps")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(e <= 0 for e in value):
            raise ValueError(f"every eps must be > 0, got {value}")
        return sorted(set(value), reverse=True)

    @model_validator(mode="after")
    def _check(self) -> MinWidthSpec:
        if self.max_width < self.min_width:
            raise ValueError(f"max_width {self.max_width} < min_width {self.min_width}")
        clash = [k for k in _SET_BY_SEARCH if k in self.base]
        if clash:
            raise ValueError(f"base must not set {', '.join(clash)}: the search sets them")
        return self

    def base_config(self) -> StudyConfig:
        """The validated base study config (training settings shared by every run): a two-layer
        :class:`ExperimentConfig`, or a deep one with ``kind: deep`` (see :data:`softhard.sweep.study.SWEEPABLE`)."""
        study = study_class(self.base, where="min-width base")
        cfg: StudyConfig = validate(study, {**self.base, "name": self.name}, where="min-width base")
        return cfg


@dataclass
class _Search:
    """Bracket-then-bisect state of one task x label mode x eps."""

    eps: float
    lo: int  # largest width known to fail (min_width - 1 before any)
    probe: int
    max_width: int
    hi: int | None = None
    done: bool = False
    path: list[int] = field(default_factory=list)

    def next_width(self, score: dict[int, float]) -> int | None:
        """Advance through evaluated widths; return the next width to evaluate, or None if done."""
        while not self.done:
            w = self.probe if self.hi is None else (self.lo + self.hi) // 2
            if self.hi is not None and self.hi - self.lo <= 1:
                self.done = True
                break
            if w not in score:
                return w
            self.path.append(w)
            if score[w] <= self.eps:
                self.hi = w
            else:
                self.lo = w
                if self.hi is None:
                    if w >= self.max_width:
                        self.done = True
                    self.probe = min(2 * w, self.max_width)
        return None


@dataclass(frozen=True)
class MinWidthResult:
    """The search's table (one row per task x label mode x eps) and what it cost."""

    table: pd.DataFrame
    evaluated: pd.DataFrame
    trained: int
    store: Path
    seconds: float
    per_seed: pd.DataFrame | None = None


def load_min_width_spec(path: str | Path, overrides: list[str] | None = None) -> MinWidthSpec:
    """Read and validate a min-width spec (its base too) before anything runs."""
    spec: MinWidthSpec = validate_with_overrides(
        MinWidthSpec, read_yaml(path), overrides, where=f"min-width spec {path}"
    )
    spec.base_config()
    return spec


def min_width_search(
    spec: MinWidthSpec,
    *,
    store_dir: str | Path | None = None,
    executor: ExecutorConfig | None = None,
    progress: bool = True,
) -> MinWidthResult:
    """Run the search of the module docstring; every evaluation is a run in the store, trained
    by ``executor`` (default: local processes, one per core)."""
    start = time.perf_counter()
    executor = executor or ExecutorConfig()
    base = spec.base_config()
    pairs: list[tuple[int, str]] = [
        (t, m) for t in range(len(spec.tasks)) for m in spec.label_modes
    ]
    scores: dict[tuple[int, str], dict[int, list[float]]] = {p: {} for p in pairs}
    searches: _Searches = {
        (p, e): _Search(e, spec.min_width - 1, spec.min_width, spec.max_width)
        for p in pairs
        for e in spec.eps
    }
    _check_memory(spec, base, executor)
    folder = Path(store_dir or DEFAULT_STORE)
    trained = 0
    with RunStore(folder) as store:
        while True:
            need = _needed(searches, scores)
            if not need:
                break
            runs = {p: _runs(spec, base, p, sorted(ws)) for p, ws in need.items()}
            flat = [r for rs in runs.values() for r in rs]
            store.register(spec.name, spec.model_dump(mode="json"), flat, replace=False)
            trained += execute_runs(store, flat, executor=executor, progress=progress)
            for p, rs in runs.items():
                _record(store, spec.metric, rs, scores[p])
    table = _table(spec, searches, scores)
    evaluated = _evaluated(spec, scores)
    per_seed = _per_seed(spec, scores)
    seconds = time.perf_counter() - start
    return MinWidthResult(table, evaluated, trained, folder, seconds, per_seed)


def _check_memory(spec: MinWidthSpec, base: StudyConfig, executor: ExecutorConfig) -> None:
    """Refuse a search whose widest round cannot fit: every pair at up to one width per eps
    near ``max_width``, all seeds (the memory guard of :mod:`softhard.resources`)."""
    widths = sorted({max(spec.min_width, spec.max_width - i) for i in range(len(spec.eps))})
    runs = [
        r
        for t in range(len(spec.tasks))
        for m in spec.label_modes
        for r in _runs(spec, base, (t, m), widths)
    ]
    check_sweep_memory(runs, executor, what=f"min-width search {spec.name!r}")


def _needed(searches: _Searches, scores: _Scores) -> dict[tuple[int, str], set[int]]:
    need: dict[tuple[int, str], set[int]] = {}
    for (pair, _), search in searches.items():
        mean = {w: float(np.mean(v)) for w, v in scores[pair].items()}
        w = search.next_width(mean)
        if w is not None:
            need.setdefault(pair, set()).add(w)
    return need


def _runs(
    spec: MinWidthSpec, base: StudyConfig, pair: tuple[int, str], widths: list[int]
) -> list[Run]:
    task, mode = pair
    update = {"label_modes": [mode], "widths": widths, "seeds": spec.seeds}
    if isinstance(base, ExperimentConfig):
        cfg: StudyConfig = base.model_copy(update={"tasks": [spec.tasks[task]], **update})
    else:  # validated, so the deep study's task defaults (normalize: false, data_path) apply
        given = spec.tasks[task].model_dump(mode="json", exclude_unset=True)
        data = {**base.model_dump(mode="json"), "tasks": [given], **update}
        cfg = validate(type(base), data, where="min-width run")
    return split_runs(cfg)


def _record(store: RunStore, metric: str, runs: list[Run], score: dict[int, list[float]]) -> None:
    """Per width, the metric of each seed (inf for a failed run: it never reaches eps)."""
    rows = store.runs_by_id([r.id for r in runs])
    by_width: dict[int, list[float]] = {}
    for run in runs:
        status, metrics = rows[run.id]
        value = math.inf
        if status == "done" and metrics:
            value = metric_value(metrics, metric)
        by_width.setdefault(run.config.widths[0], []).append(value)
    score.update(by_width)


def metric_value(metrics: dict[str, Any], metric: str) -> float:
    """One stored run's value of ``metric`` (``test_error`` is ``1 - test_acc``; ``val_error``
    is ``1 - tuned_val_acc``, the validation error of a student tuned on validation data, so
    that the minimum width is chosen on validation data); a metric the run does not carry is a
    :class:`ConfigError`."""
    key = _ERRORS.get(metric, metric)
    if key not in metrics:
        hint = (
            "val_error needs students tuned on validation data: set base.tune (e.g. "
            "{lrs: [0.5, 2, 8, 32]})"
            if metric == "val_error"
            else "retrain with a softhard that records it"
        )
        raise ConfigError(
            f"metric {metric!r} is not in the stored run metrics (it has: "
            f"{', '.join(sorted(metrics))}); {hint}"
        )
    value = float(metrics[key])
    return 1.0 - value if metric in _ERRORS else value


def resampled_min_widths(
    values: dict[int, np.ndarray], eps: float, resamples: np.ndarray
) -> np.ndarray:
    """The minimum width under each resample of seeds: per resample (a row of seed indices),
    the smallest evaluated width whose resampled mean metric is <= ``eps``; ``inf`` where none is.

    ``values`` maps each evaluated width to its per-seed metrics (same seed order for every
    width, so resamples are paired across widths). This is the search's answer on resampled
    seeds restricted to the widths the search evaluated, the basis of bootstrap intervals.
    """
    out = np.full(len(resamples), np.inf)
    for width in sorted(values, reverse=True):
        mean = np.asarray(values[width], dtype=float)[resamples].mean(axis=1)
        out = np.where(mean <= eps, float(width), out)
    return out


def _per_seed(spec: MinWidthSpec, scores: _Scores) -> pd.DataFrame:
    rows = [
        {"task": spec.tasks[t].display, "label_mode": m, "width": w, "seed": s, spec.metric: v}
        for (t, m), ws in scores.items()
        for w, vals in sorted(ws.items())
        for s, v in zip(spec.seeds, vals, strict=True)
    ]
    frame: pd.DataFrame = pd.DataFrame(rows)
    return frame


def _table(spec: MinWidthSpec, searches: _Searches, scores: _Scores) -> pd.DataFrame:
    rows = []
    full = spec.max_width - spec.min_width + 1
    for ((task, mode), eps), search in searches.items():
        width = search.hi
        values = (
            np.asarray(scores[(task, mode)][width]) if width is not None else np.array([np.nan])
        )
        rows.append(
            {
                "task": spec.tasks[task].display,
                "label_mode": mode,
                "eps": eps,
                "min_width": width if width is not None else np.nan,
                "reached": width is not None,
                f"{spec.metric}_mean": float(np.mean(values)),
                f"{spec.metric}_std": float(np.std(values)),
                f"{spec.metric}_min": float(np.min(values)),
                f"{spec.metric}_max": float(np.max(values)),
                "widths_evaluated": len(scores[(task, mode)]),
                "full_grid_widths": full,
                "path": json.dumps(search.path),
            }
        )
    frame: pd.DataFrame = pd.DataFrame(rows).sort_values(
        ["task", "label_mode", "eps"], ascending=[True, True, False]
    )
    return frame


def _evaluated(spec: MinWidthSpec, scores: _Scores) -> pd.DataFrame:
    rows = [
        {
            "task": spec.tasks[t].display,
            "label_mode": m,
            "width": w,
            f"{spec.metric}_mean": float(np.mean(v)),
            f"{spec.metric}_std": float(np.std(v)),
        }
        for (t, m), ws in scores.items()
        for w, v in sorted(ws.items())
    ]
    frame: pd.DataFrame = pd.DataFrame(rows)
    return frame
