import pytest
import yaml

from softhard.config import (
    DataConfig,
    ExperimentConfig,
    apply_overrides,
    load_config,
    shipped_configs,
    validate,
)
from softhard.errors import ConfigError


def _write(tmp_path, data):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_and_small_delta(tmp_path):
    cfg = load_config(_write(tmp_path, {"name": "x", "widths": [4, 1, 4], "train": {"lr": 0.5}}))
    assert cfg.widths == [1, 4]
    assert cfg.train.lr == 0.5 and cfg.train.optimizer == "gd"


def test_unknown_key_is_named_with_allowed_keys(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, {"train": {"lrr": 0.5}}))
    msg = str(err.value)
    assert "train.lrr" in msg and "allowed keys" in msg and "epochs" in msg


def test_bad_value_names_field_and_choices(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, {"train": {"optimizer": "sgdd"}}))
    msg = str(err.value)
    assert "train.optimizer" in msg and "'gd'" in msg and "'adam'" in msg and "sgdd" in msg


def test_bad_label_mode_and_width(tmp_path):
    with pytest.raises(ConfigError, match="label_modes.0"):
        load_config(_write(tmp_path, {"label_modes": ["kd"]}))
    with pytest.raises(ConfigError, match="width"):
        load_config(_write(tmp_path, {"widths": [0, 2]}))


def test_overrides_nested_and_indexed(tmp_path):
    path = _write(tmp_path, {"tasks": ["digits:0-1", "digits:3-8"]})
    cfg = load_config(path, ["train.epochs=7", "tasks.1.mix=0.25", "seeds=[3, 4]"])
    assert cfg.train.epochs == 7 and cfg.seeds == [3, 4]
    assert cfg.tasks[1].mix == 0.25 and cfg.tasks[1].task == "3-8"
    with pytest.raises(ConfigError, match="index"):
        load_config(path, ["tasks.5.mix=0.1"])
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_overrides({}, ["justakey"])


def test_data_spec_parsing():
    cfg = DataConfig.parse("digits:3-8,mix=0.3,noise=0.1")
    assert (cfg.source, cfg.task, cfg.mix, cfg.noise) == ("digits", "3-8", 0.3, 0.1)
    assert cfg.display == "digits:3-8 mix=0.3 noise=0.1"
    assert DataConfig.parse("file:data.csv,label_column=y").path == "data.csv"
    with pytest.raises(ConfigError, match="source"):
        DataConfig.parse("imagenet:0-1")
    with pytest.raises(ConfigError, match="key=value"):
        DataConfig.parse("digits:0-1,mix")
    with pytest.raises(ConfigError, match="mix"):
        DataConfig.parse("digits:0-1,mix=0.9")


def test_symmetric_init_rejects_odd_widths():
    with pytest.raises(ConfigError, match="odd widths"):
        validate(ExperimentConfig, {"student": {"init": "symmetric"}, "widths": [1, 2]})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_digest_is_stable_and_sensitive():
    a = ExperimentConfig(widths=[1, 2])
    assert a.digest() == ExperimentConfig(widths=[2, 1]).digest()
    assert a.digest() != ExperimentConfig(widths=[1, 3]).digest()


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_every_shipped_config_validates(name):
    from softhard.cli.run import load_any_config

    cfg = load_any_config(name, None)
    assert cfg.name


@pytest.mark.parametrize(
    ("override", "field"),
    [("widths=[0]", "widths"), ("train.lr=abc", "train.lr"), ("train.lrr=1", "train.lrr")],
)
def test_bad_override_is_named_not_the_file(tmp_path, override, field):
    path = _write(tmp_path, {"name": "x", "widths": [1, 2]})
    with pytest.raises(ConfigError) as err:
        load_config(path, [override, "seeds=[1]"])
    msg = str(err.value)
    assert msg.startswith(f"--set {override!r}") and field in msg
    assert "'seeds=[1]'" not in msg  # only the override at fault


def test_cross_field_error_blames_the_overrides_only_if_the_file_is_valid(tmp_path):
    path = _write(tmp_path, {"widths": [2]})
    with pytest.raises(ConfigError, match=r"^--set 'student.init=symmetric'.*odd widths \[3\]"):
        load_config(path, ["student.init=symmetric", "widths=[3]"])
    bad_file = _write(tmp_path, {"widths": [3], "student": {"init": "symmetric"}})
    with pytest.raises(ConfigError, match=r"^config .*cfg.yaml is invalid"):
        load_config(bad_file, ["seeds=[1]"])


def test_file_display_uses_base_name_and_options():
    a = DataConfig.parse("file:/work/long/folder/one.npz")
    b = DataConfig.parse("file:/work/long/folder/two.npz,task=3-5")
    c = DataConfig.parse("file:/elsewhere/table.csv,label_column=kind,mix=0.2")
    assert a.display == "file:one.npz"
    assert b.display == "file:two.npz task=3-5"
    assert c.display == "file:table.csv label_column=kind mix=0.2"
    assert DataConfig.parse("digits:3-8").display == "digits:3-8"


@pytest.mark.parametrize(
    "tasks",
    [["synthetic,dim=4,margin=0.1"], [{"source": "synthetic", "dim": 4, "margin": 0.1}]],
)
def test_old_synthetic_margin_key_names_its_replacement(tmp_path, tasks):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, {"tasks": tasks}))
    text = str(err.value)
    assert "'margin'" in text and "separation" in text and "unknown key" not in text
    assert "\n" not in text and ".." not in text
    ok = DataConfig.parse("synthetic,dim=4,separation=0.1")
    assert ok.separation == 0.1 and "separation=0.1" in ok.display
