"""The min-width study's driver: search, then write the run folder (``softhard min-width`` and any
other caller run it through :func:`run_min_width`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softhard.report.rundir import write_run
from softhard.studies.min_width.search import MinWidthResult, MinWidthSpec, min_width_search
from softhard.sweep.executor_config import ExecutorConfig


def run_min_width(
    spec: MinWidthSpec,
    *,
    out_dir: str | Path | None = None,
    store_dir: str | Path | None = None,
    executor: ExecutorConfig | None = None,
    progress: bool = True,
) -> tuple[MinWidthResult, Path]:
    """Run (or resume) the search in the run store, then write its folder under ``out_dir``
    (default: the base config's ``out_dir``); the result and the folder."""
    result = min_width_search(spec, store_dir=store_dir, executor=executor, progress=progress)
    path = write_min_width(spec, result, Path(out_dir or spec.base_config().out_dir))
    return result, path


def write_min_width(spec: Any, result: Any, out_dir: Path) -> Path:
    """The search's run folder: its spec as ``config.yaml``, ``min_width`` and ``evaluated``."""
    return write_run(
        out_dir,
        spec,
        name=spec.name,
        tables={"min_width": result.table, "evaluated": result.evaluated},
        manifest={"store": str(result.store), "trained": result.trained},
    )
