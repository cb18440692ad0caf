"""``preflight check``: run the checks (run/checks.py), render the report, write it where asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from preflight.inputs.discover import MEDIA_EXTENSIONS, discover
from preflight.errors import UsageError
from preflight.inputs.files import write_atomically
from preflight.render.formats import RENDERERS
from preflight.render.options import RenderOptions
from preflight.model.report import Report
from preflight.run.check_run import CheckOptions, build_report, exit_code
from preflight.run.execute import BatchProgressFactory, ProgressFactory
from preflight.run.triage import Input

__all__ = ["CheckOptions", "Output", "run"]


@dataclass(frozen=True)
class Output:
    fmt: str = "text"
    output: Path | None = None  # -o: the report goes to this file, the terminal gets a text summary
    html: Path | None = None  # --report: also write the visual HTML report here
    render: RenderOptions = RenderOptions()


def _found_in_folders(paths: Sequence[Input]) -> list[Path]:
    """The media files in the named folders; none here when a folder has none (the run says so later,
    after a bad --rules, which is reported first)."""
    try:
        return discover(p for p in paths if isinstance(p, Path) and p.is_dir())
    except UsageError:
        return []


def _log_internal_errors(report: Report) -> None:
    """Internal errors' tracebacks go to one private log file, named once on stderr."""
    internal = [r for r in report.results if r.internal]
    if not internal:
        return
    from preflight.state import crashlog

    log = crashlog.write(*(r.traceback or f"{r.path}: {r.error}" for r in internal))
    where = f"details in {log}" if log is not None else "the log could not be written"
    print(f"preflight: {len(internal)} file{'s' * (len(internal) != 1)} hit an internal error ({where}; "
          "set PREFLIGHT_DEBUG=1 to see tracebacks)", file=sys.stderr)
    if os.environ.get("PREFLIGHT_DEBUG"):
        for r in internal:
            print(r.traceback or "", file=sys.stderr)


def run(paths: Sequence[Input], options: CheckOptions, out: Output, echo: Callable[[str], None],
        progress: ProgressFactory | None = None, batch_progress: BatchProgressFactory | None = None) -> int:
    # realpath: a symlink loop is reported, not raised. The files found in a named folder count too.
    inputs = {os.path.realpath(p) for p in [*paths, *_found_in_folders(paths)] if isinstance(p, Path)}
    for target, flag in ((out.output, "--output"), (out.html, "--report")):
        if target is not None and os.path.realpath(target) in inputs:
            raise UsageError(f"{flag} {target} would overwrite an input file")
        if target is not None and target.suffix.lower() in MEDIA_EXTENSIONS and target.exists():
            raise UsageError(f"{flag} {target} would overwrite a media file; write the report to a .json, .xml, "
                             ".sarif or .html file")
    report = build_report(paths, options, progress, batch_progress)
    _log_internal_errors(report)
    rendered = RENDERERS[out.fmt](report, out.render)
    if out.html is not None:
        from preflight.render import html

        write_atomically(out.html, html.render(report, out.render))
    if out.output is None:
        echo(rendered)
    else:
        write_atomically(out.output, rendered)
        if out.fmt != "text" and not out.render.quiet:
            echo(RENDERERS["text"](report, out.render))
    return exit_code(report)
