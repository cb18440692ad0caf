"""Which files a ``check`` run looks at: the files named, and media files found in directories."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from preflight.errors import UsageError

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".bmp", ".tif", ".tiff"}
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS


def discover(paths: Iterable[Path]) -> list[Path]:
    """Named files as they are (even missing ones: they are reported), directories walked for media.

    Walking skips hidden directories (``.git``) and files whose extension is not a media one.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            media = list(_walk(path))
            if not media:
                raise UsageError(f"{path}: no video or image files found in this directory")
            found += media
        else:
            found.append(path)
    return list(dict.fromkeys(found))  # keep order, drop repeats


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if Path(name).suffix.lower() in MEDIA_EXTENSIONS and not name.startswith("."):
                yield Path(dirpath) / name
