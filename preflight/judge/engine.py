"""Judging: run a rule set's rules over one file's facts and collect findings."""

from __future__ import annotations

from preflight.checks import RULES
from preflight.model.facts import Facts, LinkOnlyFacts, TavusOnlyFacts
from preflight.model.report import FileResult, FileVerdict, Finding
from preflight.judge.ruleset import RuleConfig, RuleSet
from preflight.model.report import SEVERITIES, Severity


def judge(facts: Facts | LinkOnlyFacts | TavusOnlyFacts, ruleset: RuleSet) -> list[Finding]:
    """Every rule of ``ruleset`` over ``facts``. ``url.*`` (link) rules run for remote files only; a
    remote file that could not be fetched (LinkOnlyFacts) gets only those, and one finding that says
    the media rules did not run. ``tavus.*`` rules run only over Tavus's own verdict (TavusOnlyFacts)."""
    if isinstance(facts, TavusOnlyFacts):
        return [finding(facts, c) for c in ruleset.rules if RULES[c.id].kind == "tavus"]
    link = facts.link
    if isinstance(facts, LinkOnlyFacts):
        found = [finding(facts, c) for c in ruleset.rules if RULES[c.id].kind == "link"]
        return found + [Finding(rule="media.not_run", severity="warning", outcome="skip",
                                message="the media rules did not run: the file could not be fetched (see url.*)",
                                fix="", measured=None, expected=None, summary="the media rules")]
    return [finding(facts, config) for config in ruleset.rules
            if RULES[config.id].kind != "tavus" and (link is not None or RULES[config.id].kind != "link")]


def finding(facts: Facts | LinkOnlyFacts | TavusOnlyFacts, config: RuleConfig) -> Finding:
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


def result(path: str, facts: Facts | LinkOnlyFacts, ruleset: RuleSet, fail_level: str) -> FileResult:
    findings = judge(facts, ruleset)
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return FileResult(path, facts.kind, ruleset.name, verdict, None, facts.to_dict(), findings)


def unusable(path: str, reason: str) -> FileResult:
    return FileResult(path, None, None, "error", reason, None, [])
