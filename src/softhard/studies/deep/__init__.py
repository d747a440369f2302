"""Deep students (CIFAR-style ResNets, VGGs, small CNNs) trained with soft or hard labels.

Public API: :class:`DeepExperimentConfig`, :func:`run_deep_experiment`, the model table (from :mod:`softhard.models`)
:data:`MODELS` with :func:`build_model`, :func:`train_model` and :class:`TeacherCache`.
"""

from softhard.models.table import MODELS, Arch, build_model, count_parameters
from softhard.studies.deep.config import (
    DeepExperimentConfig,
    DeepStudentConfig,
    DeepTeacherConfig,
    DeepTrainConfig,
)
from softhard.studies.deep.run import run_deep_experiment, summarize_deep
from softhard.studies.deep.train import DeepTrainResult, train_model
from softhard.teachers.cache import CachedLogits, TeacherCache, teacher_hash

__all__ = [
    "MODELS",
    "Arch",
    "CachedLogits",
    "DeepExperimentConfig",
    "DeepStudentConfig",
    "DeepTeacherConfig",
    "DeepTrainConfig",
    "DeepTrainResult",
    "TeacherCache",
    "build_model",
    "count_parameters",
    "run_deep_experiment",
    "summarize_deep",
    "teacher_hash",
    "train_model",
]
