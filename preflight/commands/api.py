"""``preflight status`` and ``preflight voices``: read-only calls to the Tavus API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from preflight.api.client import Face, TavusClient
from preflight.errors import EXIT_FAIL, EXIT_OK

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Connection:
    api_key: str
    base_url: str


class StatusBar(Protocol):
    """Shows training progress; ``update(percent)`` and ``close()``. The CLI passes a terminal bar."""

    def update(self, percent: float) -> None: ...
    def close(self) -> None: ...


def voices(conn: Connection, search: str | None, echo: Echo) -> int:
    with TavusClient(conn.api_key, conn.base_url) as client:
        found = sorted(client.voices(search), key=lambda v: v.voice_name.lower())
    if not found:
        echo(f"no stock voice matches {search!r}\n" if search else "no stock voices listed\n")
        return EXIT_FAIL
    echo("".join(f"{v.voice_name}\n" for v in found))
    return EXIT_OK


def describe(face: Face) -> str:
    progress = f", training {face.progress}" if face.progress and face.status == "started" else ""
    name = f" ({face.name})" if face.name else ""
    line = f"{face.face_id}{name}: {face.status}{progress}"
    if face.status == "error":
        line += f"\nerror: {face.error_message or 'no error message given'}"
    return line + "\n"


def status(conn: Connection, face_id: str, wait: bool, echo: Echo, *, bar: StatusBar | None = None,
           first_poll_s: float = 30.0, max_poll_s: float = 300.0, sleep: Callable[[float], None] = time.sleep) -> int:
    """Show a face's status; with ``wait``, poll politely (backoff from 30 s to 5 min: training takes
    hours) until it completes or fails."""
    delay = first_poll_s
    with TavusClient(conn.api_key, conn.base_url, sleep=sleep) as client:
        face = client.get_face(face_id)
        while wait and not face.done:
            if bar is not None and face.percent is not None:
                bar.update(face.percent)
            sleep(delay)
            delay = min(delay * 1.5, max_poll_s)
            face = client.get_face(face_id)
    if bar is not None:
        if face.status in ("completed", "ready"):
            bar.update(100.0)
        bar.close()
    echo(describe(face))
    return EXIT_FAIL if face.status == "error" else EXIT_OK
