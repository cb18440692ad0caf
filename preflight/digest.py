"""SHA-256 of a file, read in 1 MiB chunks: the cache's content key and the upload's object name."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path


def sha256_of(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """``progress(n)`` is told every ``n`` bytes read."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()
