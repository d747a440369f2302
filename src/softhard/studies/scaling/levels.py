"""The scaling study's difficulty levels, prepared (data, teacher, gamma) before anything runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from softhard.errors import ConfigError
from softhard.studies.scaling.spec import ScalingSpec
from softhard.studies.two_layer import PreparedTask, prepare_task


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
        task = prepare_task(cfg, base.teacher, index=i, margin=base.margin)  # estimate: True
        est = task.margin
        gamma = float(getattr(est, "gamma", math.nan))
        lower = float(getattr(est, "lower", math.nan))
        if not (math.isfinite(gamma) and gamma > 0 and math.isfinite(lower) and lower > 0):
            raise ConfigError(
                f"scaling spec {spec.name!r}: field 'levels.{i}' ({cfg.display}): its NTK margin "
                f"gamma cannot be estimated (gamma = {gamma:.3g}, certified lower bound "
                f"{lower:.3g}); every level needs gamma > 0 with a positive certificate, e.g. "
                "class mixing below 0.5 and no label flips that make the data inseparable"
            )
        levels.append(Level(i, task, gamma))
    return levels
