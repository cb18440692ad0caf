"""Following a face's training until nothing more will change.

Phoenix-4 and -3: ``status`` goes ``started`` → ``completed`` or ``error``. Phoenix-4.5 has two stages:
``completed`` only means the watermarked preview is ready; tuning goes on, reported in
``finetune_status`` until it is ``completed`` or ``errored`` (the face id stays the same, and a failed
tuning leaves the preview usable). ``Face.stage`` reads both fields.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from preflight.api.client import Face, TavusClient
from preflight.api.connection import Connection
from preflight.state.dirs import state_dir
from preflight.errors import EXIT_FAIL, EXIT_OK
from preflight.run.journal import Journal


class StatusBar(Protocol):
    """Shows training progress; ``update(percent)`` and ``close()``. The CLI passes a terminal bar."""

    def update(self, percent: float) -> None: ...
    def close(self) -> None: ...


def pause(seconds: float) -> None:
    """Wait between polls (a seam: tests make it instant)."""
    time.sleep(seconds)


def follow(conn: Connection, face_id: str, *, wait: bool, bar: StatusBar | None = None,
           first_poll_s: float = 30.0, max_poll_s: float = 300.0,
           sleep: Callable[[float], None] | None = None, journal: Journal | None = None) -> Face:
    """The face's status now; with ``wait``, polled politely (backoff from 30 s to 5 min: training
    takes hours) until it is done, failed, or (phoenix-4.5) tuned or its tuning failed. Where it got
    is noted in the submit journal."""
    delay = first_poll_s
    sleep = sleep or pause
    with TavusClient(conn.api_key, conn.base_url, sleep=sleep) as client:
        face = client.get_face(face_id)
        while wait and not face.done:
            if bar is not None and face.percent is not None and face.stage == "training":
                bar.update(face.percent)
            sleep(delay)
            delay = min(delay * 1.5, max_poll_s)
            face = client.get_face(face_id)
    if bar is not None:
        if face.stage in ("done", "preview", "tuning_failed"):
            bar.update(100.0)
        bar.close()
    (journal or Journal.in_dir(state_dir())).record_training(face)
    return face


def exit_code(face: Face) -> int:
    """1 when training failed or (phoenix-4.5) tuning failed; 0 otherwise (under way counts as fine)."""
    return EXIT_FAIL if face.stage in ("failed", "tuning_failed") else EXIT_OK


def describe(face: Face) -> str:
    """One line (two with an error) for a person: the face, its status and, for phoenix-4.5, the stage."""
    name = f" ({face.name})" if face.name else ""
    line = f"{face.face_id}{name}: {face.status}"
    stage = face.stage
    if stage == "training" and face.progress and face.status == "started":
        line += f", training {face.progress}"
    if face.two_stage and stage == "preview":
        line += f" — preview ready (watermarked); tuning {face.finetune_status or 'starting'}"
    elif face.two_stage and stage == "done":
        line += " — tuned: the final face is ready"
    elif stage == "tuning_failed":
        line += (" — tuning failed; the watermarked preview stays usable. To try tuning again, submit the "
                 "same media once more with --resubmit (a new face, billed again)")
    if face.status == "error":
        line += f"\nerror: {face.error_message or 'no error message given'}"
    return line + "\n"
