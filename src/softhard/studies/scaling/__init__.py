"""The scaling study: the minimum width against gamma and eps, fitted and held against the theory's
exponents (:mod:`.spec` the spec, :mod:`.levels` the prepared levels, :mod:`.run` the study, :mod:`.tables` its tables, :mod:`.search` the min-width search on shared curves, :mod:`.fit`
the log-linear fits, :mod:`.report` the run folder and figures)."""

from softhard.studies.scaling.fit import ScalingFit, fit_scaling
from softhard.studies.scaling.run import ScalingResult, run_scaling
from softhard.studies.scaling.spec import ScalingSpec, load_scaling_spec

__all__ = [
    "ScalingFit",
    "ScalingResult",
    "ScalingSpec",
    "fit_scaling",
    "load_scaling_spec",
    "run_scaling",
]
