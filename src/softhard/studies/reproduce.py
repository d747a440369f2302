"""``softhard reproduce``: the paper's studies in order, one folder per stage, then the report.

Layout of ``out`` (docs/reproduce.md)::

    reproduce-plan.json      the stages planned, the mode (quick or full), the command
    <stage>/stage.json       written last: the stage is complete (names its run folder)
    <stage>/<run folder>     what the stage's study wrote (config, manifest, tables, figures)
    cache/                   teacher caches shared by the stages (kept between calls)
    report.html, report.md   ``softhard report`` on the whole folder

A stage runs in ``<stage>.partial`` and is renamed to ``<stage>`` only after its marker is
written, so a folder that looks complete is complete. A stage that raises is removed; a killed
stage leaves ``<stage>.partial``, which the next call deletes and redoes. Stages already complete
are skipped, so calling ``softhard reproduce`` again finishes an interrupted run.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from pydantic import BaseModel

from softhard.config import (
    ExecutorConfig,
    ExperimentConfig,
    apply_overrides,
    read_yaml,
    shipped_configs,
    validate,
)
from softhard.data import load_dataset
from softhard.errors import ConfigError
from softhard.ntk import DEFAULT_MARGIN_SEED, estimate_margin
from softhard.ntk.separability import certified_gamma
from softhard.report.document import PLAN_FILE, STAGE_MARKER
from softhard.report.html import write_report
from softhard.report.rundir import write_run
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import run_deep_experiment
from softhard.studies.regimes.compare import load_results, paired_compare, varying_axes
from softhard.studies.regimes.plot import write_comparison
from softhard.studies.scaling.run import load_scaling_spec, run_scaling
from softhard.studies.two_layer import run_experiment
from softhard.sweep import load_sweep_spec, run_sweep

# --quick: the same studies with fewer seeds, widths and epochs (never other data or settings).
QUICK_MOTIVATING = ["seeds=[0,1,2]", "widths=[1,2,4,8,16,32,64]", "train.epochs=150"]
QUICK_DEEP = ["seeds=[0,1,2]", "widths=[1,4,16]", "train.epochs=6", "teacher.epochs=15"]
QUICK_REGIMES = ["base.data_seeds=[0,1,2,3]", "base.seeds=[0]", "base.train.epochs=200"]
REGIME_HORIZONS: dict[bool, list[Any]] = {True: [50, 200, "last"], False: [50, 200, 1000, "last"]}
MARGIN_DIRECTIONS = {True: 2048, False: 8192}


@dataclass(frozen=True)
class Stage:
    """One step of ``reproduce``: ``run(folder, quick, progress)`` returns its run folder.

    ``uses_store``: the stage trains runs through the run store, so ``run`` also takes
    ``executor=`` (the :class:`~softhard.config.ExecutorConfig` given to :func:`reproduce`).
    """

    name: str
    title: str
    run: Callable[..., Path]
    uses_store: bool = False


M = TypeVar("M", bound=BaseModel)


def _load(name: str, model: type[M], overrides: list[str]) -> M:
    path = shipped_configs()[name]
    loaded: M = validate(model, apply_overrides(read_yaml(path), overrides), where=f"config {path}")
    return loaded


def motivating_config(quick: bool) -> ExperimentConfig:
    """The motivating experiment: the shipped ``demo`` config (three difficulty levels)."""
    return _load("demo", ExperimentConfig, QUICK_MOTIVATING if quick else [])


def deep_config(quick: bool) -> DeepExperimentConfig:
    """Deep students on embedded digits: the shipped ``deep_digits`` config."""
    return _load("deep_digits", DeepExperimentConfig, QUICK_DEEP if quick else [])


def _cache(folder: Path, kind: str) -> Path:
    """The teacher cache beside the stage folders (``<out>/cache/<kind>``)."""
    return folder.parent / "cache" / kind


def run_motivating(folder: Path, quick: bool, progress: bool) -> Path:
    """Soft vs hard accuracy and epoch-averaged loss against width at three difficulty levels."""
    cfg = motivating_config(quick)
    result = run_experiment(
        cfg, out_dir=folder, progress=progress, cache=_cache(folder, "two_layer")
    )
    assert result.path is not None
    return result.path


def run_margins(folder: Path, quick: bool, progress: bool) -> Path:
    """gamma of every difficulty level with its primal/dual certificate and Monte-Carlo error."""
    cfg = motivating_config(quick)
    k = MARGIN_DIRECTIONS[quick]
    rows = []
    start = time.perf_counter()
    for task in cfg.tasks:
        ds = load_dataset(task)
        x, _ = ds.flat()
        est = estimate_margin(x, ds.y_train_pm, num_directions=k, seed=DEFAULT_MARGIN_SEED)
        rows.append(
            {"task": task.display, "n_train": ds.n_train, "dim": ds.dim, "gamma": certified_gamma(est),
             "lower": est.lower, "upper": est.upper, "gap": est.upper - est.lower,
             "stderr": est.stderr, "fresh_lower": est.fresh_lower, "fresh_upper": est.fresh_upper,
             "relative_gap": est.gap, "stopped_by": est.stopped_by, "status": est.status,
             "converged": est.converged, "iterations": est.iterations, "num_directions": k,
             "support": int((est.q > 1e-3 / len(est.q)).sum()), "seconds": round(est.seconds, 2)}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    settings = {"kind": "margins", "tasks": [t.display for t in cfg.tasks],
                "num_directions": k, "direction_seed": DEFAULT_MARGIN_SEED}  # fmt: skip
    return write_run(
        folder, settings, name="margins", tables={"margins": table},
        figures=lambda run: _plot_margins(table, run / "margins.png", k),
        manifest={"kind": "margins", "num_directions": k, "direction_seed": DEFAULT_MARGIN_SEED,
                  "data_seeds": [t.seed for t in cfg.tasks],
                  "seconds": round(time.perf_counter() - start, 2)},
    )  # fmt: skip


def _plot_margins(table: pd.DataFrame, path: Path, k: int) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = range(len(table))
    ax.errorbar(
        xs, table["gamma"], yerr=2 * table["stderr"], fmt="o", capsize=4, label="gamma +- 2 stderr"
    )
    ax.vlines(
        xs, table["lower"], table["upper"], color="k", lw=4, alpha=0.4, label="[lower, upper]"
    )
    ax.set_xticks(list(xs), table["task"], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("NTK margin gamma")
    ax.set_title(f"gamma per difficulty level (K = {k} directions, seed 0)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _store(folder: Path) -> Path:
    """The run store shared by the sweep-based stages (``<out>/store``): kept between calls,
    so an interrupted scaling or regime stage trains only the runs it had not finished."""
    return folder.parent / "store"


def run_scaling_stage(
    folder: Path, quick: bool, progress: bool, *, executor: ExecutorConfig | None = None
) -> Path:
    """The scaling study (``scaling_digits``; its own ``quick`` delta with ``--quick``)."""
    spec = load_scaling_spec(shipped_configs()["scaling_digits"])
    result = run_scaling(
        spec,
        out_dir=folder,
        store_dir=_store(folder),
        quick=quick,
        progress=progress,
        executor=executor,
    )
    return result.path


def run_regimes(
    folder: Path, quick: bool, progress: bool, *, executor: ExecutorConfig | None = None
) -> Path:
    """The paired regime map: the ``regimes_digits`` sweep, then soft - hard per cell and horizon."""
    spec = load_sweep_spec(shipped_configs()["regimes_digits"], QUICK_REGIMES if quick else None)
    store = _store(folder)
    run_sweep(spec, store_dir=store, executor=executor, progress=progress)
    results, curves = load_results(store, spec.name)
    axes = varying_axes(results)
    x = next((a for a in axes if a not in ("task", "width")), "width")
    y = "task" if x != "task" else "width"
    horizons = REGIME_HORIZONS[quick]
    frame = paired_compare(results, curves=curves, axes=axes, method="t", epochs=horizons)
    return write_comparison(
        frame, folder, f"compare-{spec.name}", x=x, y=y, kind="regimes", source=str(store), sweep=spec.name,
        method="t", epochs=horizons, quick_overrides=QUICK_REGIMES if quick else [],
    )  # fmt: skip


def run_deep(folder: Path, quick: bool, progress: bool) -> Path:
    """Deep CNN students on embedded digits at three noise levels."""
    cfg = deep_config(quick).model_copy(update={"cache_dir": str(_cache(folder, "deep"))})
    return run_deep_experiment(cfg, out_dir=folder, progress=progress)


STAGES: list[Stage] = [
    Stage("1-motivating", "motivating experiment: soft vs hard against width", run_motivating),
    Stage("2-margins", "NTK margin gamma per difficulty level, with certificate", run_margins),
    Stage(
        "3-scaling",
        "scaling study: fitted exponents against the bounds",
        run_scaling_stage,
        uses_store=True,
    ),
    Stage("4-regimes", "paired regime map: soft - hard per setting", run_regimes, uses_store=True),
    Stage("5-deep", "deep students on embedded digits", run_deep),
]


@dataclass(frozen=True)
class ReproduceResult:
    """What :func:`reproduce` did: the folder, seconds per stage (None: skipped), the report."""

    path: Path
    seconds: dict[str, float | None]
    report: Path


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def _plan(out: Path, stages: list[Stage], quick: bool, command: str) -> None:
    file = out / PLAN_FILE
    if file.is_file():
        old = json.loads(file.read_text())
        if old.get("quick") != quick:
            raise ConfigError(
                f"reproduce: {out} was started {'with' if old.get('quick') else 'without'} --quick; "
                "call it the same way to finish it, or choose another --out"
            )
    _write_json(
        file,
        {"stages": [s.name for s in stages], "quick": quick, "command": command,
         "note": "stages: " + "; ".join(f"{s.name}: {s.title}" for s in stages)},
    )  # fmt: skip


def run_stage(
    out: Path,
    stage: Stage,
    quick: bool,
    progress: bool,
    executor: ExecutorConfig | None = None,
) -> float | None:
    """Run one stage unless complete; return its seconds (None when skipped)."""
    final = out / stage.name
    if (final / STAGE_MARKER).is_file():
        return None
    partial = out / f"{stage.name}.partial"
    for leftover in (final, partial):
        shutil.rmtree(leftover, ignore_errors=True)
    partial.mkdir(parents=True)
    start = time.perf_counter()
    try:
        extra = {"executor": executor} if stage.uses_store else {}
        run = stage.run(partial, quick, progress, **extra)
        seconds = time.perf_counter() - start
        marker = {"stage": stage.name, "title": stage.title, "run": run.name, "quick": quick,
                  "seconds": round(seconds, 2),
                  "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
        _write_json(partial / STAGE_MARKER, marker)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(final)
    return seconds


def reproduce(
    out: str | Path,
    *,
    quick: bool = False,
    progress: bool = True,
    stages: list[Stage] | None = None,
    command: str | None = None,
    announce: Callable[[str], None] = print,
    executor: ExecutorConfig | None = None,
) -> ReproduceResult:
    """Run every stage not yet complete in ``out``, then write the report of the whole folder.

    ``executor``: where the runs of the store-based stages (scaling, regimes) train (default:
    local processes, one per core)."""
    out = Path(out)
    stages = STAGES if stages is None else stages
    out.mkdir(parents=True, exist_ok=True)
    flag = " --quick" if quick else ""
    _plan(out, stages, quick, command or f"softhard reproduce{flag} --out {out}")
    seconds: dict[str, float | None] = {}
    for i, stage in enumerate(stages, 1):
        announce(f"[{i}/{len(stages)}] {stage.name}: {stage.title}")
        seconds[stage.name] = run_stage(out, stage, quick, progress, executor)
        done = seconds[stage.name]
        announce(f"  {'complete already, skipped' if done is None else f'done in {done:.1f} s'}")
    html_path, _, _ = write_report(out)
    return ReproduceResult(out, seconds, html_path)
