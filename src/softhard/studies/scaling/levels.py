"""The scaling study's difficulty levels, prepared (data, teacher, gamma) before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from softhard.errors import ConfigError
from softhard.ntk.separability import NotSeparableError, require_separable
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
        where = f"scaling spec {spec.name!r}: field 'levels.{i}' ({cfg.display}): its NTK margin "
        where += "gamma cannot be estimated (every level needs a certified gamma > 0)"
        try:  # a kernel teacher needs gamma too (its scale 1/gamma): same message
            task = prepare_task(cfg, base.teacher, index=i, margin=base.margin)  # estimate: True
        except NotSeparableError as err:
            raise ConfigError(f"{where}: {err}") from None
        gamma = require_separable(task.margin, where=where, error=ConfigError)
        levels.append(Level(i, task, gamma))
    return levels
