"""Unexpected failures (a bug in preflight or in a library) while one file is measured or judged.

Each becomes that file's result, with the stage it happened in, instead of ending the run: the other
files are still checked and reported. The traceback goes to a private log file (``crashlog.py``),
never to the report.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from preflight.errors import PreflightError

Stage = Literal["probe", "decode", "faces", "audio", "judge", "check"]


class StageFailed(Exception):
    """An exception that is not a PreflightError, raised while ``stage`` worked on a file."""

    def __init__(self, stage: Stage, error: BaseException) -> None:
        super().__init__(f"{stage}: {type(error).__name__}: {error}")
        self.stage = stage
        self.error = error
        self.traceback = "".join(traceback.format_exception(error))

    def reason(self) -> str:
        """One line for the report: what failed where, and what to do."""
        from preflight.crashlog import scrub

        detail = scrub(" ".join(str(self.error).split()))[:200]
        return (f"internal error while {_DOING[self.stage]} ({type(self.error).__name__}"
                f"{': ' + detail if detail else ''}); the other files are unaffected. This is a bug in "
                "preflight or a library: please report it with the log named at the end of the run")


_DOING: dict[Stage, str] = {"probe": "probing the file", "decode": "decoding", "faces": "looking for faces",
                            "audio": "analysing the audio", "judge": "judging the facts",
                            "check": "checking the file"}


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
