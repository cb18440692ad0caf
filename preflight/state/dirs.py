"""Where preflight keeps its own files, by one rule on every platform: an environment variable wins,
else the platform's own folder from ``platformdirs``.

- The cache (results, the crash logs, dlib's detector): ``$PREFLIGHT_CACHE_DIR``, else
  ``~/.cache/preflight`` on Linux, ``~/Library/Caches/preflight`` on macOS, ``%LOCALAPPDATA%\\preflight\\Cache``
  on Windows. Anything in it may be deleted.
- The state (the submit journal that keeps a file from becoming two faces, resumable uploads):
  ``$PREFLIGHT_STATE_DIR``, else ``~/.local/state/preflight`` on Linux, ``~/Library/Application
  Support/preflight`` on macOS, ``%LOCALAPPDATA%\\preflight`` on Windows. Not a cache: a system
  cleaner must not delete it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("PREFLIGHT_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("preflight", appauthor=False)


def state_dir() -> Path:
    override = os.environ.get("PREFLIGHT_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_state_path("preflight", appauthor=False)


def legacy_state_dirs() -> list[Path]:
    """Where versions up to 0.1 kept the journal (``~/.cache/preflight`` on every platform): still read,
    so a file submitted by an older version is not made into a second face."""
    old = Path.home() / ".cache" / "preflight"
    return [old] if old != state_dir() else []
