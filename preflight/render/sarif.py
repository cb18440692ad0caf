"""``--format sarif``: SARIF 2.1.0, one result per failed rule, for code-scanning dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preflight.render.options import RenderOptions
from preflight.model.report import Finding, Report

_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render(report: Report, options: RenderOptions) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for result in report.results:
        location = _location(result.path)
        if result.error is not None:
            level = "warning" if result.verdict == "skip" else "error"
            notes.append({"level": level, "message": {"text": f"{result.path}: {result.error}"},
                          "locations": [location]})
            continue
        for f in result.findings:
            rules.setdefault(f.rule, _descriptor(f))
            if f.outcome == "fail":
                results.append(_result(f, list(rules).index(f.rule), location))
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "preflight", "version": report.tool_version,
                            "rules": list(rules.values())}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        "results": results,
    }
    return json.dumps({"$schema": _SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False) + "\n"


def _descriptor(f: Finding) -> dict[str, Any]:
    return {
        "id": f.rule,
        "shortDescription": {"text": f.summary or f.rule},
        "help": {"text": f"{f.fix}\nSource: {f.source}"},
        "defaultConfiguration": {"level": _LEVELS[f.severity]},
    }


def _result(f: Finding, index: int, location: dict[str, Any]) -> dict[str, Any]:
    return {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _LEVELS[f.severity],
        "message": {"text": f"{f.message}. Fix: {f.fix}"},
        "locations": [location],
        "properties": {"measured": f.measured, "expected": f.expected},
    }


def _location(path: str) -> dict[str, Any]:
    p = Path(path)
    uri = p.resolve().as_uri() if p.is_absolute() else p.as_posix()
    return {"physicalLocation": {"artifactLocation": {"uri": uri}}}
