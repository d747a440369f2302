"""Typed config of a deep soft-vs-hard experiment (``kind: deep`` at the top of the YAML).

Defaults live here; a YAML file is a small delta. Image tasks default to ``normalize: false``
(the unit-sphere projection of the two-layer study is for flat vectors); inputs are instead
standardised per channel with training-set statistics when ``train.standardize`` is true.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from softhard.config import ConfigModel as _Model
from softhard.config import (
    DataConfig,
    Device,
    TuneConfig,
    config_digest,
)
from softhard.models.table import Arch
from softhard.student_grid import MixedWeight, SoftTermScaling, StudentGrid, Temperature, Widths


class DeepTeacherConfig(_Model):
    """The teacher: trained on hard labels with :class:`DeepTrainConfig` except ``epochs``."""

    arch: Arch = "resnet20"
    width: int = Field(32, ge=1)
    epochs: int = Field(30, ge=1)
    seed: int = 12345


class DeepStudentConfig(_Model):
    """The student family; its width is swept by :attr:`DeepExperimentConfig.widths`."""

    arch: Arch = "resnet8"


class DeepTrainConfig(SoftTermScaling):
    """Mini-batch SGD with momentum, weight decay and a cosine learning-rate schedule.

    ``t2_scaling`` (:class:`~softhard.student_grid.SoftTermScaling`, the same key as the
    two-layer ``train.t2_scaling``) applies to the students; the teacher trains on hard labels."""

    lr: float = Field(0.05, gt=0.0, description="peak learning rate")
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(5e-4, ge=0.0)
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: int = Field(0, ge=0, description="linear warm-up before the cosine")
    batch_size: int = Field(128, ge=1)
    epochs: int = Field(30, ge=1)
    augment: bool = Field(False, description="random crop (pad 4) + horizontal flip; 32x32 only")
    standardize: bool = Field(True, description="per-channel mean/std from the training set")
    eval_batch_size: int = Field(1024, ge=1)


class DeepTuneConfig(TuneConfig):
    """Each label mode at its own peak learning rate and stopping epoch, chosen on validation data.

    Mirrors the two-layer ``tune`` (:class:`softhard.config.TuneConfig`): the teacher trains on
    the training split minus a seeded validation part (``validation_split`` with
    ``teacher.seed`` and ``val_fraction``) and is the checkpoint with the best validation
    accuracy (ties: lower validation loss); every student trains on the same part once per rate
    of ``lrs`` (each a full cosine run of ``train.epochs``), and the rate and the epoch with the
    best validation accuracy are chosen (``early_stop``: the best epoch within the run, i.e.
    early stopping on validation; else the last). Test data only report.

    The default grid, 0.0125 to 1.6 in factors of 2, brackets the former shared rate 0.05 by 4x
    below and 32x above: on deep_digits a top of 0.4 held a quarter of the choices, a top of 1.6
    none (results/deep_digits_tuned.json); a chosen rate at either end of the grid is reported
    in the rows (``lr``) and should widen the grid.
    """

    lrs: list[float] = Field(
        default_factory=lambda: [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6],
        min_length=1,
        description="peak learning-rate grid (SGD + momentum + schedule), the same for both arms",
    )
    val_fraction: float | None = Field(
        0.2, gt=0.0, lt=1.0, description="held-out share of the training split (teacher's split)"
    )


class DeepExperimentConfig(StudentGrid):
    """A width sweep of deep students over tasks (noise levels), seeds and label modes.

    The students are the :class:`~softhard.student_grid.StudentGrid` the two-layer config
    shares, with this study's defaults for ``widths``, ``temperature`` and ``kd_weight``.

    ``label_modes``: ``soft`` trains on ``softmax(F/T)`` of the teacher (soft weight 1),
    ``hard`` on the labels (0), ``mixed`` on ``kd_weight * [T^2] KL + (1 - kd_weight) * CE``
    (docs/theory.md section 2; ``train.t2_scaling`` is Hinton's T^2 factor).
    """

    kind: Literal["deep"] = "deep"
    name: str = "deep"
    data_path: str | None = Field(
        None, description="path given to every task that sets none (e.g. the CIFAR-10 folder)"
    )
    tasks: list[DataConfig] = Field(
        default_factory=lambda: [DataConfig(source="digits", task="all", normalize=False)],
        min_length=1,
    )
    teacher: DeepTeacherConfig = DeepTeacherConfig()
    student: DeepStudentConfig = DeepStudentConfig()
    train: DeepTrainConfig = DeepTrainConfig()
    widths: Widths = Field(default_factory=lambda: [4, 8, 16, 32], min_length=1)
    temperature: Temperature = 4.0
    kd_weight: MixedWeight = 0.9
    device: Device = "auto"
    amp: bool = Field(False, description="bfloat16 autocast on CUDA (ignored on CPU)")
    deterministic: bool = Field(True, description="deterministic kernels, no cudnn benchmark")
    cpu_threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads during the run (1 suits tiny CNNs); None: default",
    )
    cache_dir: str | None = Field(
        None,
        description="cache root, teachers in <root>/teachers; None: $SOFTHARD_CACHE or ~/.cache/softhard",
    )
    out_dir: str = "runs"
    data_seeds: list[int] | None = Field(
        None,
        min_length=1,
        description="run every task at each of these data seeds (replaces the task's seed; the "
        "split, the noise and the teacher change with it): the units of replication",
    )
    tune: DeepTuneConfig | None = Field(
        None,
        description="per-arm learning rate and stopping epoch chosen on validation data; None: "
        "every student at train.lr (a fixed shared rate, not a verdict)",
    )

    renamed_keys: ClassVar[dict[str, str]] = {
        "t2_scaling": "it sits under 'train', as in the two-layer configs: write "
        "train: {t2_scaling: true|false}"
    }

    @field_validator("tasks", mode="before")
    @classmethod
    def _image_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        """Parse spec strings; a task that does not set ``normalize`` gets ``normalize: false``
        and one that sets no ``path`` gets ``data_path``."""
        if not isinstance(value, list):
            return value
        data_path = info.data.get("data_path")
        out = []
        for item in value:
            if isinstance(item, str):
                parsed = DataConfig.parse(item)
                item = parsed.model_dump(exclude_unset=True)
            if isinstance(item, dict):
                item = {"normalize": False, **item}
                if data_path is not None and item.get("path") is None:
                    item["path"] = data_path
            out.append(item)
        return out

    def task_list(self) -> list[DataConfig]:
        """Every task, at each of ``data_seeds`` when set (task-major order)."""
        if self.data_seeds is None:
            return list(self.tasks)
        return [t.model_copy(update={"seed": s}) for t in self.tasks for s in self.data_seeds]

    def val_fraction(self) -> float | None:
        """The held-out validation share with ``tune``, else None (no validation split)."""
        return None if self.tune is None else self.tune.val_fraction or 0.2

    def digest(self) -> str:
        """A stable hash of the resolved config (16 hex digits)."""
        return config_digest(self)
