"""Unexpected failures (a bug in preflight or in a library) while one file is measured or judged.

Each becomes that file's result, with the stage it happened in, instead of ending the run: the other
files are still checked and reported. The traceback goes to a private log file (``crashlog.py``),
never to the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from preflight.errors import PreflightError, Stage, StageFailed

__all__ = ["Stage", "StageFailed", "stage"]


@contextmanager
def stage(name: Stage) -> Iterator[None]:
    """Tag an unexpected exception with the stage it came from. PreflightErrors (the user's input is
    unusable), an inner stage's tag, and KeyboardInterrupt pass through unchanged."""
    try:
        yield
    except (PreflightError, StageFailed):
        raise
    except Exception as err:
        raise StageFailed(name, err) from err
