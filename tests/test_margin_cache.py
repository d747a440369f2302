"""The disk cache of margin estimates: hits skip the solver, corrupt entries are rebuilt."""

import numpy as np
import pytest
import torch

from softhard.config import DataConfig, MarginConfig, TeacherConfig
from softhard.ntk import cache as margin_cache
from softhard.ntk import cached_margin
from softhard.studies.two_layer import prepare_task


@pytest.fixture
def calls(monkeypatch):
    """Counts the solver calls made through the cache."""
    counter = {"n": 0}
    solve = margin_cache.estimate_margin

    def counting(*args, **kwargs):
        counter["n"] += 1
        return solve(*args, **kwargs)

    monkeypatch.setattr(margin_cache, "estimate_margin", counting)
    return counter


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return torch.from_numpy(x), torch.from_numpy(rng.choice([-1.0, 1.0], size=12))


def test_second_call_hits_the_cache_and_returns_the_same_estimate(tmp_path, calls):
    x, y = _data()
    first = cached_margin(x, y, num_directions=128, cache=tmp_path)
    second = cached_margin(x, y, num_directions=128, cache=tmp_path)
    assert calls["n"] == 1
    assert second.summary() == first.summary()
    for name in ("q", "hardest", "directions"):
        assert torch.equal(getattr(second, name), getattr(first, name))
    assert len(list((tmp_path / "margins").glob("*.pt"))) == 1
    cached_margin(x, y, num_directions=128, seed=1, cache=tmp_path)  # another setting: a miss
    cached_margin(x, -y, num_directions=128, cache=tmp_path)  # other labels: a miss
    assert calls["n"] == 3


@pytest.mark.parametrize("damage", [b"not a torch file", b""])
def test_corrupt_entry_is_rebuilt(tmp_path, calls, damage):
    x, y = _data()
    first = cached_margin(x, y, num_directions=64, cache=tmp_path)
    (entry,) = (tmp_path / "margins").glob("*.pt")
    entry.write_bytes(damage)
    again = cached_margin(x, y, num_directions=64, cache=tmp_path)
    assert calls["n"] == 2 and again.gamma == first.gamma
    cached_margin(x, y, num_directions=64, cache=tmp_path)  # the rewritten entry is good
    assert calls["n"] == 2


def test_tampered_entry_is_rebuilt(tmp_path, calls):
    x, y = _data()
    cached_margin(x, y, num_directions=64, cache=tmp_path)
    (entry,) = (tmp_path / "margins").glob("*.pt")
    state = torch.load(entry, weights_only=True)
    state["q"] = torch.flip(state["q"], (0,))
    torch.save(state, entry)
    cached_margin(x, y, num_directions=64, cache=tmp_path)
    assert calls["n"] == 2


def test_prepare_task_estimates_gamma_once_per_task(tmp_path, calls):
    task = DataConfig.parse("digits:3-8,max_train=60")
    teacher, margin = TeacherConfig(width=64, epochs=5), MarginConfig(num_directions=64)
    a = prepare_task(task, teacher, margin=margin, cache=tmp_path)
    b = prepare_task(task, teacher, margin=margin, cache=tmp_path)
    assert a.margin is not None and b.margin is not None
    assert calls["n"] == 1 and a.margin.gamma == b.margin.gamma
    assert a.margin.num_directions == 64 and a.margin.seed == margin.seed
    prepare_task(task.model_copy(update={"mix": 0.2}), teacher, margin=margin, cache=tmp_path)
    assert calls["n"] == 2
