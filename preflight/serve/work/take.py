"""A recorded take's work, in a worker of the crash-isolation pool: the fixer (an H.264/AAC MP4 with a
constant frame rate and a set loudness) and the full check on the fixed file, with the report JSON
and HTML beside the recording; and, where a capture session allows it, the submit pipeline."""

from __future__ import annotations

import json
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any


def finish_take(recording: Path, rules: str) -> dict[str, Any]:
    """Fix the recording (kept as received) into an H.264/AAC MP4 beside it, check that, and keep the
    report JSON and HTML beside them."""
    from preflight.errors import PreflightError
    from preflight.model.report import Report
    from preflight.render import html
    from preflight.render.options import RenderOptions
    from preflight.run.check_run import CheckOptions, build_report
    from preflight.run.fix import FixOptions, fix_file

    fixed_path = recording.with_name(f"{recording.stem}.fixed.mp4")
    note = None
    try:
        # not checked again by the fixer: the full check below does that once, with the report's pictures
        done = fix_file(recording, FixOptions(output=fixed_path, rules=rules, recheck=False))
        fixed = done.written or recording  # nothing to fix (an H.264/AAC MP4 already): the take as recorded
        note = "; ".join(done.notes) or None  # e.g. a muted microphone's silence, left as recorded
    except PreflightError as err:
        fixed, note = None, str(err)
    except Exception as err:  # noqa: BLE001 - a bug in the fixer: the take is still checked as recorded
        from preflight.state import crashlog

        crashlog.write(traceback.format_exc())
        fixed, note = None, f"the fixer failed ({type(err).__name__}); the recording was checked as it is"
    checked = fixed or recording
    # through the result cache: a session's submit right after checks the same file without analysing it again
    report = build_report([checked], CheckOptions(rules=rules))
    report_json = recording.with_name(f"{recording.stem}.report.json")
    report_json.write_text(report.to_json(), encoding="utf-8")
    report_html = recording.with_name(f"{recording.stem}.report.html")
    named = Report([replace(r, path=Path(r.path).name) for r in report.results], report.fail_level)
    report_html.write_text(html.render(named, RenderOptions()), encoding="utf-8")  # served: no server paths
    return {"recording": str(recording), "fixed": str(fixed) if fixed else None, "note": note,
            "report_json": str(report_json), "report_html": str(report_html),
            "report": json.loads(report.to_json())}


def submit_fixed(path: Path, rules: str, allowed: dict[str, Any], connection: Any = None) -> dict[str, Any]:
    """The fixed take through the submit pipeline, to the model the take's rule set is for, with the
    options ``allowed`` (a capture session's, set by its backend: name, voice_name, dry_run, prefix,
    expires, tavus_callback_url)."""
    from preflight.judge.ruleset import model_of
    from preflight.run.environment import from_environment
    from preflight.run.submit import submit

    setup = from_environment()
    fields = {k: v for k, v in allowed.items() if v is not None}
    if "tavus_callback_url" in fields:
        fields["callback_url"] = fields.pop("tavus_callback_url")
    outcome = submit(path, setup.options(model=model_of(rules), **fields), connection or setup.connection)
    return {**outcome.to_dict(), "message": outcome.message}
