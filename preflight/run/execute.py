"""Running the analysis jobs of a check: one in this process, several in worker processes, or all on
a Dask cluster. Results come back as they finish, each with its job."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import replace

from preflight.report import FileResult
from preflight.run import batch
from preflight.run.isolated import ProgressBar, Source, check_file
from preflight.run.triage import Job

ProgressFactory = Callable[[Source], ProgressBar]
BatchProgressFactory = Callable[[int], ProgressBar]


def run(jobs: list[Job], *, quick: bool, fail_level: str, jobs_at_once: int | None = None,
        scheduler: str | None = None, progress: ProgressFactory | None = None,
        batch_progress: BatchProgressFactory | None = None) -> Iterator[tuple[Job, FileResult]]:
    if not jobs:  # every file came from the cache, or could not be judged
        return
    if scheduler is not None:
        yield from _on_cluster(jobs, scheduler, quick, fail_level, batch_progress)
        return
    if len(jobs) == 1:  # in this process, with its own progress bar; a crash here ends only this file's run
        (job,) = jobs
        yield job, check_file(job.path, job.ruleset, quick, fail_level,
                              progress(job.path) if progress is not None else None)
        return
    # Several files always go to worker processes, even with -j 1: a native crash on one file must not
    # take the others' results down with this process.
    workers = batch.worker_count(jobs_at_once, len(jobs))
    bar = batch_progress(len(jobs)) if batch_progress is not None else None
    try:
        work = functools.partial(_work, quick=quick, fail_level=fail_level)
        for done, (job, res) in enumerate(batch.run_parallel(work, jobs, workers, _crashed), start=1):
            if bar is not None:
                bar(done, len(jobs))
            yield job, res
    finally:
        if bar is not None:
            bar.close()


def _work(job: Job, quick: bool, fail_level: str) -> FileResult:
    with batch.time_limit(batch.seconds_for(job.path)):
        return check_file(job.path, job.ruleset, quick, fail_level)


def _crashed(job: Job) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      f"the analysis process crashed or hung (over {batch.seconds_for(job.path):.0f} s) on this file "
                      "twice, the second time alone (a decoder or detector failure, or out of memory); the "
                      "other files are unaffected. Please report it",
                      internal=True)


def _cluster_work(job: Job, quick: bool, fail_level: str) -> FileResult:
    """On a Dask worker: no time limit of our own (the worker process is Dask's, and faulthandler's
    watchdog is one per process)."""
    return check_file(job.path, job.ruleset, quick, fail_level)


def _on_cluster(jobs: list[Job], scheduler: str, quick: bool, fail_level: str,
                batch_progress: BatchProgressFactory | None) -> Iterator[tuple[Job, FileResult]]:
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


def _crashed_on_cluster(job: Job) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      "the check ended every Dask worker it was given to (a decoder or detector crash, or out of "
                      "memory); the other files are unaffected. Please report it", internal=True)
