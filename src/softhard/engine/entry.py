"""A bank entry: one :class:`~softhard.student.Student` of a bank with the targets it trains on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from softhard.errors import ConfigError
from softhard.models.two_layer import Init, Signs
from softhard.student import LabelMode, Student
from softhard.targets import Targets, student_targets

__all__ = ["BankEntry"]


@dataclass(frozen=True)
class BankEntry:
    """One student of a bank and the targets it trains on.

    Attributes:
        student: the :class:`~softhard.student.Student` (its width and seed pick the network:
            the same one as ``TwoLayerReLU(dim, width, seed=seed, init=init, signs=signs)``).
        targets: its training targets; their kd_weight and temperature are the student's
            (:meth:`of` builds them from the student's label mode).
        init, signs: initialisation (see :func:`~softhard.models.two_layer.init_two_layer`).
        lr: its learning rate; None means ``cfg.lr``.
        weight: optional first-layer weights ``(width, dim)`` to start from instead of the
            seeded draw (the readout signs still come from ``seed``; a projection with
            ``rho`` is then around these weights): continues an earlier training.
        reference: optional point U ``(width, dim)`` whose online-GD inequality is logged
            (full-batch gd at temperature 1; the curves of :data:`softhard.inequality.
            INEQUALITY_COLUMNS`, as the reference loop's ``train_two_layer(reference=U)``).

    Raises:
        ConfigError: targets whose kd_weight or temperature are not the student's.
    """

    student: Student
    targets: Targets
    init: Init = "plain"
    signs: Signs = "balanced"
    lr: float | None = None
    weight: torch.Tensor | None = None
    reference: torch.Tensor | None = None

    def __post_init__(self) -> None:
        s, t = self.student, self.targets
        if t.soft_weight != s.soft_weight or t.temperature != s.temperature:
            raise ConfigError(
                f"a bank entry's targets (soft_weight {t.soft_weight}, temperature {t.temperature}) "
                f"must be those of its student ({s.label_mode}: soft_weight {s.soft_weight}, "
                f"temperature {s.temperature}); build them with BankEntry.of or "
                "softhard.targets.student_targets."
            )

    @property
    def width(self) -> int:
        return self.student.width

    @property
    def seed(self) -> int:
        return self.student.seed

    @classmethod
    def of(
        cls,
        student: Student,
        y_pm: torch.Tensor,
        teacher_logits: torch.Tensor | None,
        *,
        t2_scaling: bool = True,
        init: Init = "plain",
        signs: Signs = "balanced",
        lr: float | None = None,
        weight: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
    ) -> BankEntry:
        """The entry of ``student`` with the targets of its label mode
        (:func:`softhard.targets.student_targets`)."""
        targets = student_targets(student, y_pm, teacher_logits, t2_scaling=t2_scaling)
        return cls(student, targets, init, signs, lr, weight, reference)

    @classmethod
    def from_targets(
        cls,
        width: int,
        seed: int,
        targets: Targets,
        *,
        init: Init = "plain",
        signs: Signs = "balanced",
        lr: float | None = None,
        weight: torch.Tensor | None = None,
    ) -> BankEntry:
        """The entry of given targets (labels of one's own, e.g. noisy ones); its student's
        label mode is read off their kd_weight (0 hard, 1 soft, else mixed)."""
        w = targets.soft_weight
        mode: LabelMode = "hard" if w == 0.0 else "soft" if w == 1.0 else "mixed"
        student = Student(width, seed, mode, targets.temperature, w if mode == "mixed" else 0.5)
        return cls(student, targets, init, signs, lr, weight)
