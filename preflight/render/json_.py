"""``--format json``: the whole report as one document (schema ``preflight.report/1``)."""

from __future__ import annotations

from preflight.render.options import RenderOptions
from preflight.model.report import Report


def render(report: Report, options: RenderOptions) -> str:
    return report.to_json()
