"""A shipped config, with ``--set`` style overrides, as a validated model (used by the stages)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from softhard.config import apply_overrides, read_yaml, shipped_configs, validate

M = TypeVar("M", bound=BaseModel)


def load_shipped(name: str, model: type[M], overrides: list[str]) -> M:
    """The shipped config ``name`` with ``overrides``, validated as ``model``."""
    path = shipped_configs()[name]
    loaded: M = validate(model, apply_overrides(read_yaml(path), overrides), where=f"config {path}")
    return loaded


__all__ = ["load_shipped"]
