"""The minimum-width study (``kind: min_width``): the fewest neurons whose mean-over-seeds metric
reaches eps (:mod:`.search` the spec and the search, :mod:`.run` the driver that writes its
folder)."""

from softhard.studies.min_width.run import run_min_width, write_min_width
from softhard.studies.min_width.search import (
    MinWidthResult,
    MinWidthSpec,
    load_min_width_spec,
    min_width_search,
    resampled_min_widths,
)

__all__ = [
    "MinWidthResult",
    "MinWidthSpec",
    "load_min_width_spec",
    "min_width_search",
    "resampled_min_widths",
    "run_min_width",
    "write_min_width",
]
