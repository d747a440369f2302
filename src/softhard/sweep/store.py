"""The run store: one SQLite file (standard library, WAL mode) per sweep folder.

Tables: ``runs`` (one row per student: id, config JSON, status, reason, metrics JSON, attempts,
owner, host, times), ``sweep_runs`` (which runs belong to which sweep), ``sweeps`` (each sweep's
spec) and ``curves`` (per-epoch metrics, one row per run and epoch).

Status goes ``pending -> running -> done | failed``. Only a sweep's driver writes; a run is
claimed (``running``, with the driver's owner token) in one transaction and its results are
written in one transaction that also marks it ``done`` -- so a killed driver leaves nothing
half-written, and a ``running`` run whose owner process is gone is claimed again as pending.
Several drivers may share a store: each write takes SQLite's write lock (``BEGIN IMMEDIATE``,
with a busy timeout), and a run is only written by the driver that claimed it.

Claims hold a *lease* (``lease_until``, a wall-clock time): a driver renews the leases of its
runs while it lives (:meth:`RunStore.heartbeat`, a background thread), so the runs of a driver
that died anywhere -- another host included, where its process cannot be looked up -- are
claimable again once their lease has ended. On the driver's own host a dead process is noticed
at once, without waiting for the lease.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from softhard.sweep.executor_config import DEFAULT_LEASE
from softhard.sweep.owners import claim_ended
from softhard.sweep.rows import (
    OPTIONAL_CURVES,
    STORED_CURVES,
    chunks,
    curve_rows,
    expand_metrics,
    plain_row,
    run_values,
)

STORE_FILE = "softhard.sqlite"
STATUSES = ("pending", "running", "done", "failed")
# DEFAULT_LEASE (softhard.config): seconds a claim lasts without renewal; renewed every third of it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    task TEXT, width INTEGER, seed INTEGER, label_mode TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    reason TEXT,
    metrics TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT, host TEXT,
    created REAL, started REAL, finished REAL
);
CREATE TABLE IF NOT EXISTS sweeps (name TEXT PRIMARY KEY, spec TEXT, created REAL, updated REAL);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep TEXT NOT NULL, run_id TEXT NOT NULL REFERENCES runs(id),
    PRIMARY KEY (sweep, run_id)
);
CREATE TABLE IF NOT EXISTS curves (
    run_id TEXT NOT NULL REFERENCES runs(id), epoch INTEGER NOT NULL,
    loss REAL, avg_loss REAL, train_acc REAL, test_acc REAL, kl REAL,
    yard_loss REAL, test_loss REAL,
    PRIMARY KEY (run_id, epoch)
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
"""


@dataclass(frozen=True)
class RunOutcome:
    """What a worker sends back for one run: metrics row and curves, or a failure reason."""

    run_id: str
    ok: bool
    row: dict[str, Any]
    curves: dict[str, list[float]]
    reason: str | None = None
    seconds: float = 0.0


