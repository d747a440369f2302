"""A step of ``softhard reproduce``: :class:`Stage`, and the folders the stages share.

Each study that has a reproduce stage gives it in the study table (:mod:`softhard.studies.table`);
:mod:`softhard.studies.reproduce` runs them in order of their names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stage:
    """One step of ``reproduce``: ``run(folder, quick, progress)`` returns its run folder.

    ``uses_store``: the stage trains runs through the run store, so ``run`` also takes
    ``executor=`` (the :class:`~softhard.sweep.ExecutorConfig` given to ``reproduce``).
    """

    name: str
    title: str
    run: Callable[..., Path]
    uses_store: bool = False


def stage_cache(folder: Path, kind: str) -> Path:
    """The teacher cache beside the stage folders (``<out>/cache/<kind>``)."""
    return folder.parent / "cache" / kind


def stage_store(folder: Path) -> Path:
    """The run store shared by the sweep-based stages (``<out>/store``): kept between calls,
    so an interrupted scaling or regime stage trains only the runs it had not finished."""
    return folder.parent / "store"


__all__ = ["Stage", "stage_cache", "stage_store"]
