"""Judging: run a rule set's rules over one file's facts and collect findings."""

from __future__ import annotations

from preflight.checks import RULES
from preflight.facts import Facts
from preflight.report import FileResult, FileVerdict, Finding
from preflight.ruleset import SEVERITIES, RuleConfig, RuleSet, Severity


def judge(facts: Facts, ruleset: RuleSet) -> list[Finding]:
    return [_finding(facts, config) for config in ruleset.rules]


def _finding(facts: Facts, config: RuleConfig) -> Finding:
    spec = RULES[config.id]
    verdict = spec.func(facts, **config.params)
    severity: Severity = config.severity
    if verdict.soft:  # a recommendation, not a requirement: never worse than a warning
        severity = min(severity, "warning", key=SEVERITIES.index)
    return Finding(
        rule=config.id, severity=severity, outcome=verdict.outcome, message=verdict.message,
        fix=config.fix, measured=verdict.measured, expected=verdict.expected,
        summary=spec.summary, source=config.source, spans=verdict.spans,
    )


def result(path: str, facts: Facts, ruleset: RuleSet, fail_level: str) -> FileResult:
    findings = judge(facts, ruleset)
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return FileResult(path, facts.kind, ruleset.name, verdict, None, facts.to_dict(), findings)


def unusable(path: str, reason: str) -> FileResult:
    return FileResult(path, None, None, "error", reason, None, [])
