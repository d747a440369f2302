"""Sweeps of the deep study: expansion, the run store, resume after a kill, min-width search."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from softhard.errors import ConfigError
from softhard.student import Student
from softhard.studies.deep.config import DeepExperimentConfig
from softhard.studies.deep.run import run_deep_experiment
from softhard.studies.min_width import MinWidthSpec, min_width_search
from softhard.sweep import RunStore, SweepSpec, expand, run_sweep
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.executors import plan_groups
from softhard.teachers.cache import teachers_dir

BASE = {
    "kind": "deep",
    "tasks": ["digits:0-1,max_train=80"],
    "teacher": {"arch": "cnn8x8", "width": 4, "epochs": 2},
    "student": {"arch": "cnn8x8"},
    "train": {"epochs": 2, "batch_size": 32},
    "widths": [1, 2],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "device": "cpu",
}
METRICS = ["test_acc", "train_acc", "final_loss", "avg_loss"]


def test_deep_spec_expands_to_task_student_pairs():
    runs = expand(SweepSpec(name="d", base=BASE, grid={"train.lr": [0.05, 0.1]}))
    assert len(runs) == 16 and len({r.id for r in runs}) == 16
    assert all(isinstance(r.config, DeepExperimentConfig) for r in runs)
    assert {r.student for r in runs} >= {Student(1, 0, "soft", 4.0, 0.9)}
    assert {r.task.normalize for r in runs} == {False}  # the deep study's image default
    again = expand(SweepSpec(name="other", base=BASE, grid={"train.lr": [0.1, 0.05]}))
    assert sorted(r.id for r in again) == sorted(r.id for r in runs)
    # students of one task, teacher and training share a group; the two lrs do not
    groups = plan_groups(runs, units=1, threads=1)
    assert sorted(len(g.runs) for g in groups) == [8, 8]


def test_deep_grid_key_must_be_a_deep_field():
    with pytest.raises(ConfigError, match="engine"):
        expand(SweepSpec(name="d", base=BASE, grid={"engine": ["loop"]}))
    with pytest.raises(ConfigError, match="allowed: two_layer, deep"):
        expand(SweepSpec(name="d", base={**BASE, "kind": "scaling"}))


def test_deep_sweep_equals_the_deep_study(tmp_path):
    """The store's rows are the rows run_deep_experiment writes for the same config (both on
    one CPU thread: float32 sums depend on the thread count)."""
    spec = SweepSpec(name="d", base={**BASE, "cpu_threads": 1})
    result = run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert result.counts == {"done": 8, "failed": 0} and result.trained == 8
    cfg = DeepExperimentConfig.model_validate({**BASE, "cpu_threads": 1})
    folder = run_deep_experiment(cfg, out_dir=tmp_path / "runs", progress=False)
    study = pd.read_parquet(folder / "results.parquet")
    keys = ["width", "seed", "label_mode"]
    a = result.table.set_index(keys).sort_index()
    b = study.set_index(keys).sort_index()
    assert len(a) == len(b) == 8
    for col in [*METRICS, "params", "soft_weight"]:
        np.testing.assert_array_equal(a[col].astype(float), b[col].astype(float))
    with RunStore(tmp_path / "store") as store:
        curves = store.curves("d")
        assert len(curves) == 8 * 2  # one row per student and epoch
        assert curves["test_acc"].notna().all()
    again = run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert again.trained == 0  # resumed from the store: nothing to train
    # sweep and study share the teacher: one weights file in the one cache folder
    assert len(list(teachers_dir().glob("weights-*.pt"))) == 1


def test_min_width_search_runs_deep_students(tmp_path):
    spec = MinWidthSpec(
        name="mw",
        tasks=["digits:0-1,max_train=80"],
        label_modes=["hard"],
        seeds=[0],
        eps=[0.5],
        metric="test_error",
        max_width=4,
        base={
            k: v for k, v in BASE.items() if k not in ("tasks", "widths", "seeds", "label_modes")
        },
    )
    result = min_width_search(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert len(result.table) == 1 and result.trained >= 1
    row = result.table.iloc[0]
    evaluated = result.evaluated
    assert set(evaluated["width"]) <= {1, 2, 3, 4}
    if np.isfinite(row["min_width"]):  # the answer reaches eps; a width below it does not
        at = evaluated["width"] == row["min_width"]
        assert (evaluated.loc[at, "test_error_mean"] <= 0.5).all()
    with RunStore(tmp_path / "store") as store:
        configs = store.runs("mw")["config"]
        assert all('"kind": "deep"' in c for c in configs)


# --- a deep sweep killed half way and resumed equals an uninterrupted one --------------------

KILL_BASE = {
    **BASE,
    "tasks": ["digits:0-1,max_train=120"],
    "train": {"epochs": 4, "batch_size": 16},
    "cpu_threads": 1,  # tiny CNNs: more threads only contend on a loaded machine
}


def _sweep_cmd(spec, store, *extra):
    code = "import sys; from softhard.cli import app; sys.argv[0] = 'softhard'; app()"
    return [sys.executable, "-c", code, "sweep", str(spec), "--store", str(store), "-q", *extra]


def _env(tmp_path):
    return {**os.environ, "SOFTHARD_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


def _wait_some_done(store, proc, at_least, timeout=240.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("the sweep ended before it could be killed")
        if (store / "softhard.sqlite").exists():
            try:
                with RunStore(store) as st:
                    n = int((st.runs("k")["status"] == "done").sum())
            except Exception:
                n = 0
            if n >= at_least:
                return n
        time.sleep(0.05)
    pytest.fail("no run finished in time")


@pytest.mark.slow
def test_deep_sweep_killed_half_way_then_resumed_equals_uninterrupted(tmp_path):
    env = _env(tmp_path)
    spec = tmp_path / "k.yaml"
    spec.write_text(yaml.safe_dump({"kind": "sweep", "name": "k", "base": KILL_BASE}))
    total = 2 * 2 * 2  # widths x seeds x label modes
    ref = tmp_path / "ref"
    subprocess.run(_sweep_cmd(spec, ref, "--workers", "1"), env=env, check=True, timeout=600)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _sweep_cmd(spec, killed, "--workers", "1", "--group-size", "2"),
        env=env,
        start_new_session=True,
    )
    done = _wait_some_done(killed, proc, at_least=2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunStore(killed) as st:
        n_done = int((st.runs("k")["status"] == "done").sum())
        assert done <= n_done < total
    subprocess.run(_sweep_cmd(spec, killed, "--workers", "2"), env=env, check=True, timeout=600)
    with RunStore(ref) as a, RunStore(killed) as b:
        assert b.integrity() == "ok"
        ta, tb = a.runs("k").set_index("id"), b.runs("k").set_index("id")
        assert len(tb) == total and tb.index.is_unique and (tb["status"] == "done").all()
        assert sorted(ta.index) == sorted(tb.index)
        assert (tb["attempts"] <= 2).all()
        tb = tb.loc[ta.index]
        for col in METRICS:
            np.testing.assert_array_equal(tb[col].astype(float), ta[col].astype(float))
        assert len(b.curves("k")) == total * 4
