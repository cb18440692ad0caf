"""The one error funnel: every error a user can cause is a PreflightError with a one-line message."""

from __future__ import annotations

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
