"""Command-line interface: ``softhard COMMAND``. Each command is a thin layer over the library."""

from softhard.cli import compare as _compare  # noqa: F401  (registers commands)
from softhard.cli import margin as _margin  # noqa: F401  (registers commands)
from softhard.cli import report as _report  # noqa: F401  (registers commands)
from softhard.cli import reproduce as _reproduce  # noqa: F401  (registers commands)
from softhard.cli import run as _run  # noqa: F401  (registers commands)
from softhard.cli import scaling as _scaling  # noqa: F401  (registers commands)
from softhard.cli import sweep as _sweep  # noqa: F401  (registers commands)
from softhard.cli import teacher as _teacher  # noqa: F401  (registers commands)
from softhard.cli._app import app

__all__ = ["app"]
