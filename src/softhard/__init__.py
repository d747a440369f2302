"""softhard: soft-label versus hard-label training of small networks, in experiment and theory."""

from softhard._about import __version__
from softhard.config import DataConfig, ExperimentConfig, load_config
from softhard.data import Dataset, load_dataset
from softhard.engine import BankEntry, train_bank
from softhard.errors import ConfigError, DataError, SofthardError
from softhard.models import TwoLayerReLU
from softhard.ntk import KernelTeacher, MarginEstimate, empirical_ntk, estimate_margin, limiting_ntk
from softhard.studies.min_width import load_min_width_spec, min_width_search
from softhard.studies.regimes.compare import paired_compare
from softhard.studies.scaling.fit import ScalingFit, fit_scaling
from softhard.studies.scaling.run import ScalingResult, run_scaling
from softhard.studies.scaling.spec import ScalingSpec, load_scaling_spec
from softhard.studies.table import STUDIES, StudyKind
from softhard.studies.theorem import TheoremSpec, reference_point, run_theorem
from softhard.studies.two_layer import ExperimentResult, prepare_task, run_experiment, summarize
from softhard.sweep import RunStore, load_sweep_spec, run_sweep
from softhard.targets import Targets, make_targets
from softhard.theory import crossover, hard_neurons, soft_neurons
from softhard.train import TrainResult, train_two_layer

__all__ = [
    "STUDIES",
    "BankEntry",
    "ConfigError",
    "DataConfig",
    "DataError",
    "Dataset",
    "ExperimentConfig",
    "ExperimentResult",
    "KernelTeacher",
    "MarginEstimate",
    "RunStore",
    "ScalingFit",
    "ScalingResult",
    "ScalingSpec",
    "SofthardError",
    "StudyKind",
    "Targets",
    "TheoremSpec",
    "TrainResult",
    "TwoLayerReLU",
    "__version__",
    "crossover",
    "empirical_ntk",
    "estimate_margin",
    "fit_scaling",
    "hard_neurons",
    "limiting_ntk",
    "load_config",
    "load_dataset",
    "load_min_width_spec",
    "load_scaling_spec",
    "load_sweep_spec",
    "make_targets",
    "min_width_search",
    "paired_compare",
    "prepare_task",
    "reference_point",
    "run_experiment",
    "run_scaling",
    "run_sweep",
    "run_theorem",
    "soft_neurons",
    "summarize",
    "train_bank",
    "train_two_layer",
]
