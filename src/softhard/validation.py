"""Validating config data: one clear paragraph per invalid config (split out of softhard.config,
which re-exports every name here)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from softhard.errors import ConfigError

RENAMED_ERROR = "renamed_key"
"""The pydantic error type of a key that was renamed (its message names the replacement)."""


def validate(model_cls: type[BaseModel], data: Any, *, where: str = "config") -> Any:
    """Validate ``data`` as ``model_cls``; raise :class:`ConfigError` naming fields and choices."""
    try:
        return model_cls.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, model_cls, where)) from None


def format_validation_error(err: ValidationError, model_cls: type[BaseModel], where: str) -> str:
    """One paragraph: each bad field by its dotted path, what was wrong and what is allowed."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == RENAMED_ERROR:  # the message names the replacement
            old = ".".join(str(p) for p in (*e["loc"], e["ctx"]["old"]) if p != "")
            msg = f"key '{old}' is no longer accepted: " + e["msg"].partition(": ")[2]
            if e["msg"].startswith("the flag"):
                msg = f"field '{old}': {e['msg']}"
        elif e["type"] == "extra_forbidden":
            allowed = _allowed_keys(model_cls, e["loc"][:-1])
            msg = f"unknown key '{loc}'"
            if allowed:
                msg += f"; allowed keys there: {', '.join(allowed)}"
        else:
            msg = f"field '{loc}': {e['msg']}"
            if "input" in e and not isinstance(e["input"], dict | list):
                msg += f" (got {e['input']!r})"
        lines.append(msg.removesuffix("."))
    return f"{where} is invalid: " + "; ".join(lines) + "."


def _allowed_keys(model_cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model_cls
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = inner_model(field.annotation)
    return list(current.model_fields) if current is not None else []


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field annotation (``X``, ``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    return None


__all__ = ["RENAMED_ERROR", "format_validation_error", "inner_model", "validate"]
