"""Results people can use: run folders, tables and figures."""

from softhard.report.plots import plot_width_sweep
from softhard.report.rundir import (
    environment,
    run_folder,
    write_config,
    write_manifest,
    write_run,
    write_table,
)

__all__ = [
    "environment",
    "plot_width_sweep",
    "run_folder",
    "write_config",
    "write_manifest",
    "write_run",
    "write_table",
]
