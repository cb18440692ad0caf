"""Running the analysis jobs of a check: in the crash-isolation pool's worker processes (one job
too), or all on a Dask cluster. Results come back as they finish, each with its job."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import replace

from preflight.model.report import FileResult
from preflight.run import batch
from preflight.run.isolated import Source, check_file, check_relayed
from preflight.run.pool import ProgressBar
from preflight.run.pool import BarFactory
from preflight.run.triage import FileJob

ProgressFactory = Callable[[Source], ProgressBar]
BatchProgressFactory = Callable[[int], ProgressBar]


def run(jobs: list[FileJob], *, quick: bool, fail_level: str, jobs_at_once: int | None = None,
        scheduler: str | None = None, progress: ProgressFactory | None = None,
        batch_progress: BatchProgressFactory | None = None) -> Iterator[tuple[FileJob, FileResult]]:
    if not jobs:  # every file came from the cache, or could not be judged
        return
    if scheduler is not None:
        yield from _on_cluster(jobs, scheduler, quick, fail_level, batch_progress)
        return
    # Every file goes to a worker process, a single one too, even with -j 1: a native crash on one file
    # must not take the others' results (or the report) down with this process.
    workers = batch.worker_count(jobs_at_once, len(jobs))
    single = len(jobs) == 1
    bar = batch_progress(len(jobs)) if batch_progress is not None and not single else None

    def bars(job: FileJob) -> BarFactory | None:  # one file: its own decode progress, drawn here
        if not single or progress is None:
            return None
        return lambda label: progress(job.path)

    try:
        work = functools.partial(_work, quick=quick, fail_level=fail_level)
        for done, (job, res) in enumerate(batch.run_parallel(work, jobs, workers, _crashed,
                                                             limit=lambda j: batch.seconds_for(j.path), bars=bars),
                                          start=1):
            if bar is not None:
                bar(done, len(jobs))
            yield job, res
    finally:
        if bar is not None:
            bar.close()


def _work(job: FileJob, quick: bool, fail_level: str) -> FileResult:
    return check_relayed(job.path, job.ruleset, quick, fail_level)


def _crashed(job: FileJob) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      f"the analysis process crashed or hung (over {batch.seconds_for(job.path):.0f} s) on this file, "
                      "with no other file beside it (a decoder or detector failure, or out of memory); the "
                      "other files are unaffected. Please report it",
                      internal=True)


def _cluster_work(job: FileJob, quick: bool, fail_level: str) -> FileResult:
    """On a Dask worker: no time limit of our own (the worker process is Dask's, and faulthandler's
    watchdog is one per process)."""
    return check_file(job.path, job.ruleset, quick, fail_level)


def _on_cluster(jobs: list[FileJob], scheduler: str, quick: bool, fail_level: str,
                batch_progress: BatchProgressFactory | None) -> Iterator[tuple[FileJob, FileResult]]:
    """Workers get local paths made absolute; each result comes back under the path as it was given."""
    from preflight.run import cluster

    given = {job.index: job for job in jobs}
    bar = batch_progress(len(jobs)) if batch_progress is not None else None
    try:
        work = functools.partial(_cluster_work, quick=quick, fail_level=fail_level)
        sent = [replace(job, path=cluster.absolute(job.path)) for job in jobs]
        for done, (job, res) in enumerate(cluster.run_on_cluster(work, sent, scheduler, _crashed_on_cluster),
                                          start=1):
            if bar is not None:
                bar(done, len(jobs))
            original = given[job.index]
            yield original, replace(res, path=str(original.path))
    finally:
        if bar is not None:
            bar.close()


def _crashed_on_cluster(job: FileJob) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      "the check ended every Dask worker it was given to (a decoder or detector crash, or out of "
                      "memory); the other files are unaffected. Please report it", internal=True)
