"""The Ray executor on a real local Ray instance gives the local executor's results (both studies)."""

import numpy as np
import pandas as pd
import pytest

from softhard.sweep import SweepSpec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig

ray = pytest.importorskip("ray")

BASE = {
    "tasks": ["digits:0-1"],
    "teacher": {"width": 16, "epochs": 5},
    "train": {"epochs": 5},
    "widths": [1, 3],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "margin": {"estimate": False},
    "engine": "loop",
}
DEEP = {
    "kind": "deep",
    "tasks": ["digits:0-1,max_train=80"],
    "teacher": {"arch": "cnn8x8", "width": 4, "epochs": 2},
    "student": {"arch": "cnn8x8"},
    "train": {"epochs": 2, "batch_size": 32},
    "widths": [1, 3],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "device": "cpu",
    "cpu_threads": 1,  # the same thread count in both executors: float32 sums depend on it
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("base", "lrs"), [(BASE, [0.5, 1.0]), (DEEP, [0.05, 0.1])], ids=["two_layer", "deep"]
)
def test_ray_equals_local(tmp_path, monkeypatch, base, lrs):
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))
    spec = SweepSpec(name="r", base=base, grid={"train.lr": lrs})
    local = run_sweep(
        spec, store_dir=tmp_path / "local", executor=ExecutorConfig(workers=1), progress=False
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_sweep(
            spec, store_dir=tmp_path / "ray", executor=ExecutorConfig(kind="ray"), progress=False
        )
    finally:
        ray.shutdown()
    assert remote.trained == len(remote.table) == 16 == local.trained
    a, b = local.table.set_index("id"), remote.table.set_index("id").loc[local.table["id"]]
    assert (b["status"] == "done").all()
    for col in ("final_loss", "avg_loss", "train_acc", "test_acc"):
        np.testing.assert_allclose(b[col].astype(float), a[col].astype(float), rtol=1e-10)


@pytest.mark.slow
def test_scaling_study_on_ray_equals_local(tmp_path, monkeypatch):
    """The scaling study's runs go through the executors: on Ray, the same tables as locally."""
    from test_scaling import _tiny_run

    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))
    local = _tiny_run(tmp_path, "local", executor=ExecutorConfig(workers=1))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = _tiny_run(tmp_path, "ray", executor=ExecutorConfig(kind="ray"))
    finally:
        ray.shutdown()
    assert remote.trained == local.trained > 0
    pd.testing.assert_frame_equal(remote.min_widths, local.min_widths, check_exact=True)
    pd.testing.assert_frame_equal(remote.fits, local.fits, check_exact=True)
