"""The theorem study's config (YAML ``kind: theorem``): families, widths, seeds, eps, constants."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS, ConfigModel, validate
from softhard.models.two_layer import Init
from softhard.overrides import read_spec_data
from softhard.studies.theorem.families import Family
from softhard.studies.theorem.gd import GDSettings
from softhard.studies.theorem.reference import HARD_CONSTANT

__all__ = ["ReferenceSettings", "TheoremSpec", "load_theorem_spec"]


def _default_eps() -> dict[str, list[float]]:
    return {"soft": [0.1, 0.03, 0.01, 0.003], "hard": [0.3, 0.1, 0.03, 0.01]}


class ReferenceSettings(ConfigModel):
    """The reference-point part: the width grid 2^min_log2..2^max_log2, seeds, initialisation,
    the teacher's own directions and the hard-label constant c of lambda = c ln(1/eps)/gamma."""

    min_log2_width: int = Field(3, ge=1, le=20)
    max_log2_width: int = Field(15, ge=2, le=20)
    seeds: list[int] = Field(default_factory=lambda: list(range(10)), min_length=2)
    init: Init = "symmetric"
    teacher_directions: int | None = Field(
        None, ge=2, description="K_teacher; None: 32 x the largest width"
    )
    teacher_seed: int = 0
    hard_constant: float = Field(HARD_CONSTANT, gt=0)

    @model_validator(mode="after")
    def _grid(self) -> ReferenceSettings:
        if self.max_log2_width < self.min_log2_width + 1:
            raise ValueError("max_log2_width must exceed min_log2_width (>= 2 widths)")
        return self

    def widths(self) -> list[int]:
        return [2**k for k in range(self.min_log2_width, self.max_log2_width + 1)]

    def num_teacher_directions(self) -> int:
        return self.teacher_directions or 32 * 2**self.max_log2_width


class MarginSettings(ConfigModel):
    """The certified margin of each level (``softhard.ntk.estimate_margin``, cached on disk).
    ``seed`` defaults to the project's one margin seed (``DEFAULT_MARGIN_SEED``); the shipped
    theorem_digits pins 0, the seed its committed results were measured with (docs/theorem.md)."""

    num_directions: int = Field(DEFAULT_NUM_DIRECTIONS, ge=16)
    seed: int = DEFAULT_MARGIN_SEED


class TheoremSpec(ConfigModel):
    """The theorem study (``softhard theorem SPEC``); see docs/theorem.md."""

    kind: Literal["theorem"] = "theorem"
    name: str = Field("theorem", min_length=1)
    families: list[Family] = Field(..., min_length=1)
    reference: ReferenceSettings = ReferenceSettings()
    eps: dict[str, list[float]] = Field(default_factory=_default_eps)
    margin: MarginSettings = MarginSettings()
    gd: GDSettings = GDSettings()
    n_boot: int = Field(1000, ge=10)
    boot_seed: int = 0
    quick: dict[str, Any] = Field(default_factory=dict, description="spec delta for --quick")

    @field_validator("families")
    @classmethod
    def _families(cls, value: list[Family]) -> list[Family]:
        names = [f.name for f in value]
        if len(set(names)) != len(names):
            raise ValueError(f"family names must be distinct, got {names}")
        return [f.check() for f in value]

    @field_validator("eps")
    @classmethod
    def _eps(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, grid in value.items():
            if key not in ("soft", "hard"):
                raise ValueError(f"eps key {key!r} is unknown; allowed: soft, hard")
            if not grid or any(not e > 0 for e in grid):
                raise ValueError(f"eps.{key}: give one or more eps > 0, got {grid}")
            if key == "hard" and any(e >= 1 for e in grid):
                raise ValueError(
                    f"eps.hard: every eps must be < 1 (lambda = c ln(1/eps)/gamma), got {grid}"
                )
        return {k: sorted(set(v), reverse=True) for k, v in value.items()}

    @model_validator(mode="after")
    def _modes_have_eps(self) -> TheoremSpec:
        modes = {m for f in self.families for m in f.modes}
        missing = sorted(modes - set(self.eps))
        if missing:
            raise ValueError(f"eps needs a grid for {', '.join(missing)}")
        unknown = sorted(set(self.gd.families) - {f.name for f in self.families})
        if unknown:
            raise ValueError(f"gd.families names unknown families: {', '.join(unknown)}")
        for soft, hard in self.gd.pairs or []:
            if soft not in self.eps.get("soft", []) or hard not in self.eps.get("hard", []):
                raise ValueError(
                    f"gd.pairs: ({soft:g}, {hard:g}) must pair a soft eps from eps.soft "
                    f"{self.eps.get('soft', [])} with a hard eps from eps.hard "
                    f"{self.eps.get('hard', [])}"
                )
        return self


def load_theorem_spec(
    path: str | Path, overrides: list[str] | None = None, *, quick: bool = False
) -> TheoremSpec:
    """Read a spec file; with ``quick`` its ``quick`` delta is applied before ``overrides``."""
    data = read_spec_data(path, overrides, quick=quick)
    spec: TheoremSpec = validate(
        TheoremSpec, data, where=f"theorem spec {path}" + (" (quick)" * quick)
    )
    return spec
