"""The minimum-width search: bracket + bisection logic, shared evaluations, spec errors."""

import math

import pytest
import yaml

from softhard.errors import ConfigError
from softhard.studies.min_width import MinWidthSpec, load_min_width_spec, min_width_search
from softhard.studies.min_width.search import _Search
from softhard.sweep import RunStore
from softhard.sweep.executor_config import ExecutorConfig


@pytest.mark.parametrize("true_width", [1, 2, 3, 5, 17, 64, 100])
def test_search_finds_the_smallest_width_of_a_monotone_curve(true_width):
    score = {}
    search = _Search(eps=0.5, lo=0, probe=1, max_width=100)
    evaluated = 0
    while (w := search.next_width(score)) is not None:
        score[w] = 0.0 if w >= true_width else 1.0
        evaluated += 1
    assert search.hi == true_width
    assert evaluated <= 2 * math.ceil(math.log2(100)) + 1


def test_search_reports_unreached_eps():
    search = _Search(eps=0.1, lo=0, probe=1, max_width=10)
    score = {}
    while (w := search.next_width(score)) is not None:
        score[w] = 1.0
    assert search.hi is None and sorted(score) == [1, 2, 4, 8, 10]


def test_min_width_end_to_end_shares_evaluations(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))
    base = {
        "teacher": {"width": 16, "epochs": 5},
        "train": {"epochs": 20},
        "margin": {"estimate": False},
    }
    spec = MinWidthSpec(
        name="mw",
        tasks=["digits:0-1"],
        label_modes=["soft"],
        seeds=[0, 1],
        eps=[10.0, 0.0001],
        max_width=8,
        base={**base, "engine": "loop"},
    )
    res = min_width_search(
        spec, store_dir=tmp_path / "s", executor=ExecutorConfig(workers=1), progress=False
    )
    table = res.table.set_index("eps")
    assert table.loc[10.0, "min_width"] == 1 and not table.loc[0.0001, "reached"]
    assert table.loc[0.0001, "widths_evaluated"] == 4  # 1, 2, 4, 8: width 1 shared by both eps
    assert res.trained == 4 * 2
    again = min_width_search(
        spec, store_dir=tmp_path / "s", executor=ExecutorConfig(workers=1), progress=False
    )
    assert again.trained == 0 and again.table.equals(res.table)
    with RunStore(tmp_path / "s") as store:
        assert len(store.runs("mw")) == 8


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"tasks": ["digits:0-1"], "eps": []}, "eps"),
        ({"tasks": ["digits:0-1"], "eps": [0.1], "metric": "loss"}, "metric"),
        ({"tasks": ["digits:0-1"], "eps": [0.1], "base": {"widths": [2]}}, "widths"),
        ({"tasks": ["digits:0-1"], "eps": [0.1], "base": {"train": {"lr": "x"}}}, "train.lr"),
        ({"tasks": ["digits:0-1"], "eps": [0.1], "max_width": 0}, "max_width"),
    ],
)
def test_bad_min_width_spec(tmp_path, data, needle):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"kind": "min_width", **data}))
    with pytest.raises(ConfigError, match=needle):
        load_min_width_spec(path)
