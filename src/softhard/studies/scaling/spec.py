"""The scaling study's spec (``kind: scaling``): its levels, views, losses, eps rules and quick
delta, and how a spec file is read (:func:`load_scaling_spec`). The design is in docs/scaling.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from softhard.config import ConfigModel as _Model
from softhard.config import (
    DataConfig,
    ExperimentConfig,
    TaskList,
    validate,
)
from softhard.overrides import merge_delta, read_spec_data
from softhard.student import LabelMode
from softhard.studies.scaling import search as S

View = Literal["theorem", "capacity"]
Loss = Literal["theorem", "yardstick"]
EpsRule = Literal["fixed", "quantile", "linear"]
MAX_WIDTH_CAP = 2**14
_SET_BY_STUDY = ("tasks", "widths", "seeds", "label_modes")
_EPS_KEYS = ("soft", "hard", "mixed", "yardstick")


def _default_label_modes() -> list[LabelMode]:
    return ["soft", "hard"]


def _default_views() -> list[View]:
    return ["theorem", "capacity"]


def _default_losses() -> list[Loss]:
    return ["theorem", "yardstick"]


def _default_eps_rules() -> list[EpsRule]:
    return ["fixed", "quantile"]


class TheoremView(_Model):
    """The theorem view's horizon ``T(eps) = ceil(k / eps)``, constants per loss (keys as in
    ``eps``: soft, hard, mixed for the theorem losses, yardstick): the first constant of each list
    is the primary, the others refit the same runs for the identification check. The losses have
    different scales (KL, logistic), so each has its own constants."""

    constants: dict[str, list[float]] = Field(
        default_factory=lambda: {
            "soft": [20.0, 40.0],
            "hard": [100.0, 200.0],
            "mixed": [50.0, 100.0],
            "yardstick": [100.0, 200.0],
        }
    )

    @field_validator("constants")
    @classmethod
    def _positive(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, ks in value.items():
            if key not in _EPS_KEYS:
                raise ValueError(f"theorem.constants key {key!r} unknown; allowed: {_EPS_KEYS}")
            if not ks or any(not k > 0 for k in ks):
                raise ValueError(f"theorem.constants.{key}: give constants k > 0, got {ks}")
        return value


class CapacityView(_Model):
    """The capacity view's horizon: the best loss over the first ``epochs`` epochs (primary) and
    over the first ``epochs // 2`` (the identification check's second horizon)."""

    epochs: int = Field(4000, ge=2)


