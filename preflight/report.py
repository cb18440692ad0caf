"""The report model: findings per file and a summary. Built by the engine, shown by renderers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from preflight import __version__
from preflight.checks.registry import Outcome
from preflight.ruleset import SEVERITIES, Severity

SCHEMA = "preflight.report/1"
FileVerdict = Literal["pass", "fail", "error"]


def at_least(severity: str, level: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    outcome: Outcome
    message: str
    fix: str
    measured: Any
    expected: Any
    summary: str = ""  # the rule's one-line description (its docstring's first line)
    source: str = ""  # the documented requirement behind the rule

    def fails_at(self, level: str) -> bool:
        return self.outcome == "fail" and at_least(self.severity, level)


@dataclass(frozen=True)
class FileResult:
    path: str
    kind: str | None
    ruleset: str | None
    verdict: FileVerdict
    error: str | None = None
    facts: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    results: list[FileResult]
    fail_level: str = "error"
    tool_version: str = __version__

    @property
    def summary(self) -> dict[str, int]:
        verdicts = [r.verdict for r in self.results]
        return {"files": len(verdicts), "passed": verdicts.count("pass"),
                "failed": verdicts.count("fail"), "errors": verdicts.count("error")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "preflight", "version": self.tool_version},
            "fail_level": self.fail_level,
            "results": [_result_dict(r) for r in self.results],
            "summary": self.summary,
        }


def _result_dict(result: FileResult) -> dict[str, Any]:
    d = asdict(result)
    d["findings"] = [
        {k: f[k] for k in ("rule", "severity", "outcome", "message", "fix", "measured", "expected")}
        for f in d["findings"]
    ]
    return d
