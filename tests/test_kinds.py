"""The kinds of config: one discriminated union on ``kind``, its table, and the executor config."""

import pytest
import yaml

from softhard.cli._options import executor_config
from softhard.cli.run import RUNNERS
from softhard.config import ExperimentConfig, MarginConfig, shipped_configs, validate
from softhard.errors import ConfigError
from softhard.kinds import ANY_CONFIG, KIND_NAMES, KINDS, expect_kind, kind_of, load_any
from softhard.studies.deep import DeepExperimentConfig
from softhard.sweep import LocalExecutor, SweepSpec, make_executor
from softhard.sweep.executor_config import ExecutorConfig


def test_every_kind_has_a_model_a_loader_and_a_runner():
    assert set(KINDS) == set(KIND_NAMES) == set(RUNNERS)
    for kind, entry in KINDS.items():
        assert entry.model.model_fields["kind"].default == kind


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_shipped_configs_load_as_their_kind(name):
    path = shipped_configs()[name]
    kind = kind_of(yaml.safe_load(path.read_text()))
    cfg = load_any(name)
    assert isinstance(cfg, KINDS[kind].model) and cfg.kind == kind


def test_union_picks_the_model_by_kind_and_defaults_to_two_layer():
    assert isinstance(ANY_CONFIG.validate_python({"widths": [2]}), ExperimentConfig)
    deep = ANY_CONFIG.validate_python({"kind": "deep"})
    assert isinstance(deep, DeepExperimentConfig)
    sweep = ANY_CONFIG.validate_python({"kind": "sweep", "name": "s"})
    assert isinstance(sweep, SweepSpec)
    with pytest.raises(ValueError, match="does not match"):
        ANY_CONFIG.validate_python({"kind": "bogus"})


def test_unknown_kind_and_wrong_command_are_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"kind": "sweeps", "name": "x"}))
    with pytest.raises(ConfigError, match="'kind' must be one of 'two_layer', 'deep'"):
        load_any(path)
    path.write_text(yaml.safe_dump({"kind": "deep"}))
    with pytest.raises(ConfigError, match="softhard run"):
        expect_kind(path, None, "sweep")
    path.write_text(yaml.safe_dump({"name": "x", "grid": {}}))  # no kind: the command's own
    assert expect_kind(path, None, "sweep") == path


def test_executor_config_is_built_once_and_chooses_the_executor():
    cfg = executor_config("local", 3, None, 8, 60.0)
    assert cfg == ExecutorConfig(kind="local", workers=3, group_size=8, lease=60.0)
    ex = make_executor(cfg)
    assert isinstance(ex, LocalExecutor) and ex.workers == 3
    with pytest.raises(ConfigError, match="--executor must be 'local' or 'ray'"):
        executor_config("dask")
    with pytest.raises(ConfigError, match="lease"):
        executor_config("local", lease=0.0)


def test_margin_section_replaces_the_teacher_fields():
    cfg = ExperimentConfig.model_validate({"margin": {"num_directions": 64}})
    assert cfg.margin == MarginConfig(estimate=True, num_directions=64, seed=12345)
    assert "num_directions" not in cfg.teacher.model_dump()
    for old, needle in [
        ({"margin": False}, "margin: {estimate: false}"),
        ({"teacher": {"num_directions": 64}}, "margin: {num_directions: K}"),
    ]:
        with pytest.raises(ConfigError, match="no longer accepted|is now") as err:
            validate(ExperimentConfig, old)
        assert needle in str(err.value) and "\n" not in str(err.value)
