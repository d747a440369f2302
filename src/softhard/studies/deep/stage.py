"""The deep study's reproduce stage: the shipped ``deep_digits`` config."""

from __future__ import annotations

from pathlib import Path

from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import run_deep_experiment
from softhard.studies.shipped import load_shipped
from softhard.studies.stage import stage_cache

# quick: the shipped 3 data seeds x 1 student seed, fewer widths and epochs, and a two-rate grid
# (0.05, the former shared rate, and 0.2) in place of the six rates of tune.lrs
QUICK_DEEP = ["widths=[1,4,16]", "train.epochs=6", "teacher.epochs=15", "tune.lrs=[0.05,0.2]"]


def deep_config(quick: bool) -> DeepExperimentConfig:
    """Deep students on embedded digits: the shipped ``deep_digits`` config."""
    return load_shipped("deep_digits", DeepExperimentConfig, QUICK_DEEP if quick else [])


def deep_stage(folder: Path, quick: bool, progress: bool) -> Path:
    """Deep CNN students on embedded digits at three noise levels."""
    cfg = deep_config(quick).model_copy(update={"cache_dir": str(stage_cache(folder, "deep"))})
    return run_deep_experiment(cfg, out_dir=folder, progress=progress)


__all__ = ["QUICK_DEEP", "deep_config", "deep_stage"]
