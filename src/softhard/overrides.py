"""Dotted ``--set`` overrides, validation that blames the override at fault, and config digests
(re-exported by :mod:`softhard.config`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from softhard.data_config import DataConfig
from softhard.errors import ConfigError
from softhard.validation import format_validation_error
from softhard.yaml_files import read_yaml


def config_digest(model: BaseModel) -> str:
    """sha256 of the model's canonical JSON, 16 hex digits."""
    return json_digest(model.model_dump(mode="json"))


def json_digest(data: Any, length: int = 16) -> str:
    """sha256 of plain data's canonical JSON (sorted keys), the first ``length`` hex digits."""
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (value parsed as YAML; list items by index, ``tasks.0.mix``)."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for item in overrides:
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key.path=value")
        set_dotted(data, key.strip(), yaml.safe_load(raw), where=f"override {item!r}")
    return data


def set_dotted(data: Any, key: str, value: Any, *, where: str = "config") -> Any:
    """Set ``value`` at a dotted ``key`` of plain data, in place; returns ``data``.

    Missing sections are created, list items are addressed by index (``tasks.0.mix``) and a
    dataset spec string on the way is expanded into a mapping so that one field can be set.
    """
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        node = _descend(node, part, parts[: i + 1], where)
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, where)] = value
    else:
        node[last] = value
    return data


def _descend(node: Any, part: str, path: list[str], where: str) -> Any:
    key: Any = _index(node, part, where) if isinstance(node, list) else part
    if isinstance(node, dict) and node.get(key) is None:
        node[key] = {}
    if isinstance(node[key], str) and ":" in node[key]:  # a dataset spec string: expand it
        node[key] = DataConfig.parse(node[key]).model_dump(mode="json", exclude_defaults=True)
    if not isinstance(node[key], dict | list):
        raise ConfigError(f"{where}: '{'.'.join(path)}' is a value, not a section")
    return node[key]


def _index(node: list[Any], part: str, where: str) -> int:
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise ConfigError(f"{where}: '{part}' is not an index of a {len(node)}-item list")
    return int(part)


def validate_with_overrides(
    model_cls: type[BaseModel], raw: dict[str, Any], overrides: list[str] | None, *, where: str
) -> Any:
    """Validate ``raw`` with ``--set`` ``overrides`` applied; an error names its source.

    An invalid field that an override set is reported as that override (``--set 'widths=[0]'``),
    not as the file; so is any error the file alone does not have.
    """
    data = apply_overrides(raw, overrides or [])
    try:
        return model_cls.model_validate(data)
    except ValidationError as err:
        blamed = _blamed_overrides(err, model_cls, raw, overrides or [])
        if blamed:
            where = f"{', '.join(f'--set {o!r}' for o in blamed)} (applied to {where})"
        raise ConfigError(format_validation_error(err, model_cls, where)) from None


def _blamed_overrides(
    err: ValidationError, model_cls: type[BaseModel], raw: dict[str, Any], overrides: list[str]
) -> list[str]:
    """The overrides whose dotted key leads to (or lies under) a failing field's location."""
    if not overrides:
        return []
    locs = [tuple(str(p) for p in e["loc"]) for e in err.errors()]
    hits = []
    for item in overrides:
        parts = tuple(item.partition("=")[0].strip().split("."))
        if any(loc[: len(parts)] == parts or (loc and parts[: len(loc)] == loc) for loc in locs):
            hits.append(item)
    if hits:
        return hits
    try:  # no field matches (a cross-field check): blame the overrides if the file alone is valid
        model_cls.model_validate(raw)
    except ValidationError:
        return []
    return list(overrides)


def merge_delta(data: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``delta`` laid over it, mappings merged key by key (a new dict)."""
    out = dict(data)
    for key, value in delta.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_delta(out[key], value)
        else:
            out[key] = value
    return out


def read_spec_data(
    path: str | Path, overrides: list[str] | None = None, *, quick: bool = False
) -> dict[str, Any]:
    """A spec file's data: read, its ``quick`` section laid over the rest (with ``quick``; else
    kept as it is), then the ``--set`` ``overrides`` applied."""
    data = read_yaml(path)
    if quick:
        rest = {k: v for k, v in data.items() if k != "quick"}
        data = merge_delta(rest, data.get("quick") or {})
    return apply_overrides(data, overrides or [])
