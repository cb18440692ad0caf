"""``preflight fix``: check a file, plan the mechanical fixes its failures call for, write a new file,
check that, and report before and after. The input is never touched; the output appears only when
complete (written under a temporary name, then renamed)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from preflight import project
from preflight.analyze import analyze
from preflight.commands.check import RuleSets, publish
from preflight.engine import result
from preflight.errors import EXIT_FAIL, EXIT_OK, UsageError
from preflight.facts import ImageFacts, Kind, VideoFacts
from preflight.fixing import image as image_fix
from preflight.fixing import video as video_fix
from preflight.fixing.plan import Plan, image_plan, output_fps, video_plan
from preflight.report import FileResult, Finding
from preflight.ruleset import RuleSet

Echo = Callable[[str], None]


class ProgressBar(Protocol):
    def __call__(self, now: float, total: float | None) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class FixOptions:
    output: Path | None = None
    rules: str | None = None
    dry_run: bool = False
    progress: Callable[[str], ProgressBar] | None = None  # a bar for the encode, given its label


def default_output(src: Path, kind: str) -> Path:
    return src.with_name(f"{src.stem}.fixed{'.mp4' if kind == 'video' else '.jpg'}")


RuleSetFor = Callable[[Kind], RuleSet]


def _rulesets(src: Path, rules: str | None) -> RuleSetFor:
    """The rule set ``check`` would judge ``src`` by (``--rules``, else the project's preflight.toml,
    else the default); the fixed file is judged by the same one."""
    chooser = RuleSets(rules, project.discover(Path.cwd()))
    return lambda kind: chooser.for_file(src, kind)


def _check(path: Path, ruleset_for: RuleSetFor) -> tuple[VideoFacts | ImageFacts, FileResult]:
    facts = analyze(path, settings_for=lambda kind: ruleset_for(kind).analysis)
    return facts, result(str(path), facts, ruleset_for(facts.kind), "error")


def _failing(res: FileResult) -> list[Finding]:
    return [f for f in res.findings if f.outcome == "fail"]


def _listing(findings: list[Finding]) -> list[str]:
    return [f"  - {f.rule} ({f.severity}): {f.message}" for f in findings]


def run(src: Path, options: FixOptions, echo: Echo) -> int:
    ruleset_for = _rulesets(src, options.rules)
    facts, before = _check(src, ruleset_for)
    failing = _failing(before)
    plan = video_plan(facts, failing) if isinstance(facts, VideoFacts) else image_plan(facts, failing)
    dst = options.output or default_output(src, facts.kind)
    if dst.resolve() == src.resolve():
        raise UsageError(f"-o {dst} is the input file; preflight fix never overwrites its input")
    if not dst.parent.is_dir():
        raise UsageError(f"-o {dst}: the folder {dst.parent} does not exist; create it first or choose another")
    if not failing:
        echo(f"{src}: nothing to fix, every rule passes\n")
        return EXIT_OK
    echo(_plan_text(src, dst, plan))
    if plan.empty or options.dry_run:
        # Exit as `check` would: only errors fail; a file with warnings alone passes.
        unfixed = plan.unfixable if not plan.empty else failing
        return EXIT_FAIL if any(f.severity == "error" for f in unfixed) else EXIT_OK
    notes = _apply(src, dst, facts, plan, before, options, ruleset_for(facts.kind))
    if notes:
        echo("".join(f"note: {n}\n" for n in notes))
    _, after = _check(dst, ruleset_for)
    echo(_before_after(before, after))
    remaining = [f for f in _failing(after) if f.severity == "error"]
    if remaining:
        echo("These need a new recording or photo; no mechanical fix covers them:\n"
             + "\n".join(_listing(remaining)) + "\n")
    return EXIT_FAIL if remaining else EXIT_OK


def _plan_text(src: Path, dst: Path, plan: Plan) -> str:
    lines = [f"{src}: fix plan"]
    lines += [f"  + {step}" for step in plan.steps] or ["  (no mechanical fix applies)"]
    if plan.steps:
        lines.append(f"  → {dst}")
    if plan.unfixable:
        lines.append("Not fixable by preflight (a new recording or photo is needed):")
        lines += _listing(plan.unfixable)
    return "\n".join(lines) + "\n"


def _apply(src: Path, dst: Path, facts: VideoFacts | ImageFacts, plan: Plan, before: FileResult,
           options: FixOptions, ruleset: RuleSet) -> list[str]:
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
                video_fix.reencode(src, tmp, facts, fps=output_fps(facts), loudnorm=plan.normalise_loudness,
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


def _before_after(before: FileResult, after: FileResult) -> str:
    was = {f.rule for f in _failing(before)}
    now = {f.rule for f in _failing(after)}
    fixed, still = sorted(was - now), sorted(was & now)
    lines = [f"after: {after.path} {after.verdict.upper()}"]
    if fixed:
        lines.append(f"  fixed: {', '.join(fixed)}")
    if still:
        lines.append(f"  still failing: {', '.join(still)}")
    new = sorted(now - was)
    if new:
        lines.append(f"  newly failing: {', '.join(new)}")
    return "\n".join(lines) + "\n"
