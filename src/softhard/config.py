"""Typed configuration: pydantic v2 models with defaults in code; YAML files are small deltas.

Every model forbids unknown keys. :func:`load_config` reads YAML, applies dotted ``--set``
overrides and turns any validation failure into a :class:`~softhard.errors.ConfigError` whose
message names the field and the allowed values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from softhard.config_paths import file_digest as file_digest
from softhard.errors import ConfigError
from softhard.student import LabelMode, Student
from softhard.validation import RENAMED_ERROR as RENAMED_ERROR
from softhard.validation import format_validation_error as format_validation_error
from softhard.validation import inner_model as inner_model
from softhard.validation import validate as validate
from softhard.yaml_files import read_yaml as read_yaml
from softhard.yaml_files import shipped_configs as shipped_configs

Source = Literal["digits", "mnist1d", "mnist", "synthetic", "file", "cifar10"]
Optimizer = Literal["gd", "sgd", "adam"]
Init = Literal["plain", "symmetric"]
Signs = Literal["random", "balanced"]
Device = Literal["cpu", "cuda", "auto"]
DType = Literal["float32", "float64"]
TeacherKind = Literal["network", "kernel", "logits"]
Engine = Literal["bank", "loop"]


class ConfigModel(BaseModel):
    """The base of every config model: unknown keys are rejected and a loaded config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        return reject_renamed(
            data,
            {
                "margin": "the synthetic source's difficulty knob is now 'separation' (every "
                "point has |<u, x>| >= separation), e.g. synthetic,dim=16,separation=0.1; "
                "'margin' names only the NTK margin gamma (the top-level 'margin' section)"
            },
        )

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


StopRule = Literal["epochs", "val_loss", "val_acc", "train_tol"]


class TeacherStop(ConfigModel):
    """When a network teacher stops training (see ``docs/teachers-and-yardstick.md``).

    ``epochs``: exactly ``teacher.epochs`` epochs on the whole training set (no hold-out).
    ``val_acc``: as ``val_loss`` below, but the kept check is the one with the best validation
    accuracy, ties broken by the lower validation loss (patience counts from its last
    improvement). ``val_loss``: hold out a seeded ``val_fraction`` of the training set, train on the rest and
    check the validation logistic loss every ``check_every`` epochs; stop when it has not
    improved for ``patience`` epochs or at ``max_epochs``, and keep the weights of the best
    check. ``train_tol``: the same hold-out, but stop when the training loss changed by less
    than ``tol`` (relative) over the last ``check_every`` epochs; keep the last weights.
    """

    rule: StopRule = "epochs"
    patience: int = Field(500, ge=1, description="val_loss: epochs without improvement")
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="held-out share of train")
    tol: float = Field(1e-3, gt=0.0, description="train_tol: relative change per check")
    max_epochs: int = Field(5000, ge=1, description="cap on epochs (val_loss, train_tol)")
    check_every: int = Field(50, ge=1, description="epochs between checks")


class TeacherCandidate(ConfigModel):
    """One teacher to try: settings that replace the teacher's own (None: keep them)."""

    width: int | None = Field(None, ge=1)
    lr: float | None = Field(None, gt=0.0)
    max_epochs: int | None = Field(None, ge=1, description="the stop rule's cap (horizon)")


class TeacherReference(ConfigModel):
    """The cheap hard-label reference a teacher candidate must not be significantly worse
    than on validation (two-layer students trained on the teacher's fit part)."""

    widths: Widths = Field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64], min_length=1)
    epochs: int = Field(500, ge=1)
    lr: float = Field(1.0, gt=0.0)


