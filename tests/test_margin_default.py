"""One default number of margin directions K everywhere (issue 11: it was 2048 in two places and
4096 in three)."""

import inspect

from typer.testing import CliRunner

import softhard.ntk
from softhard.cli import app
from softhard.config import (
    DEFAULT_NUM_DIRECTIONS,
    ExperimentConfig,
    MarginConfig,
    shipped_configs,
)
from softhard.kinds import load_any
from softhard.ntk import KernelTeacher, cached_margin, estimate_margin


def _default(fn, name="num_directions"):
    return inspect.signature(fn).parameters[name].default


def test_every_default_is_the_one_constant():
    assert softhard.ntk.DEFAULT_NUM_DIRECTIONS == DEFAULT_NUM_DIRECTIONS == 4096
    assert MarginConfig().num_directions == DEFAULT_NUM_DIRECTIONS
    assert ExperimentConfig().margin.num_directions == DEFAULT_NUM_DIRECTIONS
    assert _default(KernelTeacher.fit) == DEFAULT_NUM_DIRECTIONS
    assert _default(cached_margin) == DEFAULT_NUM_DIRECTIONS
    assert _default(estimate_margin) == DEFAULT_NUM_DIRECTIONS
    help_text = CliRunner().invoke(app, ["margin", "--help"], terminal_width=200).output
    assert f"default: {DEFAULT_NUM_DIRECTIONS}" in help_text.split("--num-directions")[1][:200]


def test_shipped_configs_that_set_k_keep_it():
    for name in ("scaling_digits", "scaling_kernel", "scaling_synthetic"):
        cfg = load_any(name, None)
        assert cfg.base["margin"]["num_directions"] == 1024  # set explicitly: unchanged
    assert load_any("demo", None).margin.num_directions == 1024  # the demo keeps it fast
    assert load_any("soft_wins", None).margin.num_directions == DEFAULT_NUM_DIRECTIONS
    assert "demo" in shipped_configs()
