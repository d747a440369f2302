"""Every kind of config, told apart by its ``kind`` field: one discriminated union and its table.

===============  =========================================  ===================
``kind``         model                                      command that runs it
===============  =========================================  ===================
``two_layer``    :class:`~softhard.config.ExperimentConfig`  ``softhard run``
``deep``         :class:`~softhard.studies.deep.DeepExperimentConfig`  ``softhard run``
``sweep``        :class:`~softhard.sweep.SweepSpec`          ``softhard sweep``
``min_width``    :class:`~softhard.studies.min_width.MinWidthSpec`  ``softhard min-width``
``scaling``      :class:`~softhard.studies.scaling.ScalingSpec`  ``softhard scaling``
``theorem``      :class:`~softhard.studies.theorem.TheoremSpec`  ``softhard theorem``
===============  =========================================  ===================

A file without ``kind`` is a two-layer experiment. :data:`KINDS` is the study table
(:data:`softhard.studies.table.STUDIES`: each kind's model, its loader, which also checks what
the model alone cannot, and its command); :func:`load_any` reads a file of any kind through it.
:data:`AnyConfig` is the union of the kinds softhard ships (for type checkers, and
:data:`ANY_CONFIG` to validate plain data); a study added to the table loads through
:func:`load_any` without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Discriminator, Tag, TypeAdapter

from softhard.config import ExperimentConfig, shipped_configs
from softhard.errors import ConfigError
from softhard.overrides import read_spec_data
from softhard.studies.deep import DeepExperimentConfig
from softhard.studies.min_width import MinWidthSpec
from softhard.studies.scaling import ScalingSpec
from softhard.studies.table import KIND_NAMES, STUDIES, Kind, StudyKind
from softhard.studies.theorem import TheoremSpec
from softhard.sweep.spec import SweepSpec

KINDS = STUDIES
"""Each kind's model, loader and command: the study table itself."""
KindEntry = StudyKind


def kind_of(data: Any) -> str:
    """The ``kind`` of config data or of a loaded config (``two_layer`` when absent)."""
    if isinstance(data, dict):
        return str(data.get("kind", "two_layer"))
    return str(getattr(data, "kind", "two_layer"))


AnyConfig = Annotated[
    Annotated[ExperimentConfig, Tag("two_layer")]
    | Annotated[DeepExperimentConfig, Tag("deep")]
    | Annotated[SweepSpec, Tag("sweep")]
    | Annotated[MinWidthSpec, Tag("min_width")]
    | Annotated[ScalingSpec, Tag("scaling")]
    | Annotated[TheoremSpec, Tag("theorem")],
    Discriminator(kind_of),
]
"""A config of any kind that softhard ships, discriminated by its ``kind`` field."""

ANY_CONFIG: TypeAdapter[AnyConfig] = TypeAdapter(AnyConfig)


def resolve_config_path(config: str | Path) -> Path:
    """A path, or the name of a shipped config (``softhard configs`` lists them)."""
    path = Path(config)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if str(config) in shipped:
        return shipped[str(config)]
    raise ConfigError(
        f"config {str(config)!r} is neither a file nor a shipped config; shipped configs: "
        f"{', '.join(shipped)}"
    )


def entry_for(kind: str, *, where: str) -> StudyKind:
    """The table entry of ``kind``; an unknown kind is a :class:`ConfigError` naming the kinds."""
    for name, entry in KINDS.items():
        if name == kind:
            return entry
    allowed = ", ".join(f"'{k}'" for k in KINDS)
    raise ConfigError(f"{where}: field 'kind' must be one of {allowed} (got {kind!r}).")


def load_any(config: str | Path, overrides: list[str] | None = None) -> Any:
    """Load a config file (or shipped config name) of any kind, with ``--set`` overrides (an
    :data:`AnyConfig`, or the model of a kind added to the table)."""
    path = resolve_config_path(config)
    data = read_spec_data(path, overrides)
    return entry_for(kind_of(data), where=f"config {path}").load(path, overrides)


def _implied_kind(data: dict[str, Any], kind: Kind) -> str:
    """The kind of a file without ``kind``: ``kind`` if all its keys are fields of that kind's
    model; else ``two_layer`` if all are a two-layer experiment's; else ``kind`` (whose own
    validation then names the keys that do not belong)."""
    keys = set(data) - {"kind"}
    if keys <= set(KINDS[kind].model.model_fields):
        return kind
    return "two_layer" if keys <= set(ExperimentConfig.model_fields) else kind


def expect_kind(config: str | Path, overrides: list[str] | None, kind: Kind) -> Path:
    """The path of ``config`` if it is of ``kind``; otherwise a :class:`ConfigError` that names
    the command for the kind it is (a file without ``kind``: :func:`_implied_kind`)."""
    path = resolve_config_path(config)
    data = read_spec_data(path, overrides)
    found = str(data.get("kind", _implied_kind(data, kind)))
    if found != kind:
        entry = entry_for(found, where=f"config {path}")
        also = "" if entry.command == "run" else f" (or `softhard run {config}`)"
        unsaid = "" if "kind" in data else " (no 'kind' field, and its keys are an experiment's)"
        raise ConfigError(
            f"config {path} is of kind '{found}'{unsaid}, not '{kind}'; run it with "
            f"`softhard {entry.command} {config}`{also}."
        )
    return path


__all__ = [
    "ANY_CONFIG",
    "KINDS",
    "KIND_NAMES",
    "AnyConfig",
    "Kind",
    "KindEntry",
    "entry_for",
    "expect_kind",
    "kind_of",
    "load_any",
    "resolve_config_path",
]
