"""``preflight check``: analyse files, judge them against rule sets, render the report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from preflight.analyze import analyze
from preflight.discover import discover
from preflight.engine import result, unusable
from preflight.errors import EXIT_FAIL, EXIT_OK, EXIT_UNUSABLE, UnusableInput, UsageError
from preflight.facts import Kind
from preflight.render import RENDERERS, RenderOptions
from preflight.report import FileResult, Report
from preflight.ruleset import DEFAULT_RULESETS, RuleSet, load

class ProgressBar(Protocol):
    """Shows one file's decode progress; ``close`` is called when the file is done, however it ended."""

    def __call__(self, now: float, total: float | None) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[Path], ProgressBar]


@dataclass(frozen=True)
class CheckOptions:
    rules: str | None = None
    fmt: str = "text"
    output: Path | None = None
    fail_level: str = "error"
    quick: bool = False
    render: RenderOptions = RenderOptions()


def rulesets_for(rules: str | None) -> dict[Kind, RuleSet]:
    """The rule set per kind of file: the chosen one for its kind, the default for the other."""
    chosen = load(rules) if rules else None
    return {kind: chosen if chosen is not None and chosen.kind == kind else load(name)
            for kind, name in DEFAULT_RULESETS.items()}


def build_report(paths: Sequence[Path], options: CheckOptions, progress: ProgressFactory | None = None) -> Report:
    rulesets = rulesets_for(options.rules)
    results = [_check_one(path, rulesets, options, progress) for path in discover(paths)]
    return Report(results, options.fail_level)


def _check_one(path: Path, rulesets: dict[Kind, RuleSet], options: CheckOptions,
               progress: ProgressFactory | None) -> FileResult:
    bar = progress(path) if progress is not None else None
    try:
        facts = analyze(path, decode=not options.quick, progress=bar,
                        settings_for=lambda kind: rulesets[kind].analysis)
    except UnusableInput as err:
        return unusable(str(path), str(err))
    finally:
        if bar is not None:
            bar.close()
    return result(str(path), facts, rulesets[facts.kind], options.fail_level)


def exit_code(report: Report) -> int:
    s = report.summary
    if s["errors"]:
        return EXIT_UNUSABLE
    return EXIT_FAIL if s["failed"] else EXIT_OK


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename: a reader never sees half a report."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish(Path(tmp), path)
    except OSError as err:
        raise UsageError(f"cannot write the report to {path}: {err.strerror or err}") from None


def publish(tmp: Path, path: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it private) and move it
    into place in one step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def run(paths: Sequence[Path], options: CheckOptions, echo: Callable[[str], None],
        progress: ProgressFactory | None = None) -> int:
    if options.output is not None and options.output.resolve() in {p.resolve() for p in paths}:
        raise UsageError(f"--output {options.output} would overwrite an input file")
    report = build_report(paths, options, progress)
    rendered = RENDERERS[options.fmt](report, options.render)
    if options.output is None:
        echo(rendered)
    else:
        write_atomically(options.output, rendered)
        if options.fmt != "text" and not options.render.quiet:
            echo(RENDERERS["text"](report, options.render))
    return exit_code(report)