class RunStore:
    """A sweep folder's SQLite store (``<folder>/softhard.sqlite``)."""

    def __init__(self, folder: str | Path, *, timeout: float = 60.0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / STORE_FILE
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)  # IF NOT EXISTS: safe when drivers open it together
        self._add_column("runs", "lease_until", "REAL")  # stores made before leases
        for col in STORED_CURVES:  # stores made before the yardstick curves (NULL there)
            self._add_column("curves", col, "REAL")
        self._timeout = timeout

    def _add_column(self, table: str, column: str, kind: str) -> None:
        """Add a column that a store written by an older softhard lacks."""
        columns = [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]
        if column not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another driver added it
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: takes the write lock up front)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def register(
        self, sweep: str, spec: dict[str, Any], runs: Sequence[Any], *, replace: bool
    ) -> int:
        """Add ``runs`` (``Run`` objects) as pending if new; make them members of ``sweep``.

        With ``replace`` the sweep's membership becomes exactly ``runs``. Returns how many runs
        were new to the store.
        """
        now = time.time()
        with self._write() as db:
            before = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            db.executemany(
                "INSERT OR IGNORE INTO runs (id, config, task, width, seed, label_mode, status,"
                " created) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                [run_values(r, now) for r in runs],
            )
            db.execute(
                "INSERT INTO sweeps (name, spec, created, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, updated = excluded.updated",
                (sweep, json.dumps(spec, sort_keys=True), now, now),
            )
            if replace:
                db.execute("DELETE FROM sweep_runs WHERE sweep = ?", (sweep,))
            db.executemany(
                "INSERT OR IGNORE INTO sweep_runs (sweep, run_id) VALUES (?, ?)",
                [(sweep, r.id) for r in runs],
            )
            after = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return int(after - before)

    def claim(
        self,
        run_ids: Iterable[str],
        owner: str,
        *,
        retry_failed: bool,
        lease: float = DEFAULT_LEASE,
    ) -> list[str]:
        """Mark the claimable runs among ``run_ids`` ``running`` by ``owner``; return their ids.

        Claimable: pending; failed (with ``retry_failed``); running for a driver that is gone
        (a process of this host that has ended) or whose lease has ended. Each claim holds a
        lease of ``lease`` seconds; keep it with :meth:`renew` or :meth:`heartbeat`.
        """
        wanted = list(run_ids)
        claimed = []
        with self._write() as db:
            now = time.time()
            for chunk in chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT id, status, owner, lease_until FROM runs WHERE id IN ({marks})", chunk
                ).fetchall()
                for run_id, status, run_owner, until in rows:
                    if (
                        status == "pending"
                        or (status == "failed" and retry_failed)
                        or (status == "running" and claim_ended(run_owner, until, owner, now))
                    ):
                        claimed.append(run_id)
            db.executemany(
                "UPDATE runs SET status = 'running', owner = ?, host = ?, started = ?,"
                " lease_until = ?, attempts = attempts + 1, reason = NULL WHERE id = ?",
                [(owner, socket.gethostname(), now, now + lease, i) for i in claimed],
            )
        return claimed

    def renew(self, owner: str, lease: float = DEFAULT_LEASE) -> int:
        """Extend the lease of every run ``owner`` is training to now + ``lease``; how many."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE runs SET lease_until = ? WHERE owner = ? AND status = 'running'",
                (time.time() + lease, owner),
            )
        return cur.rowcount

    @contextlib.contextmanager
    def heartbeat(self, owner: str, lease: float = DEFAULT_LEASE) -> Iterator[None]:
        """Renew ``owner``'s leases every ``lease / 3`` seconds in a background thread."""
        stop = threading.Event()

        def beat() -> None:
            with RunStore(self.folder, timeout=self._timeout) as own:  # one connection a thread
                while not stop.wait(lease / 3):
                    with contextlib.suppress(sqlite3.Error):  # busy: try again next beat
                        own.renew(owner, lease)

        thread = threading.Thread(target=beat, name="softhard-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finish(self, outcome: RunOutcome, owner: str) -> bool:
        """Write one run's results and mark it done (or failed) in one transaction.

        Only the claiming ``owner`` may write; a run already done is never written again.
        Returns False (and writes nothing) otherwise.
        """
        status = "done" if outcome.ok else "failed"
        with self._write() as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, reason = ?, metrics = ?, finished = ?, owner = NULL,"
                " lease_until = NULL"
                " WHERE id = ? AND owner = ? AND status = 'running'",
                (
                    status,
                    outcome.reason,
                    json.dumps(plain_row(outcome.row)),
                    time.time(),
                    outcome.run_id,
                    owner,
                ),
            )
            if cur.rowcount != 1:
                return False
            db.execute("DELETE FROM curves WHERE run_id = ?", (outcome.run_id,))
            db.executemany(
                f"INSERT INTO curves (run_id, epoch, {', '.join(STORED_CURVES)})"
                f" VALUES (?, ?{', ?' * len(STORED_CURVES)})",
                curve_rows(outcome),
            )
        return True

    def release(self, owner: str) -> None:
        """Put the runs still ``running`` for ``owner`` back to pending (on a clean abort)."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET status = 'pending', owner = NULL, lease_until = NULL"
                " WHERE owner = ? AND status = 'running'",
                (owner,),
            )

    def statuses(self, run_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """``id -> (status, owner)`` for the given runs."""
        out: dict[str, tuple[str, str | None]] = {}
        for chunk in chunks(list(run_ids), 500):
            marks = ",".join("?" * len(chunk))
            for run_id, status, owner in self._db.execute(
                f"SELECT id, status, owner FROM runs WHERE id IN ({marks})", chunk
            ):
                out[run_id] = (status, owner)
        return out

    def runs_by_id(self, run_ids: Iterable[str]) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """``id -> (status, metrics)`` for the given runs."""
        out: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for chunk in chunks(list(run_ids), 500):
            marks = ",".join("?" * len(chunk))
            for run_id, status, metrics in self._db.execute(
                f"SELECT id, status, metrics FROM runs WHERE id IN ({marks})", chunk
            ):
                out[run_id] = (status, json.loads(metrics) if metrics else None)
        return out

    def curves_by_id(self, run_ids: Iterable[str], column: str) -> dict[str, list[float]]:
        """``id -> per-epoch values of one curve column`` (in epoch order; NULL -> nan)."""
        if column not in STORED_CURVES:
            raise ValueError(f"curve column must be one of {STORED_CURVES}, got {column!r}")
        out: dict[str, list[float]] = {}
        for chunk in chunks(list(run_ids), 500):
            marks = ",".join("?" * len(chunk))
            for run_id, value in self._db.execute(
                f"SELECT run_id, {column} FROM curves WHERE run_id IN ({marks})"
                " ORDER BY run_id, epoch",
                chunk,
            ):
                out.setdefault(run_id, []).append(math.nan if value is None else float(value))
        return out

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep: name, runs by status, last update."""
        query = (
            "SELECT s.name AS sweep, COUNT(r.id) AS runs,"
            + "".join(f" SUM(r.status = '{s}') AS {s}," for s in STATUSES)
            + " MAX(r.finished) AS last_finished FROM sweeps s"
            " LEFT JOIN sweep_runs m ON m.sweep = s.name LEFT JOIN runs r ON r.id = m.run_id"
            " GROUP BY s.name ORDER BY s.name"
        )
        return pd.read_sql_query(query, self._db)

    def runs(self, sweep: str | None = None, *, status: str | None = None) -> pd.DataFrame:
        """The runs (of ``sweep``, or all) as a tidy table: store columns plus every metric."""
        query = (
            "SELECT r.id, r.status, r.reason, r.attempts, r.host, r.started, r.finished,"
            " r.task, r.width, r.seed, r.label_mode, r.metrics, r.config FROM runs r"
        )
        args: list[Any] = []
        clauses = []
        if sweep is not None:
            query += " JOIN sweep_runs m ON m.run_id = r.id"
            clauses.append("m.sweep = ?")
            args.append(sweep)
        if status is not None:
            clauses.append("r.status = ?")
            args.append(status)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        frame = pd.read_sql_query(
            query + " ORDER BY r.task, r.label_mode, r.width, r.seed, r.id", self._db, params=args
        )
        return expand_metrics(frame)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's row (config and metrics parsed) with sweeps it belongs to; prefix ids work."""
        row = self._db.execute(
            "SELECT id, status, reason, attempts, owner, host, created, started, finished,"
            " config, metrics, lease_until FROM runs WHERE id LIKE ? ORDER BY id LIMIT 2",
            (run_id + "%",),
        ).fetchall()
        if len(row) != 1:
            return None
        keys = (
            "id",
            "status",
            "reason",
            "attempts",
            "owner",
            "host",
            "created",
            "started",
            "finished",
            "config",
            "metrics",
            "lease_until",
        )
        out = dict(zip(keys, row[0], strict=True))
        out["config"] = json.loads(out["config"])
        out["metrics"] = json.loads(out["metrics"]) if out["metrics"] else None
        out["sweeps"] = [
            r[0]
            for r in self._db.execute("SELECT sweep FROM sweep_runs WHERE run_id = ?", (out["id"],))
        ]
        return out

    def curves(self, sweep: str | None = None) -> pd.DataFrame:
        """Per-epoch curves (of ``sweep``'s runs, or all) as a tidy table."""
        query = "SELECT c.* FROM curves c"
        args: list[Any] = []
        if sweep is not None:
            query += " JOIN sweep_runs m ON m.run_id = c.run_id WHERE m.sweep = ?"
            args.append(sweep)
        frame = pd.read_sql_query(query + " ORDER BY c.run_id, c.epoch", self._db, params=args)
        drop = [c for c in OPTIONAL_CURVES if frame[c].isna().all()]  # none recorded them
        kept: pd.DataFrame = frame.drop(columns=drop)
        return kept

    def integrity(self) -> str:
        """``PRAGMA integrity_check`` ("ok" for a sound file)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def export(self, out_dir: str | Path, sweep: str | None = None) -> list[Path]:
        """Write ``runs.parquet``/``runs.csv`` and ``curves.parquet`` for ``sweep`` (or all)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        runs = self.runs(sweep).drop(columns=["config"])
        paths = [out / "runs.parquet", out / "runs.csv", out / "curves.parquet"]
        runs.to_parquet(paths[0], index=False)
        runs.to_csv(paths[1], index=False)
        self.curves(sweep).to_parquet(paths[2], index=False)
        return paths
