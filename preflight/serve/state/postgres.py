"""The service's database in PostgreSQL (``--database postgresql://USER@HOST:PORT/DB``), shared by every
node: psycopg 3 with a pool of connections per node (``--database-pool``, 8 by default; so the
database sees nodes × pool connections at most).

A connection is checked as it leaves the pool, so after the database restarts the node's next
request gets a new one: a restart costs the requests in flight at most. Any connection failure is
``DatabaseUnavailable`` (503 to a caller, a pause and another try in the node's own loops). Rows are
claimed with ``FOR UPDATE SKIP LOCKED``: nodes claiming at once each get another row, none waits.
Two nodes starting at once migrate one after the other under an advisory lock, so once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from preflight.errors import DatabaseUnavailable
from preflight.serve.state.database import Database, Row, Tx, shown

MIGRATION_LOCK = 0x70726566  # the advisory lock's key ("pref"): any number, the same on every node
_PLACEHOLDER = re.compile(r"\?")


def dialect_sql(sql: str) -> str:
    """The stores' portable SQL in psycopg's placeholders (``?`` -> ``%s``; a literal ``%`` doubled)."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class PostgresTx(Tx):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cursor = self._conn.execute(dialect_sql(sql), tuple(args))
        return list(cursor.fetchall()) if cursor.description is not None else []

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self._conn.execute(dialect_sql(sql), tuple(args)).rowcount)


class PostgresDatabase(Database):
    dialect = "postgresql"
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, pool: int = 8) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.shown = shown(url)
        self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError)
        from psycopg_pool import PoolTimeout

        self._errors += (PoolTimeout,)
        self._pool = ConnectionPool(url, min_size=1, max_size=max(1, pool), open=False, timeout=10.0,
                                    check=ConnectionPool.check_connection, name="preflight",
                                    kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": 5,
                                            "application_name": "preflight serve"})
        try:
            self._pool.open(wait=True, timeout=15.0)
        except self._errors as err:
            self._pool.close()
            raise DatabaseUnavailable(f"cannot reach the database at {self.shown} ({_reason(err)}); start "
                                      "PostgreSQL, or correct --database") from None

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._errors as err:
            raise DatabaseUnavailable(f"the database at {self.shown} is unreachable ({_reason(err)})") from None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._connection() as conn, conn.transaction():
            yield PostgresTx(conn)

    @contextmanager
    def migrating(self) -> Iterator[Tx]:
        with self.transaction() as tx:
            tx.rows("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))  # held until this transaction ends
            yield tx

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._connection() as conn:  # autocommit: one statement is a transaction of its own
            return PostgresTx(conn).rows(sql, args)

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._connection() as conn:
            return PostgresTx(conn).run(sql, args)

    def close(self) -> None:
        self._pool.close()


def _reason(err: BaseException) -> str:
    """The first line of a connection error, which names the host and the cause, never a password."""
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
