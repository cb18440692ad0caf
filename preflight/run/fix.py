"""The fix pipeline: check a file, plan the mechanical fixes its failures call for, write a new file,
check that. The input is never touched; the output appears only when complete (written under a
temporary name, then renamed). Returns what happened; ``render/fixes.py`` says it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from preflight.inputs import project
from preflight.media.analyze import analyze
from preflight.judge.engine import result
from preflight.errors import EXIT_FAIL, EXIT_OK, UsageError
from preflight.model.facts import ImageFacts, Kind, VideoFacts
from preflight.inputs.files import publish
from preflight.fixing import image as image_fix
from preflight.fixing import video as video_fix
from preflight.fixing.plan import Plan, image_plan, output_fps, video_plan
from preflight.model.report import FileResult, Finding
from preflight.judge.ruleset import RuleSet
from preflight.run.pool import ProgressBar
from preflight.run.rulesets import RuleSets


@dataclass(frozen=True)
class FixOptions:
    output: Path | None = None
    rules: str | None = None
    dry_run: bool = False
    progress: Callable[[str], ProgressBar] | None = None  # a bar for the encode, given its label
    recheck: bool = True  # check the written file here (False: the caller checks it its own way)


@dataclass(frozen=True)
class FixRun:
    """What one fix did. ``written`` is the fixed file (None when nothing was written: nothing to fix,
    nothing fixable, or a dry run); ``after`` its check."""

    src: Path
    dst: Path
    before: FileResult
    plan: Plan
    written: Path | None = None
    after: FileResult | None = None
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failing(self) -> list[Finding]:
        return failing(self.before)

    @property
    def remaining(self) -> list[Finding]:
        """The errors a fix did not cover: they need a new recording or photo."""
        if self.after is not None:
            return [f for f in failing(self.after) if f.severity == "error"]
        unfixed = self.plan.unfixable if not self.plan.empty else self.failing
        return [f for f in unfixed if f.severity == "error"]

    @property
    def exit_code(self) -> int:
        """As ``check`` would: only errors fail; a file with warnings alone passes."""
        return EXIT_FAIL if self.remaining else EXIT_OK


def default_output(src: Path, kind: str) -> Path:
    return src.with_name(f"{src.stem}.fixed{'.mp4' if kind == 'video' else '.jpg'}")


RuleSetFor = Callable[[Kind], RuleSet]


def failing(res: FileResult) -> list[Finding]:
    return [f for f in res.findings if f.outcome == "fail"]


def fix_isolated(src: Path, options: FixOptions) -> FixRun:
    """``fix_file`` in a worker process of the crash-isolation pool, its progress bars drawn here: a
    native crash or a hang while this file is measured is a FixFailed (exit 2), not the end of the
    command. Mistakes (a usage error, an unusable file) are raised as ``fix_file`` raises them."""
    from preflight.errors import FixFailed
    from preflight.run import pool
    from preflight.run.batch import seconds_for

    limit = 3 * seconds_for(src)  # measured twice, encoded once (the encode has its own limit too)
    try:
        done: FixRun = pool.run_one(_fix_in_worker, src, replace(options, progress=None), limit_s=limit,
                                    bars=options.progress)
    except pool.Crashed:
        raise FixFailed(f"{src}: the analysis crashed or hung (over {limit:.0f} s) on this file (a decoder or "
                        "detector failure, or out of memory); nothing was written. Please report it") from None
    return done


def _fix_in_worker(src: Path, options: FixOptions) -> FixRun:
    from preflight.run.pool import relay_bars

    return fix_file(src, replace(options, progress=relay_bars()))


def fix_file(src: Path, options: FixOptions) -> FixRun:
    """Check ``src`` by the rule set ``check`` would judge it by, and write its fixed copy."""
    chooser = RuleSets(options.rules, project.discover(Path.cwd()))

    def ruleset_for(kind: Kind) -> RuleSet:
        return chooser.for_file(src, kind)

    facts, before = _check(src, ruleset_for)
    found = failing(before)
    plan = video_plan(facts, found) if isinstance(facts, VideoFacts) else image_plan(facts, found)
    dst = options.output or default_output(src, facts.kind)
    if dst.resolve() == src.resolve():
        raise UsageError(f"-o {dst} is the input file; preflight fix never overwrites its input")
    if not dst.parent.is_dir():
        raise UsageError(f"-o {dst}: the folder {dst.parent} does not exist; create it first or choose another")
    run = FixRun(src, dst, before, plan, dry_run=options.dry_run)
    if not found or plan.empty or options.dry_run:
        return run
    notes = _apply(src, dst, facts, plan, options, ruleset_for(facts.kind))
    after = _check(dst, ruleset_for)[1] if options.recheck else None
    return FixRun(src, dst, before, plan, dst, after, notes)


def _check(path: Path, ruleset_for: RuleSetFor) -> tuple[VideoFacts | ImageFacts, FileResult]:
    facts = analyze(path, settings_for=lambda kind: ruleset_for(kind).analysis)
    return facts, result(str(path), facts, ruleset_for(facts.kind), "error")


def _apply(src: Path, dst: Path, facts: VideoFacts | ImageFacts, plan: Plan, options: FixOptions,
           ruleset: RuleSet) -> list[str]:
    """Write the fixed file; returns notes for the user (e.g. an upscale). Ctrl-C or an error leaves
    no output behind: the temporary file is removed and ffmpeg is stopped."""
    notes: list[str] = []
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=dst.suffix, dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if isinstance(facts, VideoFacts):
            max_bytes = _max_bytes(ruleset) if "file.size" in plan.fixes else None
            bar = options.progress(f"encoding {dst.name}") if options.progress is not None else None
            try:
                notes += video_fix.reencode(src, tmp, facts, fps=output_fps(facts), loudnorm=plan.normalise_loudness,
                                            max_bytes=max_bytes,
                                            progress=(lambda t: bar(t, facts.duration_s)) if bar is not None else None)
            finally:
                if bar is not None:
                    bar.close()
        else:
            picture = image_fix.normalised(src, facts.exif_orientation)
            if plan.reframe and facts.faces:
                picture, scale = image_fix.reframed(picture, facts.faces[0])
                if scale > 1:
                    notes.append(f"the photo was upscaled {scale:.2f}x to reach 512 px; upscaling adds no detail, "
                                 "a larger original is better")
            image_fix.save_jpeg(picture, tmp)
        publish(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return notes


def _max_bytes(ruleset: RuleSet) -> int | None:
    """The file.size limit of the rule set the file is judged by (its threshold, not a parsed message)."""
    config = next((c for c in ruleset.rules if c.id == "file.size"), None)
    value = config.params.get("max_bytes") if config is not None else None
    return int(value) if isinstance(value, int) else None
