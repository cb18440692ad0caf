"""``--format github``: GitHub Actions workflow commands, shown as annotations on the files."""

from __future__ import annotations

from preflight.render.options import RenderOptions
from preflight.model.report import Report

_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, options: RenderOptions) -> str:
    lines = []
    for result in report.results:
        where = f"file={_prop(result.path)}"
        if result.error is not None:
            level = {"error": "error", "fail": "error", "skip": "warning"}.get(result.verdict, "error")
            title = "not fetched" if result.not_fetched else "unusable input"
            lines.append(f"::{level} {where},title={title}::{_data(result.error)}")
            continue
        for f in result.findings:
            if f.outcome == "fail":
                title = _prop(f"{f.rule}: {f.summary}")
                lines.append(f"::{_LEVELS[f.severity]} {where},title={title}::{_data(f.message + ' — fix: ' + f.fix)}")
    lines.append(f"preflight: {report.summary['files']} files, {report.tally_text}")
    return "\n".join(lines) + "\n"
