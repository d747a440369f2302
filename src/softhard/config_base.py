"""The base of every config model (unknown keys rejected, frozen), renamed-key errors and the
Literal types the config models validate against (re-exported by :mod:`softhard.config`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    model_validator,
)
from pydantic_core import PydanticCustomError

from softhard.validation import RENAMED_ERROR

Source = Literal["digits", "mnist1d", "mnist", "synthetic", "file", "cifar10"]
Optimizer = Literal["gd", "sgd", "adam"]
Init = Literal["plain", "symmetric"]
Signs = Literal["random", "balanced"]
Device = Literal["cpu", "cuda", "auto"]
DType = Literal["float32", "float64"]
TeacherKind = Literal["network", "kernel", "logits"]
Engine = Literal["bank", "loop"]


class ConfigModel(BaseModel):
    """The base of every config model: unknown keys are rejected and a loaded config is frozen.

    A model whose keys were renamed lists them in ``renamed_keys`` (old key -> a sentence naming
    its replacement); the old key then gets that sentence as its error (:func:`reject_renamed`)
    instead of "unknown key".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    renamed_keys: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        return reject_renamed(data, cls.renamed_keys)


def reject_renamed(data: Any, renamed: dict[str, str]) -> Any:
    """Raise a ``renamed_key`` error if ``data`` (a mapping) holds one of ``renamed``'s old keys.

    ``renamed`` maps each old key to a sentence naming its replacement; the error is reported by
    :func:`format_validation_error` as one clear sentence instead of "unknown key".
    """
    if isinstance(data, dict):
        for old, replacement in renamed.items():
            if old in data:
                raise PydanticCustomError(
                    RENAMED_ERROR,
                    "the key '{old}' was renamed: {replacement}",
                    {"old": old, "replacement": replacement},
                )
    return data
