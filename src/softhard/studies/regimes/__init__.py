"""The regimes study: paired soft-against-hard comparisons over a grid of settings
(:mod:`.compare` the paired statistics, :mod:`.plot` the heat maps and the comparison folder)."""

from softhard.studies.regimes.compare import load_results, paired_compare, varying_axes
from softhard.studies.regimes.plot import write_comparison

__all__ = ["load_results", "paired_compare", "varying_axes", "write_comparison"]