class ScalingSpec(_Model):
    """A scaling study (YAML ``kind: scaling``); see the module docstring and docs/scaling.md."""

    kind: Literal["scaling"] = "scaling"
    name: str = Field("scaling", min_length=1)
    levels: TaskList = Field(..., description="difficulty levels (>= 2), one gamma each")
    label_modes: list[LabelMode] = Field(default_factory=_default_label_modes, min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=2)
    eps: dict[str, list[float]] = Field(..., description="fixed eps grid per mode and yardstick")
    min_width: int = Field(2, ge=1)
    max_width: int = Field(1024, ge=2, le=MAX_WIDTH_CAP)
    width_steps: int = Field(4, ge=1, le=64, description="search grid points per doubling")
    views: list[View] = Field(default_factory=_default_views, min_length=1)
    losses: list[Loss] = Field(default_factory=_default_losses, min_length=1)
    theorem: TheoremView = TheoremView()
    capacity: CapacityView = CapacityView()
    eps_rules: list[EpsRule] = Field(default_factory=_default_eps_rules, min_length=1)
    quantiles: list[float] = Field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8], min_length=2)
    n_boot: int = Field(1000, ge=10)
    boot_seed: int = 0
    quick: dict[str, Any] = Field(default_factory=dict, description="spec delta for --quick")
    base: dict[str, Any] = Field(default_factory=dict, description="ExperimentConfig delta")

    @field_validator("levels")
    @classmethod
    def _two_levels(cls, value: list[DataConfig]) -> list[DataConfig]:
        if len(value) < 2:
            raise ValueError(
                f"needs at least 2 difficulty levels (distinct gamma) to fit an exponent, "
                f"got {len(value)}"
            )
        return value

    @field_validator("eps")
    @classmethod
    def _eps(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, grid in value.items():
            if key not in _EPS_KEYS:
                raise ValueError(f"eps key {key!r} is unknown; allowed: {', '.join(_EPS_KEYS)}")
            if not grid:
                raise ValueError(f"eps.{key} is empty; give at least one eps in (0, 1)")
            bad = [e for e in grid if not 0 < e < 1]
            if bad:
                raise ValueError(f"eps.{key}: every eps must be in (0, 1), got {bad}")
        return {k: sorted(set(v), reverse=True) for k, v in value.items()}

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value: list[float]) -> list[float]:
        if any(not 0 < q < 1 for q in value):
            raise ValueError(f"quantiles must be in (0, 1), got {value}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _check(self) -> ScalingSpec:
        if self.max_width < self.min_width:
            raise ValueError(f"max_width {self.max_width} < min_width {self.min_width}")
        needed: list[str] = list(self.label_modes) if "theorem" in self.losses else []
        needed += ["yardstick"] if "yardstick" in self.losses else []
        missing = [k for k in needed if k not in self.eps]
        if missing:
            raise ValueError(f"eps needs a grid for {', '.join(missing)} (the losses studied)")
        missing = [k for k in needed if k not in self.theorem.constants]
        if "theorem" in self.views and missing:
            raise ValueError(f"theorem.constants needs constants for {', '.join(missing)}")
        clash = [k for k in _SET_BY_STUDY if k in self.base]
        clash += ["train.epochs"] if "epochs" in (self.base.get("train") or {}) else []
        if clash:
            raise ValueError(f"base must not set {', '.join(clash)}: the study sets them")
        return self

    def run_epochs(self) -> int:
        """``T_run``: the longest horizon any readout needs (every run trains this long)."""
        horizons = [self.capacity.epochs]
        if "theorem" in self.views and "fixed" in self.eps_rules:
            for key in self.eps_keys():
                horizons += [S.horizon_for(k, min(self.eps[key])) for k in self.constants(key)]
        return max(horizons)

    def eps_keys(self) -> list[str]:
        """The grids in use: each label mode's theorem loss, and the yardstick."""
        keys = list(self.label_modes) if "theorem" in self.losses else []
        return keys + (["yardstick"] if "yardstick" in self.losses else [])

    def constants(self, key: str) -> list[float]:
        """The theorem view's horizon constants for a loss key (``eps`` keys)."""
        return list(self.theorem.constants.get(key, []))

    def grid(self) -> list[int]:
        """The widths the search may evaluate (:func:`scaling_search.width_grid`)."""
        return S.width_grid(self.min_width, self.max_width, self.width_steps)

    def base_config(self) -> ExperimentConfig:
        """The validated base experiment of every run (horizon ``T_run``, with gamma).

        Gamma is always estimated: :func:`prepare_levels` solves it once per level and the runs'
        groups read it back from the margin cache (same data and settings), so every stored row
        carries its level's gamma.
        """
        margin = self.base.get("margin", {})
        if isinstance(margin, dict):  # (the old bool flag is named by validation)
            margin = {**margin, "estimate": True}
        data = {**self.base, "name": self.name, "margin": margin}
        data["train"] = {**(self.base.get("train") or {}), "epochs": self.run_epochs()}
        cfg: ExperimentConfig = validate(ExperimentConfig, data, where="scaling base")
        return cfg

    def resolved(self, quick: bool) -> ScalingSpec:
        """This spec with its ``quick`` delta applied (when ``quick``); ``quick`` then empty."""
        data = self.model_dump(mode="json")
        delta = data.pop("quick")
        if quick:
            data = merge_delta(data, delta)
        return load_scaling_data(data, where=f"scaling spec {self.name!r}" + (" (quick)" * quick))


def load_scaling_data(data: dict[str, Any], *, where: str) -> ScalingSpec:
    """Validate spec data (and its base experiment) as a :class:`ScalingSpec`."""
    spec: ScalingSpec = validate(ScalingSpec, data, where=where)
    spec.base_config()
    return spec


def load_scaling_spec(
    path: str | Path, overrides: list[str] | None = None, *, quick: bool = False
) -> ScalingSpec:
    """Read a spec file; with ``quick`` its ``quick`` delta is applied before ``overrides``."""
    data = read_spec_data(path, overrides, quick=quick)
    return load_scaling_data(data, where=f"scaling spec {path}" + (" (quick)" * quick))
