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


def check_in_worker(path: Source, ruleset: RuleSet, quick: bool, fail_level: str,
                    progress: ProgressBar | None = None) -> FileResult:
    """``check_file`` in a worker of the crash-isolation pool (here, when this is a worker already), its
    progress drawn here: a native crash or a hang is this file's error result, never this process's end."""
    from preflight.run import pool
    from preflight.run.batch import seconds_for

    limit = seconds_for(path)
    try:
        done: FileResult = pool.run_one(check_relayed, path, ruleset, quick, fail_level, limit_s=limit,
                                        bars=(lambda label: progress) if progress is not None else None)
    except pool.Crashed:
        return FileResult(str(path), None, ruleset.name, "error",
                          f"the analysis process crashed or hung (over {limit:.0f} s) on this file (a decoder or "
                          "detector failure, or out of memory). Please report it", internal=True)
    return done


def check_relayed(path: Source, ruleset: RuleSet, quick: bool, fail_level: str) -> FileResult:
    """``check_file`` in a worker, its decode progress sent to the parent's bar."""
    from preflight.run.pool import relay_bars

    bars = relay_bars()
    return check_file(path, ruleset, quick, fail_level, bars("decoding") if bars is not None else None)
