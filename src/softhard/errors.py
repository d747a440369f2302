"""Error types. Every error a user can cause is a :class:`SofthardError` with a one-paragraph message.

The CLI prints the message of a ``SofthardError`` (no traceback) and exits with status 2.
"""

from __future__ import annotations


class SofthardError(Exception):
    """Base class for errors caused by input (config, data files, arguments)."""


class ConfigError(SofthardError, ValueError):
    """A config file or override is invalid; the message names the field and the allowed values."""


class DataError(SofthardError, ValueError):
    """A dataset cannot be built: a missing or corrupt file, an unknown class, an empty class."""


class ResourceError(ConfigError):
    """A config needs more memory than the machine has available (see :mod:`softhard.resources`)."""
