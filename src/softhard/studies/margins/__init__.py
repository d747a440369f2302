"""The margins study: the NTK margin gamma of each difficulty level with its primal/dual
certificate (:mod:`.run`: the driver :func:`run_margins`, and the reproduce stage)."""

from softhard.studies.margins.run import margin_rows, margins_stage, run_margins

__all__ = ["margin_rows", "margins_stage", "run_margins"]
