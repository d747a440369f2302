"""softhard: soft-label versus hard-label training of small networks, in experiment and theory."""

from importlib.metadata import PackageNotFoundError, version

from softhard.config import DataConfig, ExperimentConfig, load_config
from softhard.data import Dataset, load_dataset
from softhard.errors import ConfigError, DataError, SofthardError

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
    "SofthardError",
    "__version__",
    "load_config",
    "load_dataset",
]