class TeacherConfig(ConfigModel):
    """The teacher whose logits give the soft labels sigmoid(F(x) / T).

    With ``candidates`` (network teachers, a validation stop rule) each candidate is tried in
    order and the search stops at the first one that is not significantly worse (exact McNemar
    at ``weak_alpha``) than the hard-label ``reference`` on validation (``try_all``: train every
    candidate); the teacher kept is the best of those tried on validation accuracy, ties broken
    by validation loss. ``calibrate`` fits one temperature to the validation NLL.
    """

    kind: TeacherKind = Field(
        "network", description="'network': wide two-layer net; 'kernel'; 'logits': from a file"
    )
    width: int = Field(4096, ge=1)
    epochs: int = Field(300, ge=1, description="network teacher, stop.rule 'epochs': epochs")
    stop: TeacherStop = TeacherStop()
    lr: float = Field(1.0, gt=0.0)
    seed: int = Field(12345, description="network teacher: seed of its initialisation")
    beta: float | None = Field(None, gt=0.0, description="kernel teacher: logit scale (1/gamma)")
    candidates: list[TeacherCandidate] = Field(
        default_factory=list, description="teachers to try, in order (see TeacherConfig)"
    )
    try_all: bool = Field(False, description="train every candidate, not only until one is strong")
    reference: TeacherReference = TeacherReference()
    weak_alpha: float = Field(0.05, gt=0.0, lt=1.0, description="level of the McNemar test")
    calibrate: bool = Field(False, description="fit one temperature to the validation NLL")
    path: str | None = Field(
        None, description="kind 'logits': .npz of teacher logits (relative to the config file)"
    )
    sha256: str | None = Field(
        None,
        description="kind 'logits': the file's content digest (16 hex digits), filled in when a "
        "config file is loaded; a changed file is refused and keys new stored runs",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        return reject_renamed(
            data,
            {
                "num_directions": "the directions of the NTK margin estimate (which a kernel "
                "teacher is built from) are set in the top-level section 'margin': write "
                "margin: {num_directions: K}"
            },
        )

    @model_validator(mode="after")
    def _logits_need_a_path(self) -> TeacherConfig:
        if (self.kind == "logits") != (self.path is not None) or (
            self.sha256 is not None and self.kind != "logits"
        ):
            raise ValueError(
                "teacher.kind 'logits' reads the teacher's logits from teacher.path (a .npz "
                "file, see docs/teachers-and-yardstick.md); give both, or neither"
            )
        return self

    @model_validator(mode="after")
    def _selection_needs_validation(self) -> TeacherConfig:
        wants = [k for k in ("candidates", "calibrate") if getattr(self, k)]
        if wants and (self.kind != "network" or self.stop.rule == "epochs"):
            raise ValueError(
                f"teacher.{wants[0]} needs a network teacher with a validation split: set "
                "teacher.stop.rule to val_acc (or val_loss, train_tol)"
            )
        return self


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


class TrainConfig(ConfigModel):
    """The training loop: full-batch GD (optionally projected), mini-batch SGD or Adam."""

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
    t2_scaling: bool = Field(True, description="multiply the soft (KL) term by T^2 (Hinton)")
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
    reported (:mod:`softhard.tuning`). Test data never choose anything.
    """

    lrs: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
        min_length=1,
        description="learning-rate grid, the same for every label mode",
    )
    val_fraction: float | None = Field(
        None, gt=0.0, lt=1.0, description="held-out share of train [teacher.stop.val_fraction]"
    )
    early_stop: bool = Field(True, description="choose the stopping epoch t <= e (else t = e)")

    @field_validator("lrs")
    @classmethod
    def _positive_sorted(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError(f"every tune.lrs rate must be > 0, got {value}")
        return sorted(set(value))


def soft_and_hard() -> list[LabelMode]:
    """The default label modes: soft and hard."""
    return ["soft", "hard"]


class ExperimentConfig(ConfigModel):
    """A soft-vs-hard width sweep of two-layer students over one or more difficulty levels."""

    kind: Literal["two_layer"] = "two_layer"
    name: str = "experiment"
    tasks: TaskList = Field(default_factory=lambda: [DataConfig()], min_length=1)
    teacher: TeacherConfig = TeacherConfig()
    student: StudentConfig = StudentConfig()
    train: TrainConfig = TrainConfig()
    widths: Widths = Field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    label_modes: list[LabelMode] = Field(default_factory=soft_and_hard, min_length=1)
    temperature: float = Field(1.0, gt=0.0)
    kd_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the soft term (mixed)")
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

    def students(self) -> list[Student]:
        """Every width x seed x label mode as a :class:`~softhard.student.Student`, label mode
        major, then width, then seed (a single-student config gives one)."""
        return [
            Student(w, s, mode, self.temperature, self.kd_weight)
            for mode in self.label_modes
            for w in self.widths
            for s in self.seeds
        ]

    def task_list(self) -> list[DataConfig]:
        """The tasks to run: each task at each of ``data_seeds`` (task-major), or as given."""
        if self.data_seeds is None:
            return list(self.tasks)
        return [t.model_copy(update={"seed": s}) for t in self.tasks for s in self.data_seeds]


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


def load_config(
    path: str | Path, overrides: list[str] | None = None, model_cls: type[BaseModel] | None = None
) -> Any:
    """Load a YAML config as ``model_cls`` (default :class:`ExperimentConfig`) with overrides."""
    model_cls = model_cls or ExperimentConfig
    raw = read_yaml(path)
    return validate_with_overrides(model_cls, raw, overrides, where=f"config {path}")


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
