"""``softhard reproduce``: the paper's studies in order, one folder per stage, then the report.

Layout of ``out`` (docs/reproduce.md)::

    reproduce-plan.json      the stages planned, the mode (quick or full), the command
    <stage>/stage.json       written last: the stage is complete (names its run folder)
    <stage>/<run folder>     what the stage's study wrote (config, manifest, tables, figures)
    cache/                   teacher caches shared by the stages (kept between calls)
    report.html, report.md   ``softhard report`` on the whole folder

The stages are the studies' own (each study gives its stages in the study table,
:func:`softhard.studies.table.stages`). A stage runs in ``<stage>.partial`` and is renamed to ``<stage>`` only after its marker is
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
from typing import Any

from softhard.errors import ConfigError
from softhard.report.document import PLAN_FILE, STAGE_MARKER
from softhard.report.html import write_report
from softhard.studies.stage import Stage
from softhard.studies.table import stages as table_stages
from softhard.sweep.executor_config import ExecutorConfig


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
    stages = table_stages() if stages is None else stages
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


__all__ = ["ReproduceResult", "Stage", "reproduce", "run_stage"]
