"""``--format compact``: one line per failing rule with its fix hint, for pre-commit hooks and logs.

    faces/ana.mp4: error face.count: 2 faces 0:41–0:44 — fix: record alone …
"""

from __future__ import annotations

from preflight.render.options import RenderOptions
from preflight.model.report import Report


def render(report: Report, options: RenderOptions) -> str:
    lines = []
    for r in report.results:
        if r.error is not None:
            word = {"error": "unusable", "skip": "skipped", "fail": "error"}.get(r.verdict, r.verdict)
            lines.append(f"{r.path}: {word}: {r.error}")
            continue
        for f in r.findings:
            if f.fails_at(report.fail_level) or (options.verbose and f.outcome == "fail"):
                lines.append(f"{r.path}: {f.severity} {f.rule}: {f.message} — fix: {f.fix}")
    if lines or not options.quiet:
        lines.append(f"preflight: {report.files_text}, {report.tally_text}")
    return "\n".join(lines) + "\n" if lines else ""
