"""One dataset with its difficulty settings (:class:`DataConfig`), task lists and width lists
(re-exported by :mod:`softhard.config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    model_validator,
)

from softhard.config_base import ConfigModel, Source
from softhard.errors import ConfigError
from softhard.validation import validate


class DataConfig(ConfigModel):
    """One dataset with its difficulty settings (one "difficulty level" of an experiment).

    The pipeline (see :mod:`softhard.data`): load the source and pick the binary task, split
    train/test with ``seed``, mix classes (``mix``), add Gaussian input noise (``noise``),
    centre and project onto the unit sphere (``normalize``), flip training labels (``flip``).
    """

    source: Source = "digits"
    task: str = Field("0-1", description="'a-b' digit pair, 'odd-even', 'low-high' or 'all'")
    path: str | None = Field(None, description="mnist: folder of IDX files; file: .npz or .csv")
    label_column: str | None = Field(None, description="file (.csv): name of the label column")
    noise: float = Field(0.0, ge=0.0, description="std sigma of additive Gaussian input noise")
    flip: float = Field(0.0, ge=0.0, le=0.5, description="rate r of training-label flips")
    mix: float = Field(0.0, ge=0.0, le=0.5, description="class mixing lambda (1/2: inseparable)")
    normalize: bool = Field(True, description="centre and project onto the unit sphere")
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    max_train: int | None = Field(None, ge=2, description="subsample the training set")
    seed: int = Field(0, description="seed of the split and of every difficulty transform")
    n_samples: int = Field(1000, ge=4, description="synthetic: number of examples")
    dim: int = Field(16, ge=1, description="synthetic: input dimension")
    separation: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="synthetic: every point has |<u, x>| >= separation (the difficulty knob)",
    )
    label: str | None = Field(None, description="display name; derived from the settings if None")
    student_max_train: int | None = Field(
        None,
        ge=2,
        description="the student trains on a seeded nested subset of this many training examples; "
        "the teacher on the whole training split (None: both on the same set)",
    )

    renamed_keys: ClassVar[dict[str, str]] = {
        "margin": "the synthetic source's difficulty knob is now 'separation' (every "
        "point has |<u, x>| >= separation), e.g. synthetic,dim=16,separation=0.1; "
        "'margin' names only the NTK margin gamma (the top-level 'margin' section)"
    }

    @model_validator(mode="after")
    def _student_subset_fits(self) -> DataConfig:
        n, m = self.student_max_train, self.max_train
        if n is not None and m is not None and n > m:
            raise ValueError(
                f"student_max_train ({n}) must be <= max_train ({m}): the student's examples are "
                "a subset of the teacher's training split"
            )
        return self

    @property
    def display(self) -> str:
        """The name used in tables and plots."""
        if self.label:
            return self.label
        parts = [f"{self.source}:{self.task}" if self.source != "file" else f"file:{self.path}"]
        if self.source == "synthetic":
            parts = [f"synthetic:d={self.dim},separation={self.separation:g}"]
        if self.source == "file":  # the base name and the options that pick the data
            chosen = [k for k in ("task", "label_column") if k in self.model_fields_set]
            options = [f"{k}={getattr(self, k)}" for k in chosen if getattr(self, k) is not None]
            parts = [f"file:{Path(self.path or '').name}", *options]
        for knob in ("mix", "noise", "flip"):
            value = getattr(self, knob)
            if value:
                parts.append(f"{knob}={value:g}")
        if self.student_max_train is not None:
            parts.append(f"student_n={self.student_max_train}")
        return " ".join(parts)

    @classmethod
    def parse(cls, spec: str) -> DataConfig:
        """Parse a dataset spec string: ``SOURCE[:TASK][,key=value...]``.

        Examples: ``digits:3-8``, ``digits:3-8,mix=0.3,noise=0.1``, ``mnist:0-1,path=data/mnist``,
        ``synthetic,n_samples=500,dim=20,separation=0.05``, ``file:data.csv,label_column=y``.
        For ``file`` the part after the colon is the path.
        """
        head, *rest = [p.strip() for p in spec.split(",")]
        source, _, task = head.partition(":")
        fields: dict[str, Any] = {"source": source}
        if task:
            fields["path" if source == "file" else "task"] = task
        for item in rest:
            key, eq, value = item.partition("=")
            if not eq:
                raise ConfigError(
                    f"dataset spec {spec!r}: {item!r} is not of the form key=value; "
                    f"keys: {', '.join(cls.model_fields)}"
                )
            fields[key.strip()] = yaml.safe_load(value)
        parsed: DataConfig = validate(cls, fields, where=f"dataset spec {spec!r}")
        return parsed


def parse_task_specs(value: Any) -> Any:
    """Turn dataset spec strings in a list of tasks into :class:`DataConfig` objects."""
    if isinstance(value, list):
        return [DataConfig.parse(v) if isinstance(v, str) else v for v in value]
    return value


def _sorted_positive(value: list[int]) -> list[int]:
    bad = [w for w in value if w < 1]
    if bad:
        raise ValueError(f"every width must be >= 1, got {bad}")
    return sorted(set(value))


TaskList = Annotated[list[DataConfig], BeforeValidator(parse_task_specs)]
"""A list of tasks given as :class:`DataConfig` mappings or spec strings (``digits:3-8,mix=0.3``)."""

Widths = Annotated[list[int], AfterValidator(_sorted_positive)]
"""Widths >= 1, sorted, without repeats."""
