"""Files preflight writes for the user (reports, fixed media): never half-written, never over an input."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from preflight.errors import UsageError


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename: a reader never sees half a report."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish(Path(tmp), path)
    except OSError as err:
        raise UsageError(f"cannot write the report to {path}: {err.strerror or err}") from None


def publish(tmp: Path, path: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it private) and move it
    into place in one step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
