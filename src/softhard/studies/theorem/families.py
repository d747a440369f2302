"""The families of levels the reference-point study measures, each level with its certified margin.

- ``tasks``: dataset levels (the digits mixing family): beta = 1/gamma per level;
- ``beta_sweep``: one dataset, several teacher scales beta (soft labels only: the hard loss does
  not depend on beta);
- ``orthonormal``: n orthonormal points with alternating labels, gamma_n = (1/n) E sqrt(B),
  B ~ Binomial(n, 1/2) (docs/theory.md, closed form 5);
- ``two_point``: two unit vectors at angle theta with opposite labels, gamma = ((pi - theta)/(2 pi))
  sqrt((1 - cos theta)/2) + theta/(2 pi) (closed form 4 with s = -1).

A level whose margin is not certified positive (lower bound <= 0: the data are not separable by the
kernel) is refused: the bounds do not apply to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field
from scipy.stats import binom

from softhard.config import ConfigModel, DataConfig, TaskList
from softhard.data import load_dataset
from softhard.errors import ConfigError
from softhard.ntk import MarginEstimate, cached_margin

__all__ = [
    "Family",
    "Level",
    "orthonormal_gamma",
    "prepare_family",
    "two_point_gamma",
]


Mode = Literal["soft", "hard"]


def _both_modes() -> list[Mode]:
    return ["soft", "hard"]


class Family(ConfigModel):
    """One family of levels (see the module docstring); ``name`` labels its rows and figures."""

    name: str = Field(..., min_length=1)
    kind: Literal["tasks", "beta_sweep", "orthonormal", "two_point"]
    levels: TaskList = Field(default_factory=list, description="tasks: one level each")
    task: str | None = Field(None, description="beta_sweep: the one dataset")
    betas: list[float] = Field(default_factory=list, description="beta_sweep: teacher scales")
    sizes: list[int] = Field(default_factory=list, description="orthonormal: numbers of points")
    angles: list[float] = Field(default_factory=list, description="two_point: angles (radians)")
    modes: list[Mode] = Field(default_factory=_both_modes)

    def check(self) -> Family:
        """The fields its kind needs, with a clear message naming them."""
        need = {"tasks": "levels", "beta_sweep": "betas", "orthonormal": "sizes"}
        field = need.get(self.kind, "angles")
        if len(getattr(self, field)) < 2:
            raise ValueError(f"family {self.name!r} ({self.kind}) needs >= 2 {field}")
        if self.kind == "beta_sweep" and (self.task is None or "hard" in self.modes):
            raise ValueError(f"family {self.name!r}: a beta_sweep needs task and modes: [soft]")
        if any(b <= 0 for b in self.betas) or any(n < 1 for n in self.sizes):
            raise ValueError(f"family {self.name!r}: betas must be > 0 and sizes >= 1")
        if any(not 0 < t <= math.pi for t in self.angles):
            raise ValueError(f"family {self.name!r}: angles must be in (0, pi]")
        return self


@dataclass(frozen=True)
class Level:
    """One data set: its margin estimate, teacher scales beta (one per soft curve; a beta sweep
    has several) and the closed-form gamma (if any)."""

    family: str
    name: str
    x: torch.Tensor
    y: torch.Tensor
    estimate: MarginEstimate
    betas: tuple[float, ...]
    modes: tuple[str, ...]
    gamma_closed: float = math.nan

    @property
    def gamma(self) -> float:
        return self.estimate.gamma


def orthonormal_gamma(n: int) -> float:
    """gamma_n = (1/n) E[sqrt(B)], B ~ Binomial(n, 1/2) (docs/theory.md, closed form 5)."""
    return float(sum(binom.pmf(k, n, 0.5) * math.sqrt(k) for k in range(n + 1))) / n


def two_point_gamma(theta: float) -> float:
    """gamma of two unit vectors at angle theta with opposite labels (closed form 4, s = -1)."""
    return (math.pi - theta) / (2 * math.pi) * math.sqrt((1 - math.cos(theta)) / 2) + theta / (
        2 * math.pi
    )


def _orthonormal(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(n)], dtype=torch.float64)
    return torch.eye(n, dtype=torch.float64), y


def _two_point(theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor([[1.0, 0.0], [math.cos(theta), math.sin(theta)]], dtype=torch.float64)
    return x, torch.tensor([1.0, -1.0], dtype=torch.float64)


def _task_data(task: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    ds = load_dataset(task)
    if ds.num_classes != 2:
        raise ConfigError(f"theorem: task {task.display} is not binary; pick two classes (a-b).")
    x, _ = ds.flat()
    return x.to(torch.float64), ds.y_train_pm.to(torch.float64)


def certified(estimate: MarginEstimate, family: str, name: str) -> MarginEstimate:
    """``estimate`` if its lower bound is positive; else a ConfigError (the bounds do not apply)."""
    if not estimate.lower > 0:
        raise ConfigError(
            f"theorem: level {name!r} of family {family!r} has no certified positive NTK margin "
            f"(lower bound {estimate.lower:.3g}, upper bound {estimate.upper:.3g}): the data are "
            "not separable by the kernel, so the neuron bounds do not apply to it. Remove the "
            "level (or make it separable) and run again."
        )
    return estimate


def prepare_family(
    family: Family, *, num_directions: int, seed: int, cache: Path | None = None
) -> list[Level]:
    """The levels of ``family``, each with a certified margin (cached on disk)."""

    def margin(x: torch.Tensor, y: torch.Tensor, name: str) -> MarginEstimate:
        est = cached_margin(x, y, num_directions=num_directions, seed=seed, cache=cache)
        return certified(est, family.name, name)

    modes = tuple(family.modes)
    levels: list[Level] = []
    if family.kind in ("tasks", "beta_sweep"):
        tasks = family.levels if family.kind == "tasks" else [DataConfig.parse(family.task or "")]
        for task in tasks:
            x, y = _task_data(task)
            est = margin(x, y, task.display)
            betas = tuple(family.betas) if family.kind == "beta_sweep" else (1.0 / est.gamma,)
            levels.append(Level(family.name, task.display, x, y, est, betas, modes))
    elif family.kind == "orthonormal":
        for n in family.sizes:
            x, y = _orthonormal(n)
            est = margin(x, y, f"n={n}")
            closed = orthonormal_gamma(n)
            levels.append(Level(family.name, f"n={n}", x, y, est, (1 / est.gamma,), modes, closed))
    else:
        for theta in family.angles:
            x, y = _two_point(theta)
            est = margin(x, y, f"theta={theta:g}")
            closed = two_point_gamma(theta)
            name = f"theta={theta:.3g}"
            levels.append(Level(family.name, name, x, y, est, (1 / est.gamma,), modes, closed))
    return levels
