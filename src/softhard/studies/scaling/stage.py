"""The scaling study's reproduce stage: the shipped ``scaling_digits`` spec."""

from __future__ import annotations

from pathlib import Path

from softhard.config import shipped_configs
from softhard.studies.scaling.run import run_scaling
from softhard.studies.scaling.spec import load_scaling_spec
from softhard.studies.stage import stage_store
from softhard.sweep.executor_config import ExecutorConfig


def scaling_stage(
    folder: Path, quick: bool, progress: bool, *, executor: ExecutorConfig | None = None
) -> Path:
    """The scaling study (``scaling_digits``; its own ``quick`` delta with ``--quick``)."""
    spec = load_scaling_spec(shipped_configs()["scaling_digits"])
    result = run_scaling(
        spec,
        out_dir=folder,
        store_dir=stage_store(folder),
        quick=quick,
        progress=progress,
        executor=executor,
    )
    return result.path


__all__ = ["scaling_stage"]
