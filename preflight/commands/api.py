"""``preflight status`` and ``preflight voices``: read-only calls to the Tavus API."""

from __future__ import annotations

from collections.abc import Callable

from preflight.api.client import TavusClient
from preflight.api.connection import Connection
from preflight.errors import EXIT_FAIL, EXIT_OK
from preflight.run import training

Echo = Callable[[str], None]

__all__ = ["Connection", "status", "voices"]


def voices(conn: Connection, search: str | None, echo: Echo) -> int:
    with TavusClient(conn.api_key, conn.base_url) as client:
        found = sorted(client.voices(search), key=lambda v: v.voice_name.lower())
    if not found:
        echo(f"no stock voice matches {search!r}\n" if search else "no stock voices listed\n")
        return EXIT_FAIL
    echo("".join(f"{v.voice_name}\n" for v in found))
    return EXIT_OK


def status(conn: Connection, face_id: str, wait: bool, echo: Echo, *, bar: training.StatusBar | None = None,
           sleep: Callable[[float], None] | None = None) -> int:
    """Show a face's status; with ``wait``, follow it until nothing more will change (phoenix-4.5:
    until its tuning is done or failed)."""
    face = training.follow(conn, face_id, wait=wait, bar=bar, sleep=sleep)
    echo(training.describe(face))
    return training.exit_code(face)
