"""The run store: claim/finish transactions, concurrent drivers, kill-and-resume, export."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from softhard.sweep import RunStore, SweepSpec, expand
from softhard.sweep.owners import new_owner
from softhard.sweep.store import RunOutcome
from softhard.train import CURVE_COLUMNS

BASE = {
    "tasks": ["digits:0-1"],
    "teacher": {"width": 16, "epochs": 5},
    "train": {"epochs": 30},
    "widths": [1, 2, 3, 4],
    "seeds": [0, 1],
    "label_modes": ["soft", "hard"],
    "margin": {"estimate": False},
    "engine": "loop",
}
METRICS = ["final_loss", "avg_loss", "train_acc", "test_acc"]


def _runs(n_lr=1):
    return expand(SweepSpec(name="s", base=BASE, grid={"train.lr": [0.5, 1.0][:n_lr]}))


def test_claim_finish_never_writes_a_run_twice(tmp_path):
    runs = _runs()
    with RunStore(tmp_path) as store:
        assert store.register("s", {}, runs, replace=True) == len(runs)
        assert store.register("s", {}, runs, replace=True) == 0
        a = f"{os.uname().nodename}:{os.getppid()}:alive"  # a live driver (our parent process)
        b = new_owner()
        got = store.claim([r.id for r in runs], a, retry_failed=False)
        assert sorted(got) == sorted(r.id for r in runs)
        assert store.claim([r.id for r in runs], b, retry_failed=False) == []  # a is alive
        curves = {c: [1.0, 0.5] for c in CURVE_COLUMNS}
        out = RunOutcome(runs[0].id, True, {"avg_loss": 0.5}, curves)
        assert not store.finish(out, b)  # not b's run
        assert store.finish(out, a)
        assert not store.finish(out, a)  # done: never written again
        store.release(a)
        again = store.claim([r.id for r in runs], b, retry_failed=False)
        assert sorted(again) == sorted(r.id for r in runs[1:])
        table = store.runs("s")
        assert (table["status"] == "done").sum() == 1 and len(table) == len(runs)
        assert len(store.curves("s")) == 2 and store.integrity() == "ok"


def test_running_run_of_a_dead_driver_is_claimed_again(tmp_path):
    runs = _runs()
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{os.uname().nodename}:{int(proc.stdout)}:x"
    with RunStore(tmp_path) as store:
        store.register("s", {}, runs, replace=True)
        assert len(store.claim([r.id for r in runs], dead, retry_failed=False)) == len(runs)
        assert len(store.claim([r.id for r in runs], new_owner(), retry_failed=False)) == len(runs)


def _write_spec(tmp_path, name, grid):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"kind": "sweep", "name": name, "base": BASE, "grid": grid}))
    return path


def _sweep_cmd(spec, store, *extra):
    code = "import sys; from softhard.cli import app; sys.argv[0] = 'softhard'; app()"
    return [sys.executable, "-c", code, "sweep", str(spec), "--store", str(store), "-q", *extra]


def _env(tmp_path):
    return {**os.environ, "SOFTHARD_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_two_sweeps_at_once_on_one_store(tmp_path):
    store = tmp_path / "store"
    # overlapping grids: the lr=1.0 runs belong to both sweeps
    a = _write_spec(tmp_path, "a", {"train.lr": [0.5, 1.0]})
    b = _write_spec(tmp_path, "b", {"train.lr": [1.0, 2.0]})
    procs = [
        subprocess.Popen(
            _sweep_cmd(s, store, "--workers", "1", "--group-size", "4"),
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for s in (a, b)
    ]
    outs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with RunStore(store) as st:
        assert st.integrity() == "ok"
        for name in ("a", "b"):
            table = st.runs(name)
            assert len(table) == 32 and (table["status"] == "done").all()
        everything = st.runs()
        assert len(everything) == 48 and everything["id"].is_unique
        assert (everything["attempts"] == 1).all()  # no run trained twice
        assert len(st.curves()) == 48 * 30


@pytest.mark.slow
def test_kill_half_way_then_resume_equals_uninterrupted(tmp_path):
    env = _env(tmp_path)
    spec = _write_spec(tmp_path, "k", {"train.lr": [0.5, 1.0]})
    ref = tmp_path / "ref"
    subprocess.run(_sweep_cmd(spec, ref, "--workers", "1"), env=env, check=True, timeout=300)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _sweep_cmd(spec, killed, "--workers", "1", "--group-size", "2"),
        env=env,
        start_new_session=True,
    )
    done = _wait_some_done(killed, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunStore(killed) as st:
        table = st.runs("k")
        n_done = int((table["status"] == "done").sum())
        assert 0 < n_done < 32 and n_done >= done
        assert (table["status"] == "running").any() or n_done + (
            table["status"] == "pending"
        ).sum() == 32
    subprocess.run(_sweep_cmd(spec, killed, "--workers", "2"), env=env, check=True, timeout=300)
    with RunStore(ref) as a, RunStore(killed) as b:
        assert b.integrity() == "ok"
        ta, tb = a.runs("k").set_index("id"), b.runs("k").set_index("id")
        assert len(tb) == 32 and tb.index.is_unique and (tb["status"] == "done").all()
        assert sorted(ta.index) == sorted(tb.index)
        tb = tb.loc[ta.index]
        for col in METRICS:
            np.testing.assert_allclose(tb[col].astype(float), ta[col].astype(float), rtol=1e-10)
        assert len(b.curves("k")) == 32 * 30


def _wait_some_done(store, proc, timeout=240.0):
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
            if n >= 4:
                return n
        time.sleep(0.05)
    pytest.fail("no run finished in time")


_DRIVER = """
import os, socket, sys, time
from softhard.sweep.store import RunStore
folder, host, lease, ids = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")
owner = f"{host or socket.gethostname()}:{os.getpid()}:driver"
with RunStore(folder) as st:
    print(len(st.claim(ids, owner, retry_failed=False, lease=lease)), flush=True)
    with st.heartbeat(owner, lease):
        time.sleep(600)
