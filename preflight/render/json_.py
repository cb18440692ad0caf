"""``--format json``: the whole report as one document (schema ``preflight.report/1``)."""

from __future__ import annotations

import json

from preflight.render import RenderOptions
from preflight.report import Report


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
