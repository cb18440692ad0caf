"""``preflight submit``: run the submit pipeline (run/submit.py) and say what it did."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from preflight.api.connection import Connection
from preflight.errors import UnusableInput
from preflight.render import fixes
from preflight.render.formats import RENDERERS
from preflight.render.options import RenderOptions
from preflight.model.report import Report
from preflight.run import training
from preflight.run.submit import SubmitOptions, SubmitOutcome, submit

Echo = Callable[[str], None]

__all__ = ["SubmitOptions", "run", "show"]


def run(source: str | Path, opts: SubmitOptions, conn: Connection, echo: Echo, fmt: str = "text") -> int:
    outcome = submit(source, opts, conn)
    show(outcome, opts, conn, echo, fmt)
    return outcome.exit_code


def show(outcome: SubmitOutcome, opts: SubmitOptions, conn: Connection, echo: Echo, fmt: str = "text") -> None:
    """Print an outcome as the command line shows it; a source that cannot be used is a one-line error."""
    if outcome.fixed is not None:
        echo(fixes.render(outcome.fixed))
    if outcome.stopped == "unusable":
        raise UnusableInput(outcome.message)
    verb = "uploaded" if outcome.local else "submitted"
    if outcome.stopped in ("check", "link"):
        echo(_report(outcome, quiet=True))
        if outcome.stopped == "link":
            echo(f"Not submitted: {outcome.message}.\n")
        elif verb == "uploaded":
            echo("Not uploaded: fix the failures above (see `preflight fix`), or pass --force to submit anyway.\n")
        else:
            echo("Not submitted: fix the failures above, or pass --force to submit anyway.\n")
        return
    if outcome.stopped == "tavus_image":
        validation = outcome.validation
        labels = "\n".join(f"  ✗ {c.label} ({c.id})" for c in (validation.failing if validation else [])) \
            or "  (no check named)"
        echo(_report(outcome, quiet=False))
        echo(f"{outcome.message}:\n{labels}\nNot {verb}: use a photo that meets these, or pass "
             "--skip-tavus-validation to submit anyway.\n")
        return
    if outcome.dry_run:
        where = f"upload {outcome.source} to {outcome.object} and send" if outcome.object else \
            f"send {outcome.source} as it is"
        echo(f"dry run: would {where}\nPOST {conn.base_url}/v2/faces\n{json.dumps(outcome.request, indent=2)}\n")
        return
    if fmt == "json":
        echo(json.dumps(outcome.to_dict()) + "\n")
    elif outcome.existing and outcome.face is not None:
        what = "file" if verb == "uploaded" else "link"
        echo(f"already submitted: {training.describe(outcome.face)}(this {what}, name and model made that face; "
             "pass --resubmit to create another one, which is billed again)\n")
    elif outcome.face is not None:
        sent = f"uploaded {outcome.object}" if outcome.object else f"sent {outcome.source} as it is"
        created = f"{outcome.face.face_id}\n" if outcome.followed else training.describe(outcome.face)
        echo(f"{sent}\ncreated {created}")
    if outcome.followed and outcome.face is not None and not (fmt == "text" and outcome.existing):
        echo(training.describe(outcome.face))


def _report(outcome: SubmitOutcome, *, quiet: bool) -> str:
    assert outcome.check is not None
    return RENDERERS["text"](Report([outcome.check]), RenderOptions(quiet=quiet))
