"""The node's spool: a local folder where request bodies land as they stream in, and its budget
(``--max-spool-gb``), counted byte by byte as they arrive."""

from __future__ import annotations

import threading
from pathlib import Path

from preflight.errors import SpoolFull


class Budget:
    """The spool's bytes: what is on disk (read at start) plus what uploads reserve as they stream,
    less what finished jobs release. ``reserve`` refuses (SpoolFull) past ``limit``."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.limit = limit
        self.used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        self._lock = threading.Lock()

    def reserve(self, n: int) -> None:
        with self._lock:
            if self.used + n > self.limit:
                raise SpoolFull
            self.used += n

    def release(self, n: int) -> None:
        with self._lock:
            self.used = max(0, self.used - n)
