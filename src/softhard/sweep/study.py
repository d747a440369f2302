"""What the sweep machinery knows of a study: one :class:`SweepStudy` record, nothing more.

``sweep/`` imports no study. Each study that can be swept (its runs stored, grouped and trained
by the executors) describes itself with a :class:`SweepStudy` in the study table
(:mod:`softhard.studies.table`), which puts it in :data:`SWEEPABLE` under its ``kind``. The
package root imports that table, so every process that imports ``softhard`` (a spawned or Ray
worker included) sees every study before it trains a group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from softhard.errors import ConfigError
from softhard.sweep.store import RunOutcome

GroupTrainer = Callable[[Sequence[Any], Sequence[str]], list[RunOutcome]]
"""Trains a group of runs (their single-student configs, their ids) in one worker call."""


@dataclass(frozen=True)
class SweepStudy:
    """A study whose runs a sweep can train.

    Attributes:
        config: its config model (``tasks`` and ``name`` fields and the student grid's,
            :class:`~softhard.student_grid.StudentGrid`, which study configs subclass).
        tasks: a config -> its tasks, and the update that makes a one-task copy of it (a
            two-layer config expands ``data_seeds``, so it clears them).
        train_group: trains a group of its runs (see :data:`GroupTrainer`).
    """

    config: type[BaseModel]
    tasks: Callable[[Any], tuple[list[Any], dict[str, Any]]]
    train_group: GroupTrainer


SWEEPABLE: dict[str, SweepStudy] = {}
"""kind -> its :class:`SweepStudy`; filled by :mod:`softhard.studies.table`."""


def sweepable(data: dict[str, Any], *, where: str) -> SweepStudy:
    """The study that ``data['kind']`` names (``two_layer`` if unset); ConfigError if none."""
    kind = data.get("kind", "two_layer")
    if kind not in SWEEPABLE:
        raise ConfigError(
            f"{where}: kind {kind!r} cannot be swept; allowed: {', '.join(SWEEPABLE)} (two_layer "
            f"when kind is not set)."
        )
    return SWEEPABLE[kind]


__all__ = ["SWEEPABLE", "GroupTrainer", "SweepStudy", "sweepable"]
