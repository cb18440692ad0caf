"""Tavus's own image check (``POST /v2/faces/image-validation``) as the finding ``tavus.image_validation``
beside preflight's: for ``check --tavus`` on every judged local image, and for ``submit`` before any
upload. Remote, so never cached."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from preflight.api.client import ImageValidation, TavusClient
from preflight.api.connection import Connection
from preflight.engine import judge
from preflight.facts import TavusFacts, TavusOnlyFacts
from preflight.report import FileResult, FileVerdict, Report
from preflight.ruleset import RuleSet
from preflight.run.rulesets import Chooser


def as_facts(validation: ImageValidation, model: str) -> TavusOnlyFacts:
    return TavusOnlyFacts("image", TavusFacts(model, validation.passed, validation.checks))


def with_finding(res: FileResult, validation: ImageValidation, model: str, ruleset: RuleSet,
                 fail_level: str) -> FileResult:
    """``res`` with Tavus's verdict judged by ``ruleset``'s ``tavus.*`` rules, and its verdict again."""
    findings = [*res.findings, *judge(as_facts(validation, model), ruleset)]
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return replace(res, findings=findings, verdict=verdict)


def with_tavus_image_checks(report: Report, conn: Connection, choose: Chooser, model: str = "phoenix-4") -> Report:
    """Each judged local image also gets Tavus's own verdict for ``model``, as one more finding."""
    results = []
    with TavusClient(conn.api_key, conn.base_url) as api:
        for res in report.results:
            path = Path(res.path)
            if res.kind != "image" or res.verdict not in ("pass", "fail") or not path.is_file():
                results.append(res)
                continue
            validation = api.validate_image(path.read_bytes(), model)
            results.append(with_finding(res, validation, model, choose(path, "image"), report.fail_level))
    return replace(report, results=results)
