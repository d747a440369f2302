"""Fuzzing: random configs, overrides, data files and dataset specs end in a valid result or in
softhard's own errors (ConfigError, DataError), never in a raw traceback, and leave no
half-written run folder. Examples and sizes are capped so the file runs in well under a minute.
"""

import math
import os
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softhard.config import DataConfig, ExperimentConfig, apply_overrides, load_config, validate
from softhard.data import load_dataset
from softhard.errors import SofthardError
from softhard.studies.two_layer import run_experiment

FUZZ = settings(
    max_examples=int(os.environ.get("SOFTHARD_FUZZ_EXAMPLES", "25")),  # more: a longer hunt
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_FIELDS = [*ExperimentConfig.model_fields, "train.lr", "train.epochs", "teacher.width"]
_FIELDS += ["tasks.0.mix", "tasks.0.noise", "student.init", "train.optimizer", "zzz", "train.x"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(_FIELDS) | st.text(string.ascii_letters + "._0", min_size=1, max_size=10)


def _only_our_errors(fn, *args):
    """Call ``fn``; a SofthardError is a fine outcome, any other exception fails the test."""
    try:
        return fn(*args)
    except SofthardError as err:
        assert str(err).strip(), "an error needs a message"
        return None


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_random_config_mappings(data):
    cfg = _only_our_errors(validate, ExperimentConfig, data)
    assert cfg is None or isinstance(cfg, ExperimentConfig)


@FUZZ
@given(st.lists(st.tuples(keys, values), max_size=4))
def test_random_overrides_on_a_file(pairs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(yaml.safe_dump({"name": "f", "widths": [1, 2]}))
        overrides = [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in pairs]
        cfg = _only_our_errors(load_config, path, overrides)
        assert cfg is None or isinstance(cfg, ExperimentConfig)
        _only_our_errors(
            apply_overrides, {"tasks": ["digits:0-1"]}, [f"tasks.0.{k}" for k, _ in pairs]
        )


_TINY = {
    "name": "fuzz",
    "widths": [1, 2],
    "seeds": [0],
    "train": {"epochs": 2},
    "teacher": {"width": 4, "epochs": 2},
    "margin": {"estimate": False},
}

cells = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0]),
)


@st.composite
def tables(draw):
    n = draw(st.integers(0, 14))
    d = draw(st.integers(0, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_]))
    x = draw(hnp.arrays(np.float64, (n, d), elements=cells))
    if draw(st.booleans()):  # NaN/inf only sometimes, so that valid files occur
        x = np.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0)
    if dtype is not np.float64:
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0).clip(-100, 100).astype(dtype)
    if n and d and draw(st.booleans()):
        x[:, 0] = x[0, 0]  # a constant column
    if n > 1 and draw(st.booleans()):
        x[n // 2] = x[0]  # a duplicate row
    labels = draw(st.lists(st.sampled_from([0, 1, 2, 7]), min_size=n, max_size=n))
    y = np.asarray(labels, dtype=np.int64)
    if n and draw(st.booleans()):
        y = np.where(np.arange(n) % 2 == 0, 0, 1)  # two classes, both present
    return x, y, draw(st.booleans())


def _run_on_file(spec: str, out: Path) -> None:
    cfg = _only_our_errors(validate, ExperimentConfig, {**_TINY, "tasks": [spec]})
    if cfg is None:
        return
    result = _only_our_errors(lambda: run_experiment(cfg, out_dir=out, progress=False))
    folders = sorted(out.iterdir()) if out.exists() else []
    assert not [f for f in folders if f.name.endswith(".partial")], folders
    if result is None:
        assert folders == []
    else:
        assert folders == [result.path] and (result.path / "manifest.json").is_file()


@FUZZ
@given(tables())
def test_random_npz_and_csv_files(table):
    x, y, as_csv = table
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if as_csv:
            path = tmp / "d.csv"
            frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
            frame["y"] = y
            text = frame.to_csv(index=False)
            if len(frame) > 2:  # an empty line in the middle
                lines = text.splitlines()
                text = "\n".join([*lines[:2], "", *lines[2:]]) + "\n"
            path.write_text(text)
            spec = f"file:{path},label_column=y"
        else:
            path = tmp / "d.npz"
            np.savez(path, X=x, y=y)
            spec = f"file:{path}"
        _run_on_file(spec, tmp / "runs")


options = st.dictionaries(
    st.sampled_from(
        [
            "mix",
            "noise",
            "flip",
            "max_train",
            "seed",
            "test_fraction",
            "normalize",
            "n_samples",
            "dim",
            "separation",
            "label",
            "bogus",
        ]
    ),
    st.one_of(
        st.integers(-3, 60),
        st.floats(-0.5, 1.5, allow_nan=False),
        st.sampled_from(["x", "true", "", "1e-3", "[1]", "nan"]),
    ),
    max_size=4,
)


@FUZZ
@given(
    st.sampled_from(
        [
            "digits",
            "synthetic",
            "digits:3-8",
            "digits:odd-even",
            "digits:0-0",
            "digits:1-x",
            "digits:all",
            "nope:1",
            "file",
            "mnist",
        ]
    ),
    options,
)
def test_random_dataset_specs(head, opts):
    spec = ",".join([head, *(f"{k}={v}" for k, v in opts.items())])
    cfg = _only_our_errors(DataConfig.parse, spec)
    if cfg is None or cfg.source not in ("digits", "synthetic"):
        return  # other sources need files; their loaders are fuzzed above
    if cfg.source == "synthetic" and cfg.n_samples * cfg.dim > 40_000:
        return
    data = _only_our_errors(load_dataset, cfg)
    if data is not None:
        assert data.n_train > 0 and np.isfinite(data.x_train.numpy()).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["digits:all", "digits:odd-even", "digits:2-9", "digits:low-high"]),
    st.sampled_from(["", ",mix=0.5", ",flip=0.5", ",max_train=2", ",noise=1e6"]),
)
def test_random_digit_tasks_through_a_run(task, extra):
    """A task of more than two classes was a raw ValueError before a run (now a ConfigError)."""
    with tempfile.TemporaryDirectory() as tmp:
        _run_on_file(task + extra, Path(tmp) / "runs")
