"""Options shared by several commands, and the one place that turns executor options into an
:class:`~softhard.sweep.ExecutorConfig` (built once here, then handed down unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from softhard.config import validate
from softhard.errors import ConfigError
from softhard.kinds import resolve_config_path
from softhard.sweep.executor_config import DEFAULT_LEASE, ExecutorConfig, ExecutorKind

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="override a config field: dotted.key=value (YAML value)"),
]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="folder for run folders")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
StoreOption = Annotated[
    Path | None, typer.Option("--store", help="sweep folder holding softhard.sqlite [runs/sweeps]")
]
ExecutorOption = Annotated[str, typer.Option("--executor", help="local (processes) or ray")]
RayOption = Annotated[str | None, typer.Option("--ray-address", help="Ray cluster address")]
LeaseOption = Annotated[
    float,
    typer.Option(
        "--lease",
        help="seconds a claimed run stays reserved without a heartbeat (a dead driver's runs "
        "are free again after it) [300]",
    ),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="parallel workers [core count]")
]
GroupSizeOption = Annotated[
    int | None, typer.Option("--group-size", help="most runs sent to a worker at once")
]
RetryOption = Annotated[bool, typer.Option("--retry-failed", help="train failed runs again")]


@dataclass(frozen=True)
class RunOptions:
    """What a command line says about *how* to run a config (its kind's runner reads it).

    ``out``: folder for run folders; ``store``: the run store of sweeps; ``executor``: where the
    runs of a sweep, min-width search or scaling study train (built once by
    :func:`executor_config`); ``retry_failed``: train a sweep's failed runs again.
    """

    out: Path | None = None
    store: Path | None = None
    quiet: bool = False
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    retry_failed: bool = False


Runner = Callable[[Any, RunOptions], None]
"""Runs a loaded config of one kind and prints what it found."""

RUNNERS: dict[str, Runner] = {}
"""kind -> its runner: each command file adds the runners of the kinds it runs (``softhard run``
runs a config of any kind with it; the kinds: :data:`softhard.studies.table.STUDIES`)."""


def executor_config(
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    group_size: int | None = None,
    lease: float = DEFAULT_LEASE,
) -> ExecutorConfig:
    """The command line's executor options as one validated :class:`ExecutorConfig`."""
    kinds: tuple[ExecutorKind, ...] = ("local", "ray")
    if executor not in kinds:
        raise ConfigError(f"--executor must be 'local' or 'ray', got {executor!r}")
    data = {
        "kind": executor,
        "workers": workers,
        "ray_address": ray_address,
        "group_size": group_size,
        "lease": lease,
    }
    result: ExecutorConfig = validate(ExecutorConfig, data, where="the executor options")
    return result


__all__ = [
    "RUNNERS",
    "ExecutorOption",
    "GroupSizeOption",
    "LeaseOption",
    "OutOption",
    "QuietOption",
    "RayOption",
    "RetryOption",
    "RunOptions",
    "Runner",
    "SetOption",
    "StoreOption",
    "WorkersOption",
    "executor_config",
    "resolve_config_path",
]
