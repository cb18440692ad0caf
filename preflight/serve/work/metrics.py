"""``GET /metrics`` in Prometheus' text format (prometheus_client): jobs by kind and verdict, the queue
length and jobs running, and how long jobs took."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from preflight.serve.state.jobs import Job, Jobs

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self, jobs: Jobs) -> None:
        self.registry = CollectorRegistry()
        self.accepted_total = Counter("preflight_jobs_accepted_total", "Jobs accepted", ["kind"],
                                      registry=self.registry)
        self.finished_total = Counter("preflight_jobs_finished_total", "Jobs finished, by verdict",
                                      ["kind", "verdict"], registry=self.registry)
        self.duration = Histogram("preflight_job_duration_seconds", "From start to finish of a job's analysis",
                                  ["kind"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.waiting = Histogram("preflight_job_queue_seconds", "From acceptance to start", ["kind"],
                                 buckets=DURATION_BUCKETS, registry=self.registry)
        queued = Gauge("preflight_queue_length", "Jobs waiting for a node (the cluster's queue)", registry=self.registry)
        queued.set_function(lambda: _count(jobs, "queued"))
        running = Gauge("preflight_jobs_running", "Jobs a node runs (all nodes)", registry=self.registry)
        running.set_function(lambda: _count(jobs, "running"))
        self._recent: list[float] = []

    def accepted(self, kind: str) -> None:
        self.accepted_total.labels(kind).inc()

    def finished(self, job: Job) -> None:
        self.finished_total.labels(job.kind, job.verdict or "error").inc()
        if job.started is not None and job.finished is not None:
            took = job.finished - job.started
            self.duration.labels(job.kind).observe(took)
            self._recent = [*self._recent[-49:], took]
            self.waiting.labels(job.kind).observe(max(0.0, job.started - job.created))

    def typical_seconds(self) -> float:
        """The median of the last 50 jobs' durations (5 s before any): for Retry-After."""
        if not self._recent:
            return 5.0
        ordered = sorted(self._recent)
        return ordered[len(ordered) // 2]

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _count(jobs: Jobs, status: str) -> float:
    from preflight.errors import PreflightError

    try:
        return float(jobs.counts().get(status, 0))
    except PreflightError:  # the database is away: no figure rather than a failed scrape
        return float("nan")
