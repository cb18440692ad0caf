"""Where preflight keeps its own files: the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$PREFLIGHT_CACHE_DIR``, else the platform's cache directory: ``$XDG_CACHE_HOME/preflight``
    (``~/.cache/preflight``) on Linux, ``~/Library/Caches/preflight`` on macOS, ``%LOCALAPPDATA%``."""
    override = os.environ.get("PREFLIGHT_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("preflight", appauthor=False)
