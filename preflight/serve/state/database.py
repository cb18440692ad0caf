"""One database for everything the service remembers, behind one interface: SQLite in the data folder
(the default: nothing to set up, one node) or PostgreSQL (``--database postgresql://…``: any number
of nodes, each with a pool of connections).

The stores (``jobs.py``, ``takes.py``, ``sessions.py``, ``keys.py``, ``leases.py``) write one SQL for
both, with ``?`` placeholders; what differs between the two lives here and in ``sqlite.py`` and
``postgres.py`` only: how a transaction starts, the clause that lets several nodes claim rows at
once without waiting on each other (``FOR UPDATE SKIP LOCKED``), the lock two nodes starting at once
take before migrating, and what a lost connection raises (``DatabaseUnavailable``, which the routes
answer with 503).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit, urlunsplit


Row = dict[str, Any]


class Tx(ABC):
    """Statements inside one transaction."""

    @abstractmethod
    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """A statement that changes rows: how many it changed."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        found = self.rows(sql, args)
        return found[0] if found else None


class Database(ABC):
    dialect: str
    shared: bool  # other processes, on other machines too, may use the same database
    skip_locked: str  # after a SELECT that picks rows to claim: rows another node holds are passed over
    shown: str  # where it is, without a password: for messages and logs

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction: what happens inside happens whole or not at all, and two of them that
        write the same rows run one after the other."""

    @abstractmethod
    def migrating(self) -> AbstractContextManager[Tx]:
        """A transaction that one node at a time holds: two nodes starting at once migrate once."""

    @abstractmethod
    def close(self) -> None: ...

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self.transaction() as tx:
            return tx.rows(sql, args)

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self.transaction() as tx:
            return tx.one(sql, args)

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self.transaction() as tx:
            return tx.run(sql, args)


def shown(url: str) -> str:
    """``url`` without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else f"***@{netloc}"))
