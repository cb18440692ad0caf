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


def stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, modification time) of ``path``, or None when it does not exist: two equal stamps
    mean the file was not rewritten in between."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
