"""Takes: recordings that arrive in chunks, as rows in the service's database, with their chunks' bookkeeping.

A take is ``recording`` while chunks arrive (``next_seq`` is the chunk it expects, ``size`` the bytes it
acknowledged), ``checking`` once finished (its fix and check are a job of kind ``take``, so a node
that stops mid-check leaves it to another), and ``done`` when that job is. A chunk's bytes are kept
first (``work/recording.py``), then counted here only if it is still the one expected: two nodes
given the same chunk at once count it once, and a chunk that comes after the finish counts not at
all, so the recording is exactly the chunks acknowledged, in order. A capture session's takes are
counted on the session's row in the same transaction that adds one, so ``max_takes`` holds however
many nodes start takes at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from preflight.serve.state.database import Database, Row
from preflight.serve.state.jobs import insert_job


@dataclass(frozen=True)
class TakeRow:
    id: str
    session_id: str | None
    rules: str
    mime: str
    recording: str  # the recording's name among the takes' blobs
    size: int
    next_seq: int
    status: str
    job_id: str | None
    created: float


@dataclass(frozen=True)
class Chunk:
    seq: int
    blob: str  # where its bytes are among the takes' blobs
    size: int


class Takes:
    def __init__(self, database: Database) -> None:
        self.db = database

    def add(self, take_id: str, session_id: str | None, rules: str, mime: str, recording: str) -> bool:
        """A new take; False when its capture session has used all its takes (counted on the session's
        row in the same transaction: starts at once, on any nodes, cannot both take the last one)."""
        with self.db.transaction() as tx:
            if session_id is not None and tx.run("UPDATE capture_sessions SET takes = takes + 1 WHERE id = ? AND "
                                                 "takes < max_takes", (session_id,)) != 1:
                return False
            tx.run("INSERT INTO takes (id, session_id, rules, mime, recording, status, created) "
                   "VALUES (?, ?, ?, ?, ?, 'recording', ?)", (take_id, session_id, rules, mime, recording, time.time()))
        return True

    def get(self, take_id: str) -> TakeRow | None:
        row = self.db.one("SELECT * FROM takes WHERE id = ?", (take_id,))
        return _row(row) if row is not None else None

    def of_session(self, session_id: str) -> list[TakeRow]:
        return [_row(r) for r in self.db.rows("SELECT * FROM takes WHERE session_id = ? ORDER BY created",
                                              (session_id,))]

    def counted(self, take_id: str, seq: int, blob: str, size: int) -> int | None:
        """Chunk ``seq`` (``size`` bytes, kept at ``blob``) counted, when it is still the one the take
        expects and the take is still recording: the take's bytes now; else None (a repeat, or late)."""
        with self.db.transaction() as tx:
            row = tx.one("UPDATE takes SET size = size + ?, next_seq = next_seq + 1 WHERE id = ? AND next_seq = ? "
                         "AND status = 'recording' RETURNING size", (size, take_id, seq))
            if row is None:
                return None
            tx.run("INSERT INTO take_chunks (take_id, seq, blob, size) VALUES (?, ?, ?, ?)", (take_id, seq, blob, size))
        return int(row["size"])

    def chunks(self, take_id: str) -> list[Chunk]:
        """The take's chunks as acknowledged, in order."""
        return [Chunk(int(r["seq"]), r["blob"], int(r["size"])) for r in
                self.db.rows("SELECT seq, blob, size FROM take_chunks WHERE take_id = ? ORDER BY seq", (take_id,))]

    def finish(self, take: TakeRow, job_id: str, params: dict[str, Any], callback_url: str | None) -> str:
        """The take's fix-and-check job, queued once: the job's id (the first one's, when the take was
        already finished: a retry or two finishes at once, on any nodes, make one job)."""
        with self.db.transaction() as tx:
            if tx.run("UPDATE takes SET status = 'checking', job_id = ? WHERE id = ? AND job_id IS NULL",
                      (job_id, take.id)) == 1:
                insert_job(tx, job_id, "take", take.recording, take.recording, False, params, callback_url)
                return job_id
            row = tx.one("SELECT job_id FROM takes WHERE id = ?", (take.id,))
        assert row is not None
        return str(row["job_id"])

    def unfinished(self, older_than_s: float) -> list[TakeRow]:
        """Takes still recording, started longer ago than ``older_than_s``: abandoned."""
        return [_row(r) for r in self.db.rows("SELECT * FROM takes WHERE status = 'recording' AND created < ?",
                                              (time.time() - older_than_s,))]

    def of_job(self, job_id: str) -> TakeRow | None:
        row = self.db.one("SELECT * FROM takes WHERE job_id = ?", (job_id,))
        return _row(row) if row is not None else None

    def delete(self, take_id: str) -> None:
        with self.db.transaction() as tx:
            tx.run("DELETE FROM take_chunks WHERE take_id = ?", (take_id,))
            tx.run("DELETE FROM takes WHERE id = ?", (take_id,))


def _row(r: Row) -> TakeRow:
    from pathlib import PurePath

    # a recording kept before the blobs was a path: its name is its place among the takes' blobs
    return TakeRow(r["id"], r["session_id"], r["rules"], r["mime"], PurePath(r["recording"]).name, int(r["size"]),
                   int(r["next_seq"]), r["status"], r["job_id"], r["created"])
