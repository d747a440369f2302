"""Command-line interface: ``softhard COMMAND``. Each command is a thin layer over the library.

Every module of this package is imported here (it registers its commands on the typer app and the
runners of its kinds in :data:`softhard.cli._options.RUNNERS`), so a new command file needs no
line here.
"""

import importlib
import pkgutil

from softhard.cli._app import app

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["app"]
