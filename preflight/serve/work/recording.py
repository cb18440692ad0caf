"""A take as it is recorded: each chunk's bytes kept in the takes' blobs, then counted in the take's row
(``state/takes.py``); and the take assembled whole for its check, on whichever node claims it.

A chunk is kept before it is counted: a node that dies between the two has kept bytes nobody
acknowledged, which the next chunk writes over (a folder) or leaves aside (S3, where each chunk is
its own object and only the counted ones are assembled). Two nodes given the same chunk at once both
keep it, and the row counts it once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from preflight.serve.blobs.base import Blobs
from preflight.serve.state.takes import TakeRow, Takes


class Appended:
    """What ``append`` did with a chunk: kept, a repeat (ignored), or out of order."""

    KEPT, REPEAT, GAP = "kept", "repeat", "gap"


class Recording:
    def __init__(self, takes: Takes, blobs: Blobs) -> None:
        self.takes, self.blobs = takes, blobs

    def start(self, session_id: str | None, rules: str, mime: str, extension: str) -> TakeRow | None:
        """A new take, or None when its capture session has no takes left."""
        take_id = f"take-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(4).hex()}"
        recording = f"{take_id}{extension}"
        self.blobs.create(recording)
        if not self.takes.add(take_id, session_id, rules, mime, recording):
            self.blobs.delete(recording)
            return None
        return self.takes.get(take_id)

    def append(self, take_id: str, seq: int, data: bytes) -> tuple[str, int]:
        """Chunk ``seq`` onto the take: (what was done, the take's bytes now)."""
        take = self.takes.get(take_id)
        assert take is not None
        if seq < take.next_seq:
            return Appended.REPEAT, take.size
        if seq != take.next_seq or take.status != "recording":
            return Appended.GAP, take.size
        where = self.blobs.append(take.recording, seq, take.size, data)
        size = self.takes.counted(take_id, seq, where, len(data))
        if size is not None:
            return Appended.KEPT, size
        now = self.takes.get(take_id)  # another node counted it first, or the take was finished meanwhile
        assert now is not None
        return (Appended.REPEAT if seq < now.next_seq else Appended.GAP), now.size

    def assemble(self, take: TakeRow, scratch: Path) -> Path:
        """The take whole, as a local file: exactly the chunks acknowledged, in order."""
        return self.blobs.assemble(take.recording, take.size, [c.blob for c in self.takes.chunks(take.id)], scratch)
