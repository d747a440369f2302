"""Config files: reading a YAML mapping and the configs shipped in the package (split out of
softhard.config, which re-exports both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from softhard.config_paths import resolve_data_paths, resolve_teacher_paths
from softhard.errors import ConfigError


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing or malformed file is a :class:`ConfigError`. Relative data
    and teacher paths in it are resolved against the file's folder (:mod:`softhard.config_paths`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, not {type(data).__name__}"
        )
    folder = path.resolve().parent
    resolved: dict[str, Any] = resolve_teacher_paths(resolve_data_paths(data, folder), folder)
    return resolved


def shipped_configs() -> dict[str, Path]:
    """The configs shipped in the package, by name (file stem)."""
    folder = Path(__file__).parent / "configs"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


__all__ = ["read_yaml", "shipped_configs"]
