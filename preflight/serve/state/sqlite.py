"""The service's database in one SQLite file (the default, under ``--data``): one connection in WAL
mode, shared by the node's threads under a lock; a write transaction is ``BEGIN IMMEDIATE``, which
holds the file's write lock from its first statement, so two of them never interleave."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from preflight.serve.state.database import Database, Row, Tx


def _dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: v for d, v in zip(cursor.description, row)}


class SQLiteTx(Tx):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._db.execute(sql, tuple(args)).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._db.execute(sql, tuple(args)).rowcount


class SQLiteDatabase(Database):
    dialect = "sqlite"
    shared = False  # a file on this machine: one node
    skip_locked = ""  # BEGIN IMMEDIATE already lets one claim run at a time

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.shown = f"sqlite:///{path}"
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = _dict
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteTx(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:  # one statement is a transaction of its own
            return self._db.execute(sql, tuple(args)).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, tuple(args)).rowcount

    def migrating(self) -> Any:
        return self.transaction()  # the write lock is the file's: one process migrates at a time

    def close(self) -> None:
        with self._lock:
            self._db.close()
