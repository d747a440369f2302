"""The regimes study: paired soft-against-hard comparisons over a grid of settings
(:mod:`.compare` the paired statistics, :mod:`.plot` the heat maps and the comparison folder,
:mod:`.run` the driver :func:`compare_runs` and the reproduce stage)."""

from softhard.studies.regimes.compare import load_results, paired_compare, varying_axes
from softhard.studies.regimes.plot import write_comparison
from softhard.studies.regimes.run import compare_runs, regimes_stage

__all__ = [
    "compare_runs",
    "load_results",
    "paired_compare",
    "regimes_stage",
    "varying_axes",
    "write_comparison",
]