"""


def _start_driver(tmp_path, ids, *, host="", lease=600.0):
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(tmp_path), host, str(lease), ",".join(ids)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    assert int(proc.stdout.readline()) == len(ids)  # claimed them all
    return proc


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkilled_driver_on_this_host_is_reclaimed_at_once(tmp_path):
    ids = [r.id for r in _runs()]
    with RunStore(tmp_path) as store:
        store.register("s", {}, _runs(), replace=True)
        proc = _start_driver(tmp_path, ids, lease=600.0)  # a lease far from ending
        try:
            assert store.claim(ids, new_owner(), retry_failed=False) == []  # alive
        finally:
            _kill(proc)
        assert sorted(store.claim(ids, new_owner(), retry_failed=False)) == sorted(ids)


def test_remote_driver_keeps_its_claims_while_alive_and_loses_them_after_its_lease(tmp_path):
    """A driver "on another host" (its pid cannot be looked up): only the lease tells."""
    ids = [r.id for r in _runs()]
    lease = 2.0
    with RunStore(tmp_path) as store:
        store.register("s", {}, _runs(), replace=True)
        proc = _start_driver(tmp_path, ids, host="remote-host", lease=lease)
        try:
            end = time.time() + 2.5 * lease  # several leases: the heartbeat renews them
            while time.time() < end:
                assert store.claim(ids, new_owner(), retry_failed=False) == []
                time.sleep(0.25)
            until = store.run(ids[0])["lease_until"]
            assert until > time.time()  # renewed, not the first lease
        finally:
            _kill(proc)
        assert store.claim(ids, new_owner(), retry_failed=False) == []  # lease not over yet
        time.sleep(max(0.0, until - time.time()) + 0.1)
        got = store.claim(ids, new_owner(), retry_failed=False)
        assert sorted(got) == sorted(ids)
        assert (store.runs("s")["attempts"] == 2).all()


def test_expired_lease_and_stores_without_leases(tmp_path):
    runs = _runs()
    ids = [r.id for r in runs]
    with RunStore(tmp_path) as store:
        store.register("s", {}, runs, replace=True)
        remote = "remote-host:1:gone"
        assert len(store.claim(ids, remote, retry_failed=False, lease=0.05)) == len(ids)
        assert store.renew(remote, 0.05) == len(ids)
        time.sleep(0.1)
        me = new_owner()
        assert sorted(store.claim(ids, me, retry_failed=False)) == sorted(ids)
        assert store.renew(remote) == 0  # the old driver holds nothing now
        # a claim made before leases existed (lease_until NULL) by another host stays its own
        store._db.execute("UPDATE runs SET owner = ?, lease_until = NULL", (remote,))
        assert store.claim(ids, new_owner(), retry_failed=False) == []
