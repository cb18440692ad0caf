"""Tavus's own image check (``POST /v2/faces/image-validation``) as the finding ``tavus.image_validation``
beside preflight's: for ``check --tavus`` on every judged image (local, or a link read whole), and
for ``submit`` before any upload. Remote, so never cached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from preflight.api.client import ImageValidation, TavusClient
from preflight.api.connection import Connection
from preflight.judge.engine import judge
from preflight.model.facts import TavusFacts, TavusOnlyFacts
from preflight.remote.source import Remote, read_image
from preflight.model.report import FileResult, FileVerdict, Report
from preflight.judge.ruleset import RuleSet
from preflight.run.rulesets import Chooser

if TYPE_CHECKING:
    from preflight.remote.guard import UrlGuard


def as_facts(validation: ImageValidation, model: str) -> TavusOnlyFacts:
    return TavusOnlyFacts("image", TavusFacts(model, validation.passed, validation.checks))


def with_finding(res: FileResult, validation: ImageValidation, model: str, ruleset: RuleSet,
                 fail_level: str) -> FileResult:
    """``res`` with Tavus's verdict judged by ``ruleset``'s ``tavus.*`` rules, and its verdict again."""
    findings = [*res.findings, *judge(as_facts(validation, model), ruleset)]
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return replace(res, findings=findings, verdict=verdict)


def with_tavus_image_checks(report: Report, conn: Connection, choose: Chooser, sources: Sequence[object],
                            guard: UrlGuard | None = None, model: str = "phoenix-4") -> Report:
    """Each judged image also gets Tavus's own verdict for ``model``, as one more finding. ``sources``
    are the report's inputs in its order (a local path, or a remote file: read whole, within the
    headshot limit, through ``guard`` when there is one)."""
    results = []
    with TavusClient(conn.api_key, conn.base_url) as api:
        for res, source in zip(report.results, sources):
            if res.kind != "image" or res.verdict not in ("pass", "fail") or not isinstance(source, (Path, Remote)):
                results.append(res)
                continue
            validation = api.validate_image(_image_bytes(source, guard), model)
            results.append(with_finding(res, validation, model, choose(source, "image"), report.fail_level))
    return replace(report, results=results)


def _image_bytes(source: Path | Remote, guard: UrlGuard | None) -> bytes:
    if isinstance(source, Path):
        return source.read_bytes()
    if guard is not None and source.s3 is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="preflight-tavus-") as tmp:
            return read_image(replace(source, copy=guard.copy(source.url, Path(tmp) / "image")))
    return read_image(source)
