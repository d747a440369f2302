"""Sweep specs: a base study config plus a grid over any of its fields, expanded into runs.

A spec (YAML, ``kind: sweep``)::

    kind: sweep
    name: digits_lr
    base: {tasks: [digits:0-1], train: {epochs: 300}, engine: bank}
    grid:
      train.lr: [0.5, 1.0]
      tasks: [digits:0-1, digits:3-8]
      widths: [[1, 2, 4], [8, 16]]    # a list-valued field takes a list per grid value
      temperature: [1.0, 2.0]

Every combination of grid values is applied to ``base`` (as dotted overrides) and validated as the
config of the study that ``base.kind`` names (a study in :data:`~.study.SWEEPABLE`: ``two_layer``,
the default, or ``deep``; the study table :mod:`softhard.studies.table` lists them); each resulting
config is then split
into *runs*: one (task, :class:`~softhard.student.Student`) pair. A run's id is the hash of its resolved
single-student config (``name`` and ``out_dir`` left out), so re-expanding a spec gives the same
ids whatever the grid order, and two sweeps that contain the same student share its run.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from softhard.config import (
    ConfigModel,
    DataConfig,
    inner_model,
    json_digest,
    read_yaml,
    set_dotted,
    validate,
    validate_with_overrides,
)
from softhard.errors import ConfigError
from softhard.student import Student
from softhard.student_grid import GRID_FIELDS
from softhard.sweep.study import sweepable

StudyConfig = Any
"""The config of a sweepable study (its model: :attr:`~.study.SweepStudy.config`)."""

_NOT_IN_ID = ("name", "out_dir", "cache_dir")
# fields of a single-student config that do not change how its task is prepared and trained
# together with others (see group_key): the student grid's, one Student per run.
_PER_STUDENT = GRID_FIELDS


class SweepSpec(ConfigModel):
    """A sweep: ``base`` (an ExperimentConfig delta) and ``grid`` (dotted field -> values)."""

    kind: Literal["sweep"] = "sweep"
    name: str = Field(..., min_length=1, description="the sweep's name in the run store")
    base: dict[str, Any] = Field(default_factory=dict, description="study config delta (kind)")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="field -> values")

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [k for k, v in grid.items() if not v]
        if empty:
            raise ValueError(f"grid lists must not be empty: {', '.join(empty)}")
        return grid


@dataclass(frozen=True)
class Run:
    """One run of a sweep: a (task, :class:`Student`) pair, with its id and the resolved
    single-student config of its study (one task, width, seed and label mode)."""

    id: str
    config: StudyConfig

    @property
    def task(self) -> DataConfig:
        """The run's task (data, difficulty and data seed)."""
        task: DataConfig = self.config.tasks[0]
        return task

    @property
    def student(self) -> Student:
        """The run's student."""
        c = self.config
        return Student(c.widths[0], c.seeds[0], c.label_modes[0], c.temperature, c.kd_weight)

    @property
    def group_key(self) -> str:
        """Runs with the same key train in one call of ``train_students`` (one bank)."""
        return group_key(self.config)

    def config_json(self) -> str:
        return json.dumps(self.config.model_dump(mode="json"), sort_keys=True)


def load_sweep_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read and validate a sweep spec file (and every run it expands to)."""
    spec: SweepSpec = validate_with_overrides(
        SweepSpec, read_yaml(path), overrides, where=f"sweep spec {path}"
    )
    expand(spec, where=f"sweep spec {path}")  # fail now, before any run starts
    return spec


def expand(spec: SweepSpec, *, where: str | None = None) -> list[Run]:
    """All runs of ``spec`` (unique ids, stable order); a bad grid raises ConfigError."""
    where = where or f"sweep spec {spec.name!r}"
    study = study_class(spec.base, where=f"{where}: base")
    for key in spec.grid:
        _check_path(key, where, study)
    base = validate(study, spec.base, where=f"{where}: base")
    keys = sorted(spec.grid)
    runs: dict[str, Run] = {}
    for values in itertools.product(*(spec.grid[k] for k in keys)):
        data = base.model_dump(mode="json")
        for key, value in zip(keys, values, strict=True):
            try:
                data = _set(data, key, value)
            except ConfigError as err:
                raise ConfigError(f"{where}: {err}.") from None
            except (IndexError, KeyError, TypeError, ValueError) as err:
                raise ConfigError(f"{where}: grid key '{key}' cannot be set ({err}).") from None
        label = ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
        cfg = validate(study, data, where=f"{where}: grid point ({label})")
        for run in split_runs(cfg.model_copy(update={"name": spec.name})):
            runs.setdefault(run.id, run)
    return list(runs.values())


def study_class(data: dict[str, Any], *, where: str) -> type[BaseModel]:
    """The config class of the study that ``data['kind']`` names (``two_layer`` if unset)."""
    return sweepable(data, where=where).config


def split_runs(cfg: StudyConfig) -> list[Run]:
    """One run per task x width x seed x label mode of ``cfg``."""
    tasks, one_task = sweepable({"kind": cfg.kind}, where="split runs").tasks(cfg)
    runs = []
    for task in tasks:
        for mode in cfg.label_modes:
            for width in cfg.widths:
                for seed in cfg.seeds:
                    one = cfg.model_copy(
                        update={
                            "tasks": [task],
                            **one_task,
                            "widths": [width],
                            "seeds": [seed],
                            "label_modes": [mode],
                        }
                    )
                    runs.append(Run(run_id(one), one))
    return runs


def run_id(cfg: StudyConfig) -> str:
    """sha256 of the single-student config without ``name`` and ``out_dir`` (16 hex digits)."""
    data = cfg.model_dump(mode="json", exclude=set(_NOT_IN_ID))
    return json_digest(data)


def group_key(cfg: StudyConfig) -> str:
    """Hash of everything but the per-student fields: same task, teacher, training, dtype."""
    data = cfg.model_dump(mode="json", exclude=set(_NOT_IN_ID + _PER_STUDENT))
    return json_digest(data)


def _check_path(key: str, where: str, study: type[BaseModel]) -> None:
    """A grid key must name a field of the study's config (dotted through sections)."""
    model: Any = study
    parts = key.split(".")
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0:  # an item of a list field (tasks.0.mix)
            continue
        if model is None or part not in model.model_fields:
            allowed = ", ".join(model.model_fields) if model is not None else "(none)"
            where_in = ".".join(parts[:i]) or "the experiment config"
            raise ConfigError(
                f"{where}: grid key '{key}' is not a field: '{part}' is unknown in "
                f"{where_in}; allowed there: {allowed}."
            )
        model = inner_model(model.model_fields[part].annotation)
    if key in ("kind", "name", "out_dir"):
        raise ConfigError(f"{where}: grid key '{key}' cannot vary within a sweep.")


def _set(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Set a dotted key in plain data (``tasks.0.mix``); a bare value of a list field
    (``tasks: digits:3-8``, ``widths: 4``) stands for a one-item list."""
    if key in ("tasks", "widths", "seeds", "label_modes") and not isinstance(value, list):
        value = [value]
    out: dict[str, Any] = set_dotted(data, key, value, where=f"grid key {key!r}")
    return out


__all__ = [
    "Run",
    "StudyConfig",
    "SweepSpec",
    "expand",
    "group_key",
    "load_sweep_spec",
    "run_id",
    "split_runs",
    "study_class",
]
