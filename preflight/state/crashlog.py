"""Tracebacks of internal errors, kept in a private log file the user can attach to a bug report.

The log lives in the user's cache directory (``logs/`` under ``$PREFLIGHT_CACHE_DIR`` or
``~/.cache/preflight``), in a folder only the user can enter (0700), as a new file with a unique
name (0600) that is never opened through a symbolic link: another user cannot read it, plant it, or
make preflight write somewhere else. Signed URLs are redacted before anything is written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from preflight.remote import redact
from preflight.state.dirs import cache_dir


def write(*tracebacks: str) -> Path | None:
    """Write the tracebacks to a new private log file; its path, or None if it could not be written."""
    folder = cache_dir() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)  # also when it existed: tracebacks name the user's files
        path = folder / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}.log"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(redact.text("\n".join(tracebacks)))
        return path
    except OSError:
        return None
