"""The student grid both student configs share, and the soft term's τ² factor of their training.

:class:`StudentGrid` holds the students of a study: widths x seeds x label modes at one
temperature τ and one mixed-mode weight. The two-layer config
(:class:`~softhard.config.ExperimentConfig`) and the deep config
(:class:`~softhard.studies.deep.DeepExperimentConfig`) are both a ``StudentGrid``, so the keys stay
flat at the top of their YAML (``widths: [...]``, ``temperature: 4``), each field is declared
with its bounds and its description once (the types below), and a study with other defaults
gives the field's type a new default and nothing else. :meth:`StudentGrid.students` turns the
grid into :class:`~softhard.student.Student` values, the one student type.

:class:`SoftTermScaling` is the one field both ``train`` sections share: ``t2_scaling``,
Hinton's τ² on the soft (KL) term of the training objective.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from softhard.config_base import ConfigModel
from softhard.data_config import Widths as Widths
from softhard.student import LabelMode, Student

Temperature = Annotated[
    float, Field(gt=0.0, description="τ of the teacher's soft labels and the student's output")
]
"""The distillation temperature τ > 0 (``temperature``)."""

MixedWeight = Annotated[
    float,
    Field(ge=0.0, le=1.0, description="weight of the soft term of 'mixed' (soft: 1, hard: 0)"),
]
"""The mixed-mode weight in [0, 1] (``kd_weight``); the resolved weight is ``soft_weight``."""

Seeds = Annotated[list[int], Field(min_length=1, description="student seeds")]
"""The students' initialisation seeds (at least one)."""

LabelModes = Annotated[
    list[LabelMode], Field(min_length=1, description="label modes: soft, hard, mixed")
]
"""The label modes trained (at least one)."""


def soft_and_hard() -> list[LabelMode]:
    """The default label modes: soft and hard."""
    return ["soft", "hard"]


class StudentGrid(ConfigModel):
    """Widths x seeds x label modes, at one temperature τ and one mixed-mode weight.

    ``label_modes``: ``soft`` trains on the teacher's soft labels (soft weight 1), ``hard`` on
    the labels (0), ``mixed`` on ``kd_weight * [τ²] KL + (1 - kd_weight) * hard`` (docs/theory.md
    section 2). The defaults are the two-layer study's; the deep study gives its own.
    """

    widths: Widths = Field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32, 64],
        min_length=1,
        description="student widths (hidden neurons, or a deep student's base width)",
    )
    seeds: Seeds = Field(default_factory=lambda: [0, 1, 2])
    label_modes: LabelModes = Field(default_factory=soft_and_hard)
    temperature: Temperature = 1.0
    kd_weight: MixedWeight = 0.5

    def students(self, *, width_major: bool = False) -> list[Student]:
        """Every width x seed x label mode as a :class:`~softhard.student.Student`: label mode
        major, then width, then seed; with ``width_major``, width, then seed, then label mode."""
        if width_major:
            return [
                Student(w, s, mode, self.temperature, self.kd_weight)
                for w in self.widths
                for s in self.seeds
                for mode in self.label_modes
            ]
        return [
            Student(w, s, mode, self.temperature, self.kd_weight)
            for mode in self.label_modes
            for w in self.widths
            for s in self.seeds
        ]


class SoftTermScaling(ConfigModel):
    """The field both ``train`` sections share (two-layer and deep): Hinton's τ² factor."""

    t2_scaling: bool = Field(
        True, description="multiply the soft (KL) term of the training objective by τ² (Hinton)"
    )


GRID_FIELDS: tuple[str, ...] = tuple(StudentGrid.model_fields)
"""The grid's keys: one run of a sweep has one value of each (one :class:`Student`)."""

__all__ = [
    "GRID_FIELDS",
    "LabelModes",
    "MixedWeight",
    "Seeds",
    "SoftTermScaling",
    "StudentGrid",
    "Temperature",
    "Widths",
    "soft_and_hard",
]
