"""Typed configuration: pydantic v2 models with defaults in code; YAML files are small deltas.

Every model forbids unknown keys. :func:`load_config` reads YAML, applies dotted ``--set``
overrides and turns any validation failure into a :class:`~softhard.errors.ConfigError` whose
message names the field and the allowed values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from softhard.config_base import ConfigModel as ConfigModel
from softhard.config_base import Device as Device
from softhard.config_base import DType as DType
from softhard.config_base import Engine as Engine
from softhard.config_base import Init as Init
from softhard.config_base import Optimizer as Optimizer
from softhard.config_base import Signs as Signs
from softhard.config_base import Source as Source
from softhard.config_base import TeacherKind as TeacherKind
from softhard.config_base import reject_renamed as reject_renamed
from softhard.config_paths import file_digest as file_digest
from softhard.data_config import DataConfig as DataConfig
from softhard.data_config import TaskList as TaskList
from softhard.data_config import Widths as Widths
from softhard.data_config import parse_task_specs as parse_task_specs
from softhard.overrides import apply_overrides as apply_overrides
from softhard.overrides import config_digest as config_digest
from softhard.overrides import json_digest as json_digest
from softhard.overrides import set_dotted as set_dotted
from softhard.overrides import validate_with_overrides as validate_with_overrides
from softhard.student_grid import SoftTermScaling, StudentGrid
from softhard.student_grid import soft_and_hard as soft_and_hard
from softhard.teacher_config import StopRule as StopRule
from softhard.teacher_config import TeacherCandidate as TeacherCandidate
from softhard.teacher_config import TeacherConfig as TeacherConfig
from softhard.teacher_config import TeacherReference as TeacherReference
from softhard.teacher_config import TeacherStop as TeacherStop
from softhard.validation import RENAMED_ERROR as RENAMED_ERROR
from softhard.validation import format_validation_error as format_validation_error
from softhard.validation import inner_model as inner_model
from softhard.validation import validate as validate
from softhard.yaml_files import read_yaml as read_yaml
from softhard.yaml_files import shipped_configs as shipped_configs

DEFAULT_NUM_DIRECTIONS = 4096
"""The one default number K of directions z_k of the NTK margin estimate: MarginConfig, the
kernel teacher, :func:`softhard.ntk.cached_margin`, :func:`softhard.ntk.estimate_margin` and
``softhard margin`` (docs/margin.md)."""

DEFAULT_MARGIN_SEED = 12345
"""The one default seed of those directions, shared by MarginConfig, the kernel teacher,
:func:`softhard.ntk.cached_margin`, :func:`softhard.ntk.estimate_margin` and ``softhard margin``
(the configs' value since they gained a ``margin`` section; docs/margin.md)."""


class MarginConfig(ConfigModel):
    """The NTK margin gamma of each task's training set (docs/theory.md section 2).

    :func:`softhard.ntk.estimate_margin` solves the margin problem over ``num_directions``
    random directions z_k drawn with ``seed``. With ``estimate`` every task's gamma is estimated
    (and reported beside the results); a kernel teacher, built from the estimate's solution,
    always needs it and uses these settings too.
    """

    estimate: bool = Field(True, description="estimate the NTK margin gamma of every task")
    num_directions: int = Field(
        DEFAULT_NUM_DIRECTIONS, ge=16, description="directions z_k of the estimate (K)"
    )
    seed: int = Field(DEFAULT_MARGIN_SEED, description="seed of the directions z_k")


class StudentConfig(ConfigModel):
    """The two-layer ReLU student of docs/theory.md section 1."""

    init: Init = "plain"
    signs: Signs = "balanced"


def _epochs_value(value: Any) -> Any:
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError("train.epochs must be a whole number >= 1 or 'auto'")


class AutoEpochs(ConfigModel):
    """``train.epochs: auto``: double T from ``start`` until the epoch-averaged loss of the
    widest students (mean over seeds, every label mode) changes by less than ``rtol``
    (relative) from T/2 to T, or T reaches ``cap`` (see ``docs/teachers-and-yardstick.md``)."""

    start: int = Field(500, ge=2, description="first horizon T tried")
    cap: int = Field(8000, ge=2, description="largest horizon T")
    rtol: float = Field(0.05, gt=0.0, lt=1.0, description="relative change that counts as settled")

    @model_validator(mode="after")
    def _cap_at_least_start(self) -> AutoEpochs:
        if self.cap < self.start:
            raise ValueError(
                f"train.auto.cap ({self.cap}) must be >= train.auto.start ({self.start})"
            )
        return self


class ModeLrs(ConfigModel):
    """A learning rate per label mode; a mode left out uses ``train.lr``."""

    soft: float | None = Field(None, gt=0.0)
    hard: float | None = Field(None, gt=0.0)
    mixed: float | None = Field(None, gt=0.0)


class TrainConfig(SoftTermScaling):
    """The training loop: full-batch GD (optionally projected), mini-batch SGD or Adam
    (``t2_scaling``: :class:`~softhard.student_grid.SoftTermScaling`, shared with deep)."""

    optimizer: Optimizer = "gd"
    lr: float = Field(1.0, gt=0.0)
    epochs: Annotated[int | Literal["auto"], BeforeValidator(_epochs_value)] = Field(
        200, description="number of epochs T, or 'auto' (see train.auto)"
    )
    auto: AutoEpochs = AutoEpochs()
    batch_size: int | None = Field(None, ge=1, description="sgd/adam mini-batch; None: full")
    rho: float | None = Field(
        None, gt=0.0, description="project each w_s onto ||w_s - w_s(0)|| <= rho/sqrt(m)"
    )
    lr_by_mode: ModeLrs | None = Field(
        None, description="learning rate per label mode ({soft: .., hard: ..}); others use lr"
    )
    match_steps: bool = Field(
        False,
        description="give soft/mixed students the hard arm's effective step size: "
        "lr_hard * s(T), s = 1 with t2_scaling, T^2 without (see student_lr)",
    )

    @model_validator(mode="after")
    def _lrs_consistent(self) -> TrainConfig:
        lrs = self.lr_by_mode.model_dump(exclude_none=True) if self.lr_by_mode else {}
        clash = [m for m in ("soft", "mixed") if m in lrs]
        if self.match_steps and clash:
            raise ValueError(
                f"match_steps=true sets the lr of {' and '.join(clash)} students from the hard "
                f"arm's; drop lr_by_mode.{clash[0]} or set match_steps=false"
            )
        return self

    def student_lr(self, label_mode: str, temperature: float) -> float:
        """The learning rate of a student of ``label_mode`` at temperature T.

        ``lr_by_mode[mode]`` if given, else ``lr``. With ``match_steps`` a soft or mixed student
        gets the hard arm's *effective* step size instead: the curvature of the soft objective in
        the logit f is ``sigmoid'(f/T)`` with ``t2_scaling`` (the same bound, 1/4, as the
        logistic loss) and ``sigmoid'(f/T) / T^2`` without it, so its lr is ``lr_hard`` with
        ``t2_scaling`` and ``lr_hard * T^2`` without (docs/regimes.md, "step sizes").
        """
        lrs: dict[str, float] = (
            self.lr_by_mode.model_dump(exclude_none=True) if self.lr_by_mode else {}
        )
        hard = lrs.get("hard", self.lr)
        if label_mode == "hard":
            return hard
        if self.match_steps:
            return hard if self.t2_scaling else hard * temperature**2
        return lrs.get(label_mode, self.lr)


class TuneConfig(ConfigModel):
    """Each label mode at its own best step size and stopping epoch, chosen on validation data.

    Every student trains once per rate of ``lrs`` (one bank) on the training split minus a
    seeded validation part (the teacher's: ``validation_split`` with ``teacher.seed`` and
    ``val_fraction``, default ``teacher.stop.val_fraction``). For each horizon e the rate and
    the stopping epoch t <= e with the best validation accuracy (ties: lower validation loss,
    then the earlier epoch and the smaller rate) are chosen; the test accuracy there is
    reported (:mod:`softhard.tuning`). With ``temperatures`` every student whose targets have a
    temperature (soft, mixed) also trains at each of them, and the pair (temperature, rate)
    is chosen together; the hard arm has no temperature. Test data never choose anything.
    """

    lrs: list[float] = Field(
        default_factory=lambda: [0.25 * 2**i for i in range(16)],  # 0.25 .. 8192
        min_length=1,
        description="learning-rate grid, the same for every label mode",
    )
    val_fraction: float | None = Field(
        None, gt=0.0, lt=1.0, description="held-out share of train [teacher.stop.val_fraction]"
    )
    early_stop: bool = Field(True, description="choose the stopping epoch t <= e (else t = e)")
    temperatures: list[float] | None = Field(
        None,
        min_length=1,
        description="the soft arm's temperature grid, chosen on validation with the rate "
        "[the config's temperature]",
    )

    @field_validator("lrs")
    @classmethod
    def _positive_sorted(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError(f"every tune.lrs rate must be > 0, got {value}")
        return sorted(set(value))

    @field_validator("temperatures")
    @classmethod
    def _positive_temperatures(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(v <= 0 for v in value):
            raise ValueError(f"every tune.temperatures value must be > 0, got {value}")
        return None if value is None else sorted(set(value))


class ExperimentConfig(StudentGrid):
    """A soft-vs-hard width sweep of two-layer students over one or more difficulty levels.

    The students (``widths``, ``seeds``, ``label_modes``, ``temperature``, ``kd_weight``) are
    the :class:`~softhard.student_grid.StudentGrid` the deep config shares; its defaults are
    this study's."""

    kind: Literal["two_layer"] = "two_layer"
    name: str = "experiment"
    tasks: TaskList = Field(default_factory=lambda: [DataConfig()], min_length=1)
    teacher: TeacherConfig = TeacherConfig()
    student: StudentConfig = StudentConfig()
    train: TrainConfig = TrainConfig()
    engine: Engine = "bank"
    device: Device = "cpu"
    dtype: DType = "float64"
    margin: MarginConfig = Field(
        default_factory=MarginConfig, description="the NTK margin gamma (see MarginConfig)"
    )
    out_dir: str = "runs"
    data_seeds: list[int] | None = Field(
        None,
        min_length=1,
        description="run every task at each of these data seeds (replaces the task's seed)",
    )
    tune: TuneConfig | None = Field(
        None, description="per-arm learning rate and stopping epoch chosen on validation data"
    )

    @field_validator("margin", mode="before")
    @classmethod
    def _margin_flag_moved(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(
                RENAMED_ERROR,
                "the flag 'margin: true|false' is now 'margin: {estimate: {flag}}' (the "
                "section also holds num_directions and seed of the NTK margin estimate)",
                {"old": "", "flag": str(value).lower()},
            )
        return value

    @model_validator(mode="after")
    def _symmetric_needs_even(self) -> ExperimentConfig:
        if self.student.init == "symmetric":
            odd = [w for w in self.widths if w % 2]
            if odd:
                raise ValueError(f"student.init='symmetric' pairs neurons: odd widths {odd}")
        return self

    @model_validator(mode="after")
    def _tune_not_with_mode_lrs(self) -> ExperimentConfig:
        if self.tune is not None and (self.train.lr_by_mode or self.train.match_steps):
            raise ValueError(
                "tune chooses every arm's learning rate from tune.lrs on validation data; drop "
                "train.lr_by_mode and train.match_steps, or set tune: null for fixed rates"
            )
        return self

    def val_fraction(self) -> float | None:
        """The students' validation share with ``tune`` (the teacher's by default), else None."""
        if self.tune is None:
            return None
        return self.tune.val_fraction or self.teacher.stop.val_fraction

    def digest(self) -> str:
        """A stable hash of the resolved config (16 hex digits)."""
        return config_digest(self)

    def task_list(self) -> list[DataConfig]:
        """The tasks to run: each task at each of ``data_seeds`` (task-major), or as given."""
        if self.data_seeds is None:
            return list(self.tasks)
        return [t.model_copy(update={"seed": s}) for t in self.tasks for s in self.data_seeds]


def load_config(
    path: str | Path, overrides: list[str] | None = None, model_cls: type[BaseModel] | None = None
) -> Any:
    """Load a YAML config as ``model_cls`` (default :class:`ExperimentConfig`) with overrides."""
    model_cls = model_cls or ExperimentConfig
    raw = read_yaml(path)
    return validate_with_overrides(model_cls, raw, overrides, where=f"config {path}")
