"""Every error preflight raises on purpose, in one place.

A ``PreflightError`` is something the user can act on: ``str(err)`` is one line without secrets,
shown as is, and ``exit_code`` is what the command line exits with. (One class lives elsewhere on
purpose: ``remote.guard.Refused`` is an ``httpx.ConnectError``, so that httpx carries it out of a
transport like any other failed connection.) ``StageFailed`` is the other kind:
an unexpected exception (a bug in preflight or a library) while one file was measured or judged,
which becomes that file's result instead of ending the run.
"""

from __future__ import annotations

import traceback
from typing import Literal

EXIT_OK, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERRUPTED = 130


class PreflightError(Exception):
    """An error the user can act on. ``str(err)`` is one line, shown as is; exit code 2."""

    exit_code = EXIT_UNUSABLE


class UnusableInput(PreflightError):
    """A file that cannot be judged at all: missing, unreadable, empty, not media, corrupt beyond probing."""


class NotFetched(UnusableInput):
    """A Git LFS pointer file: the media was never fetched. Whether that fails a run is the project's
    choice (``lfs-pointers`` in preflight.toml), not a sign of a corrupt file."""


class RuleSetError(PreflightError):
    """A rule set that cannot be loaded: unknown name, bad TOML, unknown rule or key, wrong type."""


class UsageError(PreflightError):
    """Arguments that do not make sense together."""


class FixFailed(PreflightError):
    """ffmpeg could not produce the fixed file."""


class UploadError(PreflightError):
    """The upload or its presigned URL failed; ``str()`` is one line without secrets."""


class ApiError(PreflightError):
    """The Tavus API refused a request or could not be reached. ``str()`` is one line, without secrets;
    ``status`` is the HTTP status when there was an answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BodyTooLarge(PreflightError):
    """A request body over the service's --max-upload-mb: refused (413) while it streams in, nothing kept."""


class SpoolFull(PreflightError):
    """The service's spool (uploads waiting and in progress) is at --max-spool-gb."""


class DatabaseUnavailable(PreflightError):
    """The service's database cannot be reached (restarting, unreachable, out of connections): the
    request gets 503 and Retry-After, the node's own loops try again."""


class BlobsUnavailable(PreflightError):
    """The service's bytes cannot be reached (its S3 bucket refused or did not answer): 503 to a caller."""


class BadUpload(PreflightError):
    """A request body the service cannot take: a multipart body without a ``file`` part, say (400)."""


class UnsureOfEarlierSubmit(PreflightError):
    """An earlier submit of this file was cut off and the faces list cannot tell whether it made one."""

    exit_code = EXIT_FAIL


Stage = Literal["probe", "decode", "faces", "audio", "judge", "check"]
_DOING: dict[Stage, str] = {"probe": "probing the file", "decode": "decoding", "faces": "looking for faces",
                            "audio": "analysing the audio", "judge": "judging the facts",
                            "check": "checking the file"}


class StageFailed(Exception):
    """An exception that is not a PreflightError, raised while one file was worked on in ``stage``."""

    def __init__(self, stage: Stage, error: BaseException) -> None:
        super().__init__(f"{stage}: {type(error).__name__}: {error}")
        self.stage = stage
        self.error = error
        self.traceback = "".join(traceback.format_exception(error))

    def reason(self) -> str:
        """One line for the report: what failed where, and what to do."""
        from preflight.remote import redact

        detail = redact.text(" ".join(str(self.error).split()))[:200]
        return (f"internal error while {_DOING[self.stage]} ({type(self.error).__name__}"
                f"{': ' + detail if detail else ''}); the other files are unaffected. This is a bug in "
                "preflight or a library: please report it with the log named at the end of the run")
