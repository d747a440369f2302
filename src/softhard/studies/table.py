"""The study table: every study registers here, once, and nowhere else.

One :class:`StudyKind` per ``kind`` of config says everything the generic parts need:

===============  ================================  =============  =======  ===============  ==========
``kind``         config model                      command        sweep    report tables    stages
===============  ================================  =============  =======  ===============  ==========
``two_layer``    ExperimentConfig                  ``run``        yes      results,margins  1, 2
``deep``         DeepExperimentConfig              ``run``        yes      results          5
``sweep``        SweepSpec                         ``sweep``      --       paired           4
``min_width``    MinWidthSpec                      ``min-width``  --       min_width        --
``scaling``      ScalingSpec                       ``scaling``    --       fits             3
``theorem``      TheoremSpec                       ``theorem``    --       theorem_fits     6
===============  ================================  =============  =======  ===============  ==========

Readers: :mod:`softhard.kinds` (loading any config), the sweep machinery
(:data:`softhard.sweep.study.SWEEPABLE`, filled by :func:`register`), the report
(:data:`softhard.report.document.FOLDER_TABLES`, likewise), :mod:`softhard.studies.reproduce`
(:func:`stages`) and the CLI (each command file adds the runner of its kinds to
:data:`softhard.cli._options.RUNNERS`). The generic layers import nothing from here: this module
hands them what they need, so they stay below every study. Adding a study: docs/studies.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

from softhard.config import ExperimentConfig, load_config
from softhard.report.document import (
    FOLDER_TABLES,
    Handler,
    fits_section,
    margins_section,
    min_width_section,
    paired_section,
    results_section,
    theorem_section,
)
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.stage import deep_stage
from softhard.studies.groups import deep_group, deep_tasks, two_layer_group, two_layer_tasks
from softhard.studies.margins import margins_stage
from softhard.studies.min_width import MinWidthSpec, load_min_width_spec
from softhard.studies.motivating import run_motivating
from softhard.studies.regimes import regimes_stage
from softhard.studies.scaling.spec import ScalingSpec, load_scaling_spec
from softhard.studies.scaling.stage import scaling_stage
from softhard.studies.stage import Stage
from softhard.studies.theorem.spec import TheoremSpec, load_theorem_spec
from softhard.studies.theorem.stage import theorem_stage
from softhard.sweep.spec import SweepSpec, load_sweep_spec
from softhard.sweep.study import SWEEPABLE, SweepStudy

Kind = Literal["two_layer", "deep", "sweep", "min_width", "scaling", "theorem"]
KIND_NAMES: tuple[Kind, ...] = get_args(Kind)

Loader = Callable[[Path, list[str] | None], BaseModel]
"""Reads a config file of one kind with ``--set`` overrides (and checks what the model alone
cannot: a sweep's grid is expanded, a spec's base experiment validated)."""


@dataclass(frozen=True)
class StudyKind:
    """One kind of config: its study's parts, as the generic layers see them.

    Attributes:
        model: the config model (pydantic, ``kind`` field discriminates).
        load: how a file of it is read (:data:`Loader`).
        command: the ``softhard`` command that runs it (``softhard run`` runs every kind).
        sweep: how a sweep trains its runs, if it can be swept.
        reports: (table stem, handler) of each table its run folders hold, for the report.
        stages: its steps of ``softhard reproduce`` (run in order of their names).
    """

    model: type[BaseModel]
    load: Loader
    command: str
    sweep: SweepStudy | None = None
    reports: tuple[tuple[str, Handler], ...] = ()
    stages: tuple[Stage, ...] = ()


def plain_loader(model: type[BaseModel]) -> Loader:
    """The loader of a kind whose model checks everything itself."""

    def load(path: Path, overrides: list[str] | None) -> BaseModel:
        loaded: BaseModel = load_config(path, overrides, model)
        return loaded

    return load


def _scaling_loader(path: Path, overrides: list[str] | None) -> BaseModel:
    return load_scaling_spec(path, overrides)


def _theorem_loader(path: Path, overrides: list[str] | None) -> BaseModel:
    return load_theorem_spec(path, overrides)


_MOTIVATING = Stage(
    "1-motivating", "motivating experiment: soft vs hard against width", run_motivating
)
_MARGINS = Stage(
    "2-margins", "NTK margin gamma per difficulty level, with certificate", margins_stage
)
_SCALING = Stage(
    "3-scaling",
    "scaling study: fitted exponents against the bounds",
    scaling_stage,
    uses_store=True,
)
_REGIMES = Stage(
    "4-regimes", "paired regime map: soft - hard per setting", regimes_stage, uses_store=True
)
_DEEP = Stage("5-deep", "deep students on embedded digits", deep_stage)
_THEOREM = Stage("6-theorem", "the bounds' exponents at the proof's reference point", theorem_stage)

STUDIES: dict[Kind, StudyKind] = {
    "two_layer": StudyKind(
        ExperimentConfig,
        plain_loader(ExperimentConfig),
        "run",
        SweepStudy(ExperimentConfig, two_layer_tasks, two_layer_group),
        (("results", results_section), ("margins", margins_section)),
        (_MOTIVATING, _MARGINS),
    ),
    "deep": StudyKind(
        DeepExperimentConfig,
        plain_loader(DeepExperimentConfig),
        "run",
        SweepStudy(DeepExperimentConfig, deep_tasks, deep_group),
        (("results", results_section),),
        (_DEEP,),
    ),
    "sweep": StudyKind(
        SweepSpec,
        load_sweep_spec,
        "sweep",
        reports=(("paired", paired_section),),
        stages=(_REGIMES,),
    ),
    "min_width": StudyKind(
        MinWidthSpec,
        load_min_width_spec,
        "min-width",
        reports=(("min_width", min_width_section),),
    ),
    "scaling": StudyKind(
        ScalingSpec,
        _scaling_loader,
        "scaling",
        reports=(("fits", fits_section),),
        stages=(_SCALING,),
    ),
    "theorem": StudyKind(
        TheoremSpec,
        _theorem_loader,
        "theorem",
        reports=(("theorem_fits", theorem_section),),
        stages=(_THEOREM,),
    ),
}
"""Every kind of config and its study's parts (see the module docstring)."""


def register(kind: str, study: StudyKind) -> None:
    """Put ``study`` in the table under ``kind`` and hand its parts to the generic layers (the
    sweep machinery and the report). Called for every entry of :data:`STUDIES` on import."""
    STUDIES[kind] = study  # type: ignore[index]  # a kind outside Kind: a study added at run time
    if study.sweep is not None:
        SWEEPABLE[kind] = study.sweep
    for stem, handler in study.reports:
        FOLDER_TABLES.setdefault(stem, handler)


def unregister(kind: str) -> None:
    """Take ``kind`` out of the table and the generic layers (tests that add a study)."""
    study = STUDIES.pop(kind, None)  # type: ignore[call-overload]
    SWEEPABLE.pop(kind, None)
    stems = {stem for stem, _ in study.reports} if study is not None else set()
    still = {stem for s in STUDIES.values() for stem, _ in s.reports}
    for stem in stems - still:
        FOLDER_TABLES.pop(stem, None)


def stages() -> list[Stage]:
    """Every study's reproduce stages, in order of their names (``1-...``, ``2-...``)."""
    return sorted((st for s in STUDIES.values() for st in s.stages), key=lambda st: st.name)


for _kind, _study in list(STUDIES.items()):
    register(_kind, _study)

__all__ = [
    "KIND_NAMES",
    "STUDIES",
    "Kind",
    "Loader",
    "StudyKind",
    "plain_loader",
    "register",
    "stages",
    "unregister",
]
