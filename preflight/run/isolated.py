"""One input's check, isolated: whatever happens while it is measured or judged becomes its result.

Runs in a worker process in a batch: the decoder and the face detector are imported here, so a run
served from the cache never loads them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from preflight.errors import StageFailed, UnusableInput
from preflight.model.failures import stage
from preflight.remote.source import Remote
from preflight.model.report import FileResult
from preflight.run.pool import ProgressBar
from preflight.judge.ruleset import RuleSet

Source = Path | Remote



def check_file(path: Source, ruleset: RuleSet, quick: bool, fail_level: str,
               progress: ProgressBar | None = None) -> FileResult:
    """Analyse one file and judge it. Never raises for the file's sake: an unusable file is an
    ``error`` result with its reason, a bug while measuring or judging an ``internal`` one."""
    try:
        from preflight.media.analyze import analyze
        from preflight.judge.engine import result, unusable
        from preflight.media.preview import Thumbnails

        thumbs = Thumbnails()
        try:
            facts = analyze(path, decode=not quick, progress=progress, thumbs=thumbs,
                            settings_for=lambda kind: ruleset.analysis)
        except UnusableInput as err:
            return unusable(str(path), str(err))
        finally:
            if progress is not None:
                progress.close()
        if facts.kind != ruleset.kind:
            return unusable(str(path), "changed while it was being checked; check it again")
        with stage("judge"):
            return replace(result(str(path), facts, ruleset, fail_level), preview=thumbs.thumbs)
    except StageFailed as failure:
        return internal_error(path, ruleset, failure)
    except Exception as err:  # anything outside the tagged stages is still only this file's problem
        return internal_error(path, ruleset, StageFailed("check", err))


def internal_error(path: Source, ruleset: RuleSet | None, failure: StageFailed) -> FileResult:
    return FileResult(str(path), None, ruleset.name if ruleset else None, "error", failure.reason(),
                      internal=True, traceback=f"{path}: {failure}\n{failure.traceback}")
