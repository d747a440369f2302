"""softhard: soft-label versus hard-label training of small networks, in experiment and theory."""

from importlib.metadata import PackageNotFoundError, version

from softhard.config import DataConfig, ExperimentConfig, load_config
from softhard.data import Dataset, load_dataset
from softhard.engine import StudentSpec, train_bank
from softhard.errors import ConfigError, DataError, SofthardError
from softhard.ntk import KernelTeacher, MarginEstimate, empirical_ntk, estimate_margin, limiting_ntk
from softhard.theory import crossover, hard_neurons, soft_neurons

try:
    __version__ = version("softhard")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataError",
    "Dataset",
    "ExperimentConfig",
    "KernelTeacher",
    "MarginEstimate",
    "SofthardError",
    "StudentSpec",
    "__version__",
    "crossover",
    "empirical_ntk",
    "estimate_margin",
    "hard_neurons",
    "limiting_ntk",
    "load_config",
    "load_dataset",
    "soft_neurons",
    "train_bank",
]
