"""One student: the one type for a network to train, in every study, sweep and engine.

A :class:`Student` says *which* network to train and *on what kind of target*: its width, its
seed, its label mode, the distillation temperature and the soft-term weight. It holds no data
and no tensors, so it hashes, compares and serialises like a value; the task (data, teacher) is
given beside it. The label mode decides the soft-term weight in exactly one place,
:func:`resolve_kd_weight`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

LabelMode = Literal["soft", "hard", "mixed"]
LABEL_MODES: tuple[LabelMode, ...] = get_args(LabelMode)


def resolve_kd_weight(label_mode: str, kd_weight: float = 0.5) -> float:
    """The weight of the soft (KL) term: 1 for ``soft``, 0 for ``hard``, ``kd_weight`` for ``mixed``.

    Raises:
        ValueError: an unknown label mode (the message lists the allowed ones).
    """
    if label_mode == "soft":
        return 1.0
    if label_mode == "hard":
        return 0.0
    if label_mode == "mixed":
        if not 0.0 <= kd_weight <= 1.0:
            raise ValueError(f"kd_weight must be in [0, 1], got {kd_weight}")
        return float(kd_weight)
    raise ValueError(f"label_mode must be one of {list(LABEL_MODES)}, got {label_mode!r}")


@dataclass(frozen=True)
class Student:
    """A student network to train: width, seed, label mode, temperature and kd_weight.

    Attributes:
        width: hidden neurons m (two-layer) or base width (deep students).
        seed: seed of its initialisation (and of its SGD batch order where that is per student).
        label_mode: ``soft`` (teacher's soft labels), ``hard`` (true labels) or ``mixed``.
        temperature: T of the teacher's soft labels and of the student's ``sigmoid(f / T)``.
        kd_weight: the soft-term weight of a ``mixed`` student (ignored by soft and hard).
    """

    width: int
    seed: int
    label_mode: LabelMode
    temperature: float = 1.0
    kd_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        resolve_kd_weight(self.label_mode, self.kd_weight)  # checks both

    @property
    def soft_weight(self) -> float:
        """The resolved weight of the soft term (see :func:`resolve_kd_weight`)."""
        return resolve_kd_weight(self.label_mode, self.kd_weight)
