"""Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# As root, with no network but the package registries: no sandbox, no GPU, and none of Chromium's
# background connections (refused here, many at a time).
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def browser_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def screenshot_dir(default: Path) -> Path:
    """Where screenshots go: ``$PREFLIGHT_SCREENSHOT_DIR`` to keep them, else the test's own folder."""
    shots = Path(os.environ.get("PREFLIGHT_SCREENSHOT_DIR") or default)
    shots.mkdir(parents=True, exist_ok=True)
    return shots
