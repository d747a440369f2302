"""The motivating experiment (reproduce stage 1): the shipped ``demo`` config, soft vs hard
accuracy and epoch-averaged loss against width at three difficulty levels."""

from __future__ import annotations

from pathlib import Path

from softhard.config import ExperimentConfig
from softhard.studies.shipped import load_shipped
from softhard.studies.stage import stage_cache
from softhard.studies.two_layer import run_experiment

# --quick: the same study with fewer seeds, widths and epochs (never other data or settings).
QUICK_MOTIVATING = ["seeds=[0,1,2]", "widths=[1,2,4,8,16,32,64]", "train.epochs=150"]


def motivating_config(quick: bool) -> ExperimentConfig:
    """The motivating experiment: the shipped ``demo`` config (three difficulty levels)."""
    return load_shipped("demo", ExperimentConfig, QUICK_MOTIVATING if quick else [])


def run_motivating(folder: Path, quick: bool, progress: bool) -> Path:
    """Soft vs hard accuracy and epoch-averaged loss against width at three difficulty levels."""
    cfg = motivating_config(quick)
    result = run_experiment(
        cfg, out_dir=folder, progress=progress, cache=stage_cache(folder, "two_layer")
    )
    assert result.path is not None
    return result.path


__all__ = ["QUICK_MOTIVATING", "motivating_config", "run_motivating"]
