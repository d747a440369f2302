"""The theorem study's reproduce stage: the shipped ``theorem_digits`` spec."""

from __future__ import annotations

from pathlib import Path

from softhard.config import shipped_configs
from softhard.studies.stage import stage_cache
from softhard.studies.theorem.run import run_theorem
from softhard.studies.theorem.spec import load_theorem_spec


def theorem_stage(folder: Path, quick: bool, progress: bool) -> Path:
    """The bounds at the proof's reference point (``theorem_digits``; its ``quick`` delta with
    ``--quick``)."""
    spec = load_theorem_spec(shipped_configs()["theorem_digits"], quick=quick)
    result = run_theorem(spec, out_dir=folder, cache=stage_cache(folder, "theorem"))
    if result.path is None:
        raise RuntimeError("the theorem study wrote no run folder")
    return result.path


__all__ = ["theorem_stage"]
