"""``--format text``: for people. Failures first, grouped per file, each with its fix hint."""

from __future__ import annotations

from typing import Protocol

import click

from preflight.render.options import RenderOptions
from preflight.model.report import FileResult, Finding, Report
from preflight.model.report import SEVERITIES

_MARKS = {"error": ("✗", "red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}
_VERDICTS = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "error": ("ERROR", "magenta"),
             "skip": ("SKIP", "yellow")}


def render(report: Report, options: RenderOptions) -> str:
    def style(text: str, color: str, bold: bool = False) -> str:
        return click.style(text, fg=color, bold=bold) if options.color else text

    blocks = [_file_block(r, options, style) for r in report.results
              if not (options.quiet and r.verdict == "pass")]
    s = report.summary
    line = f"{report.files_text}: {report.tally_text}" + (" (not fetched)" if s["skipped"] else "")
    cached = sum(r.cached for r in report.results)
    if cached:
        line += f" ({cached} from the cache)"
    if not (options.quiet and s["files"] == s["passed"]):
        blocks.append(style(line, "red" if s["failed"] or s["errors"] else "green", bold=True))
    return "\n".join(b for b in blocks if b) + "\n" if blocks else ""


def _file_block(result: FileResult, options: RenderOptions, style: Style) -> str:
    word, color = _VERDICTS[result.verdict]
    head = f"{style(word, color, bold=True)}  {result.path}"
    if result.error is not None:
        return f"{head}: {result.error}"
    lines = [f"{head}  ({result.kind}, rule set {result.ruleset})"]
    failing = sorted((f for f in result.findings if f.outcome == "fail"),
                     key=lambda f: -SEVERITIES.index(f.severity))
    for finding in failing:
        lines += _finding_lines(finding, style)
    if not options.quiet:
        lines += _skip_lines([f for f in result.findings if f.outcome == "skip"])
        passed = [f for f in result.findings if f.outcome == "pass"]
        if options.verbose:
            lines += [f"  {style('✓', 'green')} pass     {f.rule:<22} {f.message}" for f in passed]
        elif passed:
            lines.append(f"  {style('✓', 'green')} {len(passed)} rule{'s' * (len(passed) != 1)} passed")
    return "\n".join(lines)


def _skip_lines(skips: list[Finding]) -> list[str]:
    """One line per reason: seven face rules skipped for "no face" are one line, not seven."""
    by_reason: dict[str, list[str]] = {}
    for f in skips:
        by_reason.setdefault(f.message, []).append(f.rule)
    lines = []
    for reason, rules in by_reason.items():
        names = rules[0] if len(rules) == 1 else f"{rules[0]} and {len(rules) - 1} more"
        lines.append(f"  - skip     {names:<22} {reason}")
        if len(rules) > 1:
            lines.append(f"    {'':<8} {'':<22} ({', '.join(rules)})")
    return lines


def _finding_lines(finding: Finding, style: Style) -> list[str]:
    mark, color = _MARKS[finding.severity]
    label = f"{finding.severity:<8}"
    return [
        f"  {style(mark, color, bold=True)} {style(label, color)} {finding.rule:<22} {finding.message}",
        f"    {'':<8} {'':<22} fix: {finding.fix}",
    ]


class Style(Protocol):
    def __call__(self, text: str, color: str, bold: bool = False) -> str: ...
