"""``open_database``: the database a URL names, opened and migrated to this version's schema."""

from __future__ import annotations

from urllib.parse import urlsplit

from preflight.errors import UsageError
from preflight.serve.state.database import Database, shown
from preflight.serve.state.migrations import migrate


def open_database(url: str, *, pool: int = 8) -> Database:
    """The database ``url`` names: ``sqlite:///PATH`` or ``postgresql://USER@HOST:PORT/DB`` (``pool``
    connections at most, per node), its schema migrated to this version's."""
    scheme = urlsplit(url).scheme.lower()
    database: Database
    if scheme == "sqlite":
        from preflight.serve.state.sqlite import SQLiteDatabase

        path = url.split("://", 1)[1]
        if not path.startswith("/"):
            raise UsageError(f"--database {url}: a SQLite database is sqlite:///ABSOLUTE/PATH (three slashes)")
        database = SQLiteDatabase(path)
    elif scheme in ("postgresql", "postgres"):
        from preflight.serve.state.postgres import PostgresDatabase

        database = PostgresDatabase(url, pool=pool)
    else:
        raise UsageError(f"--database {shown(url)}: a database is sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    try:
        migrate(database)
    except BaseException:
        database.close()
        raise
    return database

