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
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator
from rich.console import Console

from softhard.config import ConfigModel as _Model
from softhard.config import (
    DataConfig,
    ExecutorConfig,
    ExperimentConfig,
    TaskList,
    apply_overrides,
    read_yaml,
    validate,
)
from softhard.errors import ConfigError
from softhard.ntk.separability import NotSeparableError, require_separable
from softhard.student import LabelMode
from softhard.studies.scaling import search as S
from softhard.studies.scaling.fit import ScalingFit, fit_scaling, identify
from softhard.studies.scaling.report import write_folder
from softhard.studies.scaling.search import in_range
from softhard.studies.two_layer import PreparedTask, prepare_task
from softhard.sweep.executors import Executor, make_executor
from softhard.sweep.minwidth import resampled_min_widths
from softhard.sweep.runner import DEFAULT_STORE, check_sweep_memory, execute_runs
from softhard.sweep.spec import Run
from softhard.sweep.store import RunStore
from softhard.train import CURVE_COLUMNS

View = Literal["theorem", "capacity"]
Loss = Literal["theorem", "yardstick"]
EpsRule = Literal["fixed", "quantile", "linear"]
MAX_WIDTH_CAP = 2**14
_SET_BY_STUDY = ("tasks", "widths", "seeds", "label_modes")
_EPS_KEYS = ("soft", "hard", "mixed", "yardstick")


def _default_label_modes() -> list[LabelMode]:
    return ["soft", "hard"]


def _default_views() -> list[View]:
    return ["theorem", "capacity"]


def _default_losses() -> list[Loss]:
    return ["theorem", "yardstick"]


def _default_eps_rules() -> list[EpsRule]:
    return ["fixed", "quantile"]


