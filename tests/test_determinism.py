"""Results do not depend on how work is spread: bank threads, chunk sizes, sweep workers."""

import numpy as np
import pandas as pd
import pytest
import torch

from softhard.engine import train_bank
from softhard.sweep import SweepSpec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig
from softhard.train import CURVE_COLUMNS
from test_engine import CONFIGS, _data, _students


def _bank(x, students, cfg, xt, yt, dtype, **kw):
    return train_bank(x, students, cfg, x_test=xt, y_test_pm=yt, dtype=dtype, **kw)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["gd", "sgd"])
@pytest.mark.parametrize("chunks", [(12, 20), (None, None)])
def test_bank_is_bitwise_the_same_with_one_or_two_worker_threads(name, dtype, chunks):
    x, y, xt, yt, teacher = _data(dtype)
    students = _students(y, teacher, widths=(1, 3, 8, 17))
    kw = {"chunk_neurons": chunks[0], "chunk_examples": chunks[1]}
    one = _bank(x, students, CONFIGS[name], xt, yt, dtype, workers=1, **kw)
    two = _bank(x, students, CONFIGS[name], xt, yt, dtype, workers=2, **kw)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a.weight, b.weight)
        for column in CURVE_COLUMNS:
            np.testing.assert_array_equal(a.curves[column], b.curves[column])
        assert a.final == b.final or all(
            a.final[k] == b.final[k] or (np.isnan(a.final[k]) and np.isnan(b.final[k]))
            for k in a.final
        )


@pytest.mark.parametrize("chunks", [(1, 1), (7, 3), (4096, 4096)])
def test_bank_chunk_sizes_agree_to_rounding_with_two_workers(chunks):
    """Tiles change the order of the sums over examples: equal to float64 rounding."""
    x, y, xt, yt, teacher = _data(torch.float64)
    students = _students(y, teacher, widths=(2, 5))
    cfg = CONFIGS["sgd"]
    base = _bank(x, students, cfg, xt, yt, torch.float64, workers=1)
    other = _bank(
        x,
        students,
        cfg,
        xt,
        yt,
        torch.float64,
        workers=2,
        chunk_neurons=chunks[0],
        chunk_examples=chunks[1],
    )
    for a, b in zip(base, other, strict=True):
        torch.testing.assert_close(a.weight, b.weight, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.curves["loss"], b.curves["loss"], rtol=1e-12)


BASE = {
    "tasks": ["synthetic,n_samples=60,dim=5,separation=0.05"],
    "teacher": {"width": 16, "epochs": 5},
    "train": {"epochs": 6},
    "widths": [1, 3, 6],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "margin": {"estimate": False},
    "engine": "bank",
}
METRICS = ["final_loss", "avg_loss", "train_acc", "test_acc", "kl_to_teacher", "epochs_run"]


@pytest.mark.slow
def test_sweep_tables_are_identical_with_one_or_two_workers(tmp_path):
    spec = SweepSpec(name="w", base=BASE, grid={"train.lr": [0.5, 1.0]})
    tables = {}
    for workers in (1, 2):
        result = run_sweep(
            spec,
            store_dir=tmp_path / f"w{workers}",
            executor=ExecutorConfig(workers=workers),
            progress=False,
        )
        assert result.counts["done"] == 24
        tables[workers] = result.table.sort_values("id").reset_index(drop=True)
    one, two = tables[1], tables[2]
    assert list(one["id"]) == list(two["id"])
    pd.testing.assert_frame_equal(one[METRICS], two[METRICS], check_exact=True)
