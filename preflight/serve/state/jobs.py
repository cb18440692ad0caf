"""Jobs and their state, in SQLite under the data folder, beside the spooled uploads.

A job is ``queued`` when accepted, ``running`` while a worker has it, ``done`` with its report (or its
error). Nothing accepted is lost: at start-up a job left ``running`` by a server that died is queued
again, once; one that was running twice when a server died is finished with an error that says so.
A graceful stop queues its running jobs again without counting the attempt: only a death counts.
(A worker's crash is the crash-isolation pool's to judge, inside one server's life.) Finished jobs
and their files are removed after the retention time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.serve.blobs.spool import Budget

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- check | face | take (a recorded take's fix and check)
    status TEXT NOT NULL,            -- queued | running | done
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    name TEXT NOT NULL,              -- the file's name as the caller gave it, or the URL as shown
    source TEXT NOT NULL,            -- the spooled file, or the URL
    remote INTEGER NOT NULL,         -- 1: source is a URL
    params TEXT NOT NULL,            -- JSON: rules, quick, submit options
    callback_url TEXT,
    callback_sent INTEGER,            -- NULL: none due; 0: due (kept across a restart); 1: delivered or given up
    attempts INTEGER NOT NULL DEFAULT 0,
    alone INTEGER NOT NULL DEFAULT 0, -- unused since the crash-isolation pool (kept: older data folders)
    verdict TEXT,
    result TEXT,                     -- JSON: the report, or the face
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,            -- the route's kind and the caller's Idempotency-Key
    fingerprint TEXT NOT NULL,       -- SHA-256 of the request: its options and its body (or link)
    job_id TEXT NOT NULL,
    created REAL NOT NULL
);
"""

IDEMPOTENCY_S = 24 * 3600  # a key names its first job for this long


def insert_job(db: sqlite3.Connection, job_id: str, kind: str, name: str, source: str, remote: bool,
               params: dict[str, Any], callback_url: str | None) -> None:
    """A queued job, inside the caller's transaction."""
    db.execute("INSERT INTO jobs (id, kind, status, created, name, source, remote, params, callback_url)"
               " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
               (job_id, kind, time.time(), name, source, int(remote), json.dumps(params), callback_url))


class KeyReused(Exception):
    """An Idempotency-Key sent again with a different request (422)."""


def first_answer(db: sqlite3.Connection, key: str, fingerprint: str) -> str | None:
    """What answered ``key`` within 24 h (a job's or a capture session's id), inside the caller's
    transaction; KeyReused when that was another request."""
    row = db.execute("SELECT fingerprint, job_id FROM idempotency WHERE key = ? AND created > ?",
                     (key, time.time() - IDEMPOTENCY_S)).fetchone()
    if row is None:
        return None
    if row["fingerprint"] != fingerprint:
        raise KeyReused
    return str(row["job_id"])


def remember_answer(db: sqlite3.Connection, key: str, fingerprint: str, answer: str) -> None:
    db.execute("INSERT OR REPLACE INTO idempotency (key, fingerprint, job_id, created) VALUES (?, ?, ?, ?)",
               (key, fingerprint, answer, time.time()))


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    created: float
    started: float | None
    finished: float | None
    name: str
    source: str
    remote: bool
    params: dict[str, Any]
    callback_url: str | None
    attempts: int
    verdict: str | None
    result: dict[str, Any] | None
    error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(row["id"], row["kind"], row["status"], row["created"], row["started"], row["finished"],
                   row["name"], row["source"], bool(row["remote"]), json.loads(row["params"]),
                   row["callback_url"], row["attempts"], row["verdict"],
                   json.loads(row["result"]) if row["result"] else None, row["error"])


class Store:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.spool = data / "spool"
        self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(data / "jobs.sqlite3", check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.budget: Budget | None = None  # the spool's bytes (set by the service: --max-spool-gb)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """One statement on the service's database (the capture sessions' and takes' tables use it too)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def schema(self, script: str) -> None:
        with self._lock:
            self._db.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): what happens inside happens whole or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def add(self, job_id: str, kind: str, name: str, source: str, remote: bool, params: dict[str, Any],
            callback_url: str | None, idempotency: tuple[str, str] | None = None) -> str:
        """Add a queued job; the id of the job that now answers the request. With ``idempotency`` (key,
        fingerprint): a key seen within 24 h with the same fingerprint answers with its first job (nothing
        is added), with another fingerprint raises KeyReused. One transaction: two requests with the
        same key at once make one job."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if idempotency is not None:
                    first = self._first(*idempotency)
                    if first is not None:
                        self._db.execute("COMMIT")
                        return first
                self._insert(job_id, kind, name, source, remote, params, callback_url)
                if idempotency is not None:
                    remember_answer(self._db, *idempotency, job_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return job_id

    def _first(self, key: str, fingerprint: str) -> str | None:
        return first_answer(self._db, key, fingerprint)

    def _insert(self, job_id: str, kind: str, name: str, source: str, remote: bool, params: dict[str, Any],
                callback_url: str | None) -> None:
        insert_job(self._db, job_id, kind, name, source, remote, params, callback_url)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row is not None else None

    def queued(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()
        return int(n)

    def claim(self) -> Job | None:
        """The oldest queued job, now running (one more attempt)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1").fetchone()
                if row is None:
                    self._db.execute("COMMIT")
                    return None
                self._db.execute("UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1 "
                                 "WHERE id = ?", (time.time(), row["id"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        job = self.get(row["id"])
        assert job is not None
        return job

    def finish(self, job_id: str, verdict: str | None, result: dict[str, Any] | None, error: str | None) -> None:
        """The job is done; its callback, if it has one, is now due (in the same write: a server that
        stops before it is delivered delivers it after the restart)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET status = 'done', finished = ?, verdict = ?, result = ?, error = ?, "
                             "callback_sent = CASE WHEN callback_url IS NULL THEN NULL ELSE 0 END WHERE id = ?",
                             (time.time(), verdict, json.dumps(result) if result is not None else None, error, job_id))

    def callback_done(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET callback_sent = 1 WHERE id = ?", (job_id,))

    def callbacks_due(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status = 'done' AND callback_sent = 0").fetchall()
        return [Job.from_row(r) for r in rows]

    def requeue(self, job_id: str, *, counted: bool = True) -> None:
        """Queued again; ``counted=False`` (a graceful stop) takes back the attempt its claim counted."""
        with self._lock:
            self._db.execute("UPDATE jobs SET status = 'queued', attempts = MAX(0, attempts - ?) WHERE id = ? "
                             "AND status = 'running'", (0 if counted else 1, job_id))

    def recover(self) -> tuple[int, int]:
        """After a restart: jobs left running are queued again, or finished with an error when they were
        already running twice when a server stopped. (queued again, failed)."""
        with self._lock:
            rows = self._db.execute("SELECT id, attempts FROM jobs WHERE status = 'running'").fetchall()
        again = failed = 0
        for row in rows:
            if row["attempts"] >= 2:
                self.finish(row["id"], "error", None, "the server stopped twice while this file was being checked "
                            "(the analysis may have taken it down); it was not checked. Please report it")
                failed += 1
            else:
                self.requeue(row["id"])
                again += 1
        return again, failed

    def expired(self, older_than_s: float) -> list[Job]:
        with self._lock:
            self._db.execute("DELETE FROM idempotency WHERE created < ?", (time.time() - IDEMPOTENCY_S,))
            rows = self._db.execute("SELECT * FROM jobs WHERE status = 'done' AND finished < ?",
                                    (time.time() - older_than_s,)).fetchall()
        return [Job.from_row(r) for r in rows]

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}
