"""The deep study's reproduce stage: the shipped ``deep_digits`` config."""

from __future__ import annotations

from pathlib import Path

from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import run_deep_experiment
from softhard.studies.shipped import load_shipped
from softhard.studies.stage import stage_cache

QUICK_DEEP = ["seeds=[0,1,2]", "widths=[1,4,16]", "train.epochs=6", "teacher.epochs=15"]


def deep_config(quick: bool) -> DeepExperimentConfig:
    """Deep students on embedded digits: the shipped ``deep_digits`` config."""
    return load_shipped("deep_digits", DeepExperimentConfig, QUICK_DEEP if quick else [])


def deep_stage(folder: Path, quick: bool, progress: bool) -> Path:
    """Deep CNN students on embedded digits at three noise levels."""
    cfg = deep_config(quick).model_copy(update={"cache_dir": str(stage_cache(folder, "deep"))})
    return run_deep_experiment(cfg, out_dir=folder, progress=progress)


__all__ = ["QUICK_DEEP", "deep_config", "deep_stage"]
