"""One student grid (softhard.student_grid) shared by the two-layer and the deep config: the same
flat keys, bounds and errors in both, each study's own defaults, t2_scaling declared once."""

import pytest

from softhard.config import ExperimentConfig, TrainConfig, validate
from softhard.errors import ConfigError
from softhard.student import Student
from softhard.student_grid import GRID_FIELDS, SoftTermScaling, StudentGrid
from softhard.studies.deep import DeepExperimentConfig
from softhard.studies.deep.config import DeepTrainConfig
from softhard.studies.deep.run import students_of
from softhard.sweep.spec import _PER_STUDENT

CONFIGS = [ExperimentConfig, DeepExperimentConfig]


def test_both_student_configs_are_the_one_grid():
    assert GRID_FIELDS == ("widths", "seeds", "label_modes", "temperature", "kd_weight")
    for model in CONFIGS:
        assert issubclass(model, StudentGrid)
        assert set(GRID_FIELDS) <= set(model.model_fields)
    # the deep config restates only the defaults it changes, nothing of the two-layer's
    own = {f for f in GRID_FIELDS if f in DeepExperimentConfig.__annotations__}
    assert own == {"widths", "temperature", "kd_weight"}
    assert not set(GRID_FIELDS) & set(ExperimentConfig.__annotations__)
    assert _PER_STUDENT == GRID_FIELDS  # one run of a sweep is one student of the grid


def test_t2_scaling_is_declared_once():
    for model in (TrainConfig, DeepTrainConfig):
        assert issubclass(model, SoftTermScaling) and "t2_scaling" not in model.__annotations__
        assert model().t2_scaling is True
        assert model(t2_scaling=False).t2_scaling is False


def test_each_study_keeps_its_defaults():
    two, deep = ExperimentConfig(), DeepExperimentConfig()
    assert (two.widths, two.temperature, two.kd_weight) == ([1, 2, 4, 8, 16, 32, 64], 1.0, 0.5)
    assert (deep.widths, deep.temperature, deep.kd_weight) == ([4, 8, 16, 32], 4.0, 0.9)
    for cfg in (two, deep):
        assert cfg.seeds == [0, 1, 2] and cfg.label_modes == ["soft", "hard"]


@pytest.mark.parametrize("model", CONFIGS)
@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"temperature": 0}, ["'temperature'", "greater than 0"]),
        ({"kd_weight": 1.5}, ["'kd_weight'", "less than or equal to 1"]),
        ({"label_modes": ["kd"]}, ["'label_modes.0'", "'soft', 'hard' or 'mixed'"]),
        ({"seeds": []}, ["'seeds'", "at least 1"]),
        ({"widths": [0, 2]}, ["'widths'", ">= 1"]),
        ({"train": {"t2_scaling": "sometimes"}}, ["'train.t2_scaling'", "boolean"]),
    ],
)
def test_the_same_error_names_the_field_and_the_allowed_values(model, bad, words):
    with pytest.raises(ConfigError) as err:
        validate(model, bad)
    for word in words:
        assert word in str(err.value)


def test_students_of_the_grid():
    cfg = ExperimentConfig(widths=[1, 2], seeds=[0, 1], label_modes=["soft", "mixed"])
    students = cfg.students()
    assert students[0] == Student(1, 0, "soft", 1.0, 0.5)
    assert [s.label_mode for s in students] == ["soft"] * 4 + ["mixed"] * 4  # mode major
    deep = DeepExperimentConfig(widths=[4, 8], seeds=[0], label_modes=["soft", "hard"])
    assert students_of(deep) == deep.students(width_major=True)
    assert [(s.width, s.label_mode) for s in students_of(deep)] == [
        (4, "soft"), (4, "hard"), (8, "soft"), (8, "hard")
    ]  # fmt: skip
    assert {s.temperature for s in students_of(deep)} == {4.0}