class TheoremView(_Model):
    """The theorem view's horizon ``T(eps) = ceil(k / eps)``, constants per loss (keys as in
    ``eps``: soft, hard, mixed for the theorem losses, yardstick): the first constant of each list
    is the primary, the others refit the same runs for the identification check. The losses have
    different scales (KL, logistic), so each has its own constants."""

    constants: dict[str, list[float]] = Field(
        default_factory=lambda: {
            "soft": [20.0, 40.0],
            "hard": [100.0, 200.0],
            "mixed": [50.0, 100.0],
            "yardstick": [100.0, 200.0],
        }
    )

    @field_validator("constants")
    @classmethod
    def _positive(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, ks in value.items():
            if key not in _EPS_KEYS:
                raise ValueError(f"theorem.constants key {key!r} unknown; allowed: {_EPS_KEYS}")
            if not ks or any(not k > 0 for k in ks):
                raise ValueError(f"theorem.constants.{key}: give constants k > 0, got {ks}")
        return value


class CapacityView(_Model):
    """The capacity view's horizon: the best loss over the first ``epochs`` epochs (primary) and
    over the first ``epochs // 2`` (the identification check's second horizon)."""

    epochs: int = Field(4000, ge=2)


class ScalingSpec(_Model):
    """A scaling study (YAML ``kind: scaling``); see the module docstring and docs/scaling.md."""

    kind: Literal["scaling"] = "scaling"
    name: str = Field("scaling", min_length=1)
    levels: TaskList = Field(..., description="difficulty levels (>= 2), one gamma each")
    label_modes: list[LabelMode] = Field(default_factory=_default_label_modes, min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=2)
    eps: dict[str, list[float]] = Field(..., description="fixed eps grid per mode and yardstick")
    min_width: int = Field(2, ge=1)
    max_width: int = Field(1024, ge=2, le=MAX_WIDTH_CAP)
    width_steps: int = Field(4, ge=1, le=64, description="search grid points per doubling")
    views: list[View] = Field(default_factory=_default_views, min_length=1)
    losses: list[Loss] = Field(default_factory=_default_losses, min_length=1)
    theorem: TheoremView = TheoremView()
    capacity: CapacityView = CapacityView()
    eps_rules: list[EpsRule] = Field(default_factory=_default_eps_rules, min_length=1)
    quantiles: list[float] = Field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8], min_length=2)
    n_boot: int = Field(1000, ge=10)
    boot_seed: int = 0
    quick: dict[str, Any] = Field(default_factory=dict, description="spec delta for --quick")
    base: dict[str, Any] = Field(default_factory=dict, description="ExperimentConfig delta")

    @field_validator("levels")
    @classmethod
    def _two_levels(cls, value: list[DataConfig]) -> list[DataConfig]:
        if len(value) < 2:
            raise ValueError(
                f"needs at least 2 difficulty levels (distinct gamma) to fit an exponent, "
                f"got {len(value)}"
            )
        return value

    @field_validator("eps")
    @classmethod
    def _eps(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, grid in value.items():
            if key not in _EPS_KEYS:
                raise ValueError(f"eps key {key!r} is unknown; allowed: {', '.join(_EPS_KEYS)}")
            if not grid:
                raise ValueError(f"eps.{key} is empty; give at least one eps in (0, 1)")
            bad = [e for e in grid if not 0 < e < 1]
            if bad:
                raise ValueError(f"eps.{key}: every eps must be in (0, 1), got {bad}")
        return {k: sorted(set(v), reverse=True) for k, v in value.items()}

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value: list[float]) -> list[float]:
        if any(not 0 < q < 1 for q in value):
            raise ValueError(f"quantiles must be in (0, 1), got {value}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _check(self) -> ScalingSpec:
        if self.max_width < self.min_width:
            raise ValueError(f"max_width {self.max_width} < min_width {self.min_width}")
        needed: list[str] = list(self.label_modes) if "theorem" in self.losses else []
        needed += ["yardstick"] if "yardstick" in self.losses else []
        missing = [k for k in needed if k not in self.eps]
        if missing:
            raise ValueError(f"eps needs a grid for {', '.join(missing)} (the losses studied)")
        missing = [k for k in needed if k not in self.theorem.constants]
        if "theorem" in self.views and missing:
            raise ValueError(f"theorem.constants needs constants for {', '.join(missing)}")
        clash = [k for k in _SET_BY_STUDY if k in self.base]
        clash += ["train.epochs"] if "epochs" in (self.base.get("train") or {}) else []
        if clash:
            raise ValueError(f"base must not set {', '.join(clash)}: the study sets them")
        return self

    def run_epochs(self) -> int:
        """``T_run``: the longest horizon any readout needs (every run trains this long)."""
        horizons = [self.capacity.epochs]
        if "theorem" in self.views and "fixed" in self.eps_rules:
            for key in self.eps_keys():
                horizons += [S.horizon_for(k, min(self.eps[key])) for k in self.constants(key)]
        return max(horizons)

    def eps_keys(self) -> list[str]:
        """The grids in use: each label mode's theorem loss, and the yardstick."""
        keys = list(self.label_modes) if "theorem" in self.losses else []
        return keys + (["yardstick"] if "yardstick" in self.losses else [])

    def constants(self, key: str) -> list[float]:
        """The theorem view's horizon constants for a loss key (``eps`` keys)."""
        return list(self.theorem.constants.get(key, []))

    def grid(self) -> list[int]:
        """The widths the search may evaluate (:func:`scaling_search.width_grid`)."""
        return S.width_grid(self.min_width, self.max_width, self.width_steps)

    def base_config(self) -> ExperimentConfig:
        """The validated base experiment of every run (horizon ``T_run``, with gamma).

        Gamma is always estimated: :func:`prepare_levels` solves it once per level and the runs'
        groups read it back from the margin cache (same data and settings), so every stored row
        carries its level's gamma.
        """
        margin = self.base.get("margin", {})
        if isinstance(margin, dict):  # (the old bool flag is named by validation)
            margin = {**margin, "estimate": True}
        data = {**self.base, "name": self.name, "margin": margin}
        data["train"] = {**(self.base.get("train") or {}), "epochs": self.run_epochs()}
        cfg: ExperimentConfig = validate(ExperimentConfig, data, where="scaling base")
        return cfg

    def resolved(self, quick: bool) -> ScalingSpec:
        """This spec with its ``quick`` delta applied (when ``quick``); ``quick`` then empty."""
        data = self.model_dump(mode="json")
        delta = data.pop("quick")
        if quick:
            data = _merge(data, delta)
        return load_scaling_data(data, where=f"scaling spec {self.name!r}" + (" (quick)" * quick))


def _merge(data: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key, value in delta.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_scaling_data(data: dict[str, Any], *, where: str) -> ScalingSpec:
    """Validate spec data (and its base experiment) as a :class:`ScalingSpec`."""
    spec: ScalingSpec = validate(ScalingSpec, data, where=where)
    spec.base_config()
    return spec


def load_scaling_spec(
    path: str | Path, overrides: list[str] | None = None, *, quick: bool = False
) -> ScalingSpec:
    """Read a spec file; with ``quick`` its ``quick`` delta is applied before ``overrides``."""
    data = read_yaml(path)
    if quick:
        data = _merge({k: v for k, v in data.items() if k != "quick"}, data.get("quick") or {})
    data = apply_overrides(data, overrides or [])
    return load_scaling_data(data, where=f"scaling spec {path}" + (" (quick)" * quick))


@dataclass(frozen=True)
class Level:
    """A prepared difficulty level: the task (data, teacher) and its margin gamma."""

    index: int
    task: PreparedTask
    gamma: float

    @property
    def name(self) -> str:
        return self.task.name


def prepare_levels(spec: ScalingSpec) -> list[Level]:
    """Prepare every level (data, teacher, gamma) before anything is written; a level whose gamma
    cannot be estimated (not finite, or not certified > 0) is a :class:`ConfigError`."""
    base = spec.base_config()
    levels = []
    for i, cfg in enumerate(spec.levels):
        where = f"scaling spec {spec.name!r}: field 'levels.{i}' ({cfg.display}): its NTK margin "
        where += "gamma cannot be estimated (every level needs a certified gamma > 0)"
        try:  # a kernel teacher needs gamma too (its scale 1/gamma): same message
            task = prepare_task(cfg, base.teacher, index=i, margin=base.margin)  # estimate: True
        except NotSeparableError as err:
            raise ConfigError(f"{where}: {err}") from None
        gamma = require_separable(task.margin, where=where, error=ConfigError)
        levels.append(Level(i, task, gamma))
    return levels


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


def _losses(spec: ScalingSpec) -> list[str]:
    """The losses studied that the stored curves carry (the yardstick needs ``yard_loss``)."""
    return [x for x in spec.losses if S.CURVE_OF_LOSS[x] in CURVE_COLUMNS]


def _choices(spec: ScalingSpec, view: str, mode: str, loss: str) -> list[float]:
    """Horizon choices of a view: constants k (theorem) or horizons T (capacity), primary first."""
    if view == "theorem":
        return spec.constants("yardstick" if loss == "yardstick" else mode)
    return [float(spec.capacity.epochs), float(spec.capacity.epochs // 2)]


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
            for loss in _losses(spec):
                for rule in rules:
                    for choice in _choices(spec, view, mode, loss):
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
    columns = [S.CURVE_OF_LOSS[x] for x in _losses(spec)]
    data: dict[tuple[int, str], S.PairCurves] = {
        (lv.index, m): S.PairCurves() for lv in levels for m in spec.label_modes
    }
    first = {p: {spec.min_width, spec.max_width} for p in data}
    check_sweep_memory(
        [r for rs in _round_runs(spec, base, first).values() for r in rs],
        executor,
        what=f"scaling study {spec.name!r}",
    )
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
        out_dir=Path(out_dir or base.out_dir),
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


def _resamples(spec: ScalingSpec) -> np.ndarray:
    """Seed resamples shared by every point (paired): ``(n_boot, n_seeds)`` seed indices."""
    rng = np.random.default_rng(spec.boot_seed)
    return rng.integers(0, len(spec.seeds), size=(spec.n_boot, len(spec.seeds)))


def _draws(
    target: S.Target, data: dict[tuple[int, str], S.PairCurves], resamples: np.ndarray
) -> np.ndarray:
    values = data[target.pair].table(target.view, target.loss, target.horizon)
    return resampled_min_widths(values, target.eps, resamples)


def min_width_table(
    spec: ScalingSpec,
    levels: list[Level],
    targets: list[S.Target],
    data: dict[tuple[int, str], S.PairCurves],
) -> pd.DataFrame:
    """One row per target: m* (smallest evaluated width whose mean reaches eps), its bootstrap
    interval over seeds, and whether it is censored (eps not reached within the cap)."""
    identity = np.arange(len(spec.seeds))[None, :]
    resamples = _resamples(spec)
    rows = []
    for t in targets:
        m_star = float(_draws(t, data, identity)[0])
        draws = _draws(t, data, resamples)
        censored = not math.isfinite(m_star)
        lo, hi = (
            (math.nan, math.nan)
            if censored
            else np.quantile(draws, [0.025, 0.975], method="inverted_cdf")
        )
        rows.append(
            {
                "level": levels[t.level].name,
                "gamma": levels[t.level].gamma,
                "mode": t.mode,
                "view": t.view,
                "loss": t.loss,
                "eps_rule": t.rule,
                "eps": t.eps,
                "horizon": t.horizon,
                "m_star": m_star if not censored else math.nan,
                "ci_low": float(lo),
                "ci_high": float(hi),
                "censored": censored,
                "n_seeds": len(spec.seeds),
                "constant": t.constant,
                "cap": spec.max_width,
                "in_range": in_range(m_star, spec.max_width),
            }
        )
    out: pd.DataFrame = pd.DataFrame(rows)  # pandas-stubs' constructor is Any here
    return out


def fit_table(
    spec: ScalingSpec,
    table: pd.DataFrame,
    targets: list[S.Target],
    data: dict[tuple[int, str], S.PairCurves],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every view x loss x mode x eps rule x horizon choice; combine the choices per term."""
    resamples = _resamples(spec)
    draws = np.column_stack([_draws(t, data, resamples) for t in targets]) if targets else None
    table = table.assign(
        _choice=[t.constant if t.view == "theorem" else t.horizon for t in targets]
    )
    rows, combined = [], []
    for view in spec.views:
        for loss in _losses(spec):
            for mode in spec.label_modes:
                fits = []
                for rule in spec.eps_rules:
                    for choice in _choices(spec, view, mode, loss):
                        sel = (
                            (table["view"] == view)
                            & (table["loss"] == loss)
                            & (table["mode"] == mode)
                            & (table["eps_rule"] == rule)
                            & (table["_choice"] == choice)
                        ).to_numpy()
                        fit = fit_scaling(
                            table[sel],
                            mode=mode,
                            draws=draws[:, sel] if draws is not None else None,
                        )
                        fits.append(fit)
                        rows += _choice_rows(view, loss, mode, rule, choice, fit)
                combined += _combined_rows(view, loss, mode, fits)
    return pd.DataFrame(rows), pd.DataFrame(combined, columns=FITS_COLUMNS)


FITS_COLUMNS = [
    "view",
    "loss",
    "mode",
    "term",
    "estimate",
    "ci_low",
    "ci_high",
    "theory",
    "verdict",
    "n_used",
    "n_censored",
    "n_in_range",
]


def _n_in_range(fit: ScalingFit) -> int:
    """Points of a fit whose m* is in ``[4, cap/4]`` (:func:`in_range`)."""
    used = fit.used
    if not len(used) or "cap" not in used:
        return 0
    return int(sum(in_range(m, c) for m, c in zip(used["m_star"], used["cap"], strict=True)))


def _choice_rows(
    view: str, loss: str, mode: str, rule: str, choice: float, fit: ScalingFit
) -> list[dict[str, Any]]:
    return [
        {
            "view": view,
            "loss": loss,
            "mode": mode,
            "eps_rule": rule,
            "choice": ("k=" if view == "theorem" else "T=") + f"{choice:g}",
            "term": term,
            "estimate": fit.estimate[term],
            "ci_low": fit.ci_low[term],
            "ci_high": fit.ci_high[term],
            "theory": fit.theory[term],
            "verdict": fit.verdict[term],
            "n_used": fit.n_used,
            "n_censored": fit.n_censored,
            "n_in_range": _n_in_range(fit),
            "n_boot_ok": fit.n_boot_ok,
        }
        for term in ("b", "c")
    ]


def _combined_rows(view: str, loss: str, mode: str, fits: list[ScalingFit]) -> list[dict[str, Any]]:
    head = fits[0]
    out = []
    for term in ("b", "c"):
        ident = identify(fits, term)
        out.append(
            {
                "view": view,
                "loss": loss,
                "mode": mode,
                "term": term,
                "estimate": ident.estimate,
                "ci_low": ident.ci_low,
                "ci_high": ident.ci_high,
                "theory": head.theory[term],
                "verdict": ident.verdict,
                "n_used": head.n_used,
                "n_censored": head.n_censored,
                "n_in_range": _n_in_range(head),
            }
        )
    return out
