"""Where the runs of a sweep train: :class:`ExecutorConfig` (moved here from softhard.config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from softhard.config import ConfigModel

ExecutorKind = Literal["local", "ray"]
DEFAULT_LEASE = 300.0
"""Seconds a claimed run stays reserved without a heartbeat (:class:`ExecutorConfig`)."""


class ExecutorConfig(ConfigModel):
    """Where the runs of a sweep, min-width search or scaling study train: one object, built once
    (by the CLI from ``--executor``, ``--workers``, ``--ray-address``, ``--group-size`` and
    ``--lease``) and handed down unchanged to the run loop and the executor.

    ``local``: a pool of ``workers`` spawned processes (default: the core count; 1 trains in this
    process). ``ray``: Ray tasks on the cluster at ``ray_address`` (default: a local Ray, or the
    one already running), ``workers`` at a time (default: the cluster's CPUs).
    """

    kind: ExecutorKind = Field("local", description="'local' (processes) or 'ray'")
    workers: int | None = Field(None, ge=1, description="parallel workers [core count]")
    ray_address: str | None = Field(None, description="ray: the cluster's address")
    group_size: int | None = Field(None, ge=1, description="most runs sent to a worker at once")
    lease: float = Field(
        DEFAULT_LEASE,
        gt=0.0,
        description="seconds a claimed run stays reserved without a heartbeat (a dead driver's "
        "runs are free again after it)",
    )


__all__ = ["DEFAULT_LEASE", "ExecutorConfig", "ExecutorKind"]
