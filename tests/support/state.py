"""The service's parts below its routes, put together for tests that work on the state directly: a
database (SQLite or the tests' PostgreSQL), the folder's blobs under ``data``, a node and its janitor."""

from __future__ import annotations

from pathlib import Path

from preflight.serve.blobs.places import open_blobs
from preflight.serve.blobs.spool import Budget
from preflight.serve.state.connect import open_database
from preflight.serve.state.jobs import Jobs
from preflight.serve.state.leases import Leases
from preflight.serve.state.sessions import Sessions
from preflight.serve.state.takes import Takes
from preflight.serve.work.janitor import Janitor
from preflight.serve.work.recording import Recording
from preflight.serve.work.runner import Node


def node(database: str, data: Path, name: str = "node-a", takes: Path | None = None) -> Node:
    db = open_database(database)
    places = open_blobs(None, data, takes)
    for folder in (data / "spool", data / "scratch"):
        folder.mkdir(parents=True, exist_ok=True)
    return Node(name, Jobs(db), places, Recording(Takes(db), places.takes), data / "spool", data / "scratch",
                Budget(data / "spool", 10**9))


def janitor(at: Node, keep_s: float, takes_too: bool = True) -> Janitor:
    return Janitor(at, Leases(at.jobs.db), Sessions(at.jobs.db, b"secret"), keep_s, takes_too)
