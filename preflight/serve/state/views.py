"""A job as the API shows it: its status, and when done its report (or, for a face, the outcome)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preflight.model.report import FileResult, Report
from preflight.serve.state.jobs import Job


def view(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {"id": job.id, "kind": job.kind, "status": job.status, "name": job.name,
                           "created": job.created, "finished": job.finished}
    if job.status != "done":
        return out
    if job.kind == "face":
        result = job.result or {}
        out.update(face=result.get("face"), check=result.get("check"), message=result.get("message"),
                   error=job.error)
        return out
    out["report"] = report_of(job)
    if job.kind == "take":  # a recorded take's fix and check: which take, and a session's submit
        out.update(take=job.params.get("take_id"), submitted=(job.result or {}).get("submitted"))
        for result in out["report"].get("results", []):
            result["path"] = job.name if result.get("path") == job.source else Path(str(result.get("path"))).name
    return out


def report_of(job: Job) -> dict[str, Any]:
    """The job's preflight.report/1 document; a job that ended without one (its worker crashed, the
    server stopped) gets one whose single result is an ``error`` with the reason."""
    if job.result is not None and isinstance(job.result.get("report"), dict):
        report: dict[str, Any] = job.result["report"]
        return report
    document: dict[str, Any] = json.loads(Report([failed_result(job)]).to_json())
    return document


def failed_result(job: Job) -> FileResult:
    return FileResult(job.name, None, None, "error", job.error or "not checked", internal=True)
