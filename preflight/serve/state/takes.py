"""Takes: recordings that arrive in chunks, as rows in the service's database beside their file.

A take is ``recording`` while chunks arrive (``next_seq`` is the chunk it expects, ``size`` the bytes it
kept), ``checking`` once finished (its fix and check are a job of kind ``take`` in the job store, so a
server that stops mid-check checks it again after the restart), and ``done`` when that job is. A
chunk is written, then counted in its row: a server killed between the two has written bytes it
never acknowledged, which the next chunk cuts off (the file is truncated to ``size`` first), so the
recording is exactly the chunks acknowledged, in order, whatever stopped in between.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.serve.state.jobs import Store, insert_job

_SCHEMA = """
CREATE TABLE IF NOT EXISTS takes (
    id TEXT PRIMARY KEY,
    session_id TEXT,                 -- the capture session's id; NULL: preflight record's own take
    rules TEXT NOT NULL,
    mime TEXT NOT NULL,
    recording TEXT NOT NULL,         -- the file the chunks are appended to
    size INTEGER NOT NULL DEFAULT 0,
    next_seq INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,            -- recording | checking (done: when its job is, see takes.take_view)
    job_id TEXT,                     -- the fix-and-check job, once finished
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS takes_session ON takes (session_id, created);
"""


@dataclass(frozen=True)
class TakeRow:
    id: str
    session_id: str | None
    rules: str
    mime: str
    recording: Path
    size: int
    next_seq: int
    status: str
    job_id: str | None
    created: float


class Appended:
    """What ``append`` did with a chunk: kept, a repeat (ignored), or out of order."""

    KEPT, REPEAT, GAP = "kept", "repeat", "gap"


class Takes:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._locks = [threading.Lock() for _ in range(64)]
        store.schema(_SCHEMA)

    def add(self, take_id: str, session_id: str | None, rules: str, mime: str, recording: Path,
            max_takes: int | None = None) -> bool:
        """A new take; False when its session already has ``max_takes`` (counted in the same transaction:
        two starts at once cannot both take the last one)."""
        with self.store.transaction() as db:
            if session_id is not None and max_takes is not None:
                (n,) = db.execute("SELECT COUNT(*) FROM takes WHERE session_id = ?", (session_id,)).fetchone()
                if n >= max_takes:
                    return False
            recording.touch(exist_ok=False)
            db.execute("INSERT INTO takes (id, session_id, rules, mime, recording, status, created) "
                       "VALUES (?, ?, ?, ?, ?, 'recording', ?)",
                       (take_id, session_id, rules, mime, str(recording), time.time()))
        return True

    def get(self, take_id: str) -> TakeRow | None:
        rows = self.store.rows("SELECT * FROM takes WHERE id = ?", (take_id,))
        return _row(rows[0]) if rows else None

    def of_session(self, session_id: str) -> list[TakeRow]:
        return [_row(r) for r in self.store.rows("SELECT * FROM takes WHERE session_id = ? ORDER BY created",
                                                 (session_id,))]

    def append(self, take_id: str, seq: int, data: bytes) -> tuple[str, int]:
        """Chunk ``seq`` onto the take: (what was done, the take's bytes now). One chunk at a time per
        take (its lock; the database's is held only for the row's read and update, never while the
        chunk is written), in order; the file is first cut to the bytes acknowledged."""
        with self._lock(take_id):
            take = self.get(take_id)
            assert take is not None
            if seq < take.next_seq:
                return Appended.REPEAT, take.size
            if seq != take.next_seq or take.status != "recording":
                return Appended.GAP, take.size
            with open(take.recording, "r+b") as out:
                out.truncate(take.size)
                out.seek(take.size)
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            size = take.size + len(data)
            self.store.rows("UPDATE takes SET size = ?, next_seq = next_seq + 1 WHERE id = ?", (size, take_id))
        return Appended.KEPT, size

    def finish(self, take: TakeRow, job_id: str, params: dict[str, Any], callback_url: str | None) -> str:
        """The take's fix-and-check job, queued once: the job's id (the first one's, when the take was
        already finished: a retry or two finishes at once make one job). Never while a chunk is written."""
        with self._lock(take.id), self.store.transaction() as db:
            row = db.execute("SELECT job_id FROM takes WHERE id = ?", (take.id,)).fetchone()
            if row["job_id"]:
                return str(row["job_id"])
            insert_job(db, job_id, "take", take.recording.name, str(take.recording), False, params, callback_url)
            db.execute("UPDATE takes SET status = 'checking', job_id = ? WHERE id = ?", (job_id, take.id))
        return job_id

    def _lock(self, take_id: str) -> threading.Lock:
        """The take's lock: one of a fixed set, chosen by the take's id (bounded, however many takes)."""
        return self._locks[zlib.crc32(take_id.encode()) % len(self._locks)]


def _row(r: Any) -> TakeRow:
    return TakeRow(r["id"], r["session_id"], r["rules"], r["mime"], Path(r["recording"]), int(r["size"]),
                   int(r["next_seq"]), r["status"], r["job_id"], r["created"])
