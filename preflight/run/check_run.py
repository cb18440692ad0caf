"""A whole ``check`` run as one Report: pick each input's rule set, take results from the cache or
analyse and judge the files (in parallel when there are several), add Tavus's image check if asked."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.inputs import project
from preflight.errors import EXIT_FAIL, EXIT_OK, EXIT_UNUSABLE
from preflight.inputs.project import LfsPolicy
from preflight.model.report import FileResult, Report
from preflight.run import execute
from preflight.run.cached import open_cache, store
from preflight.run.execute import BatchProgressFactory, ProgressFactory
from preflight.run.rulesets import RuleSets
from preflight.run.triage import Input, FileJob, sources, triage

if TYPE_CHECKING:
    from preflight.remote.guard import UrlGuard  # made where it is used: it loads httpx


@dataclass(frozen=True)
class CheckOptions:
    rules: str | None = None
    fail_level: str | None = None  # None: the project's (preflight.toml), else "error"
    quick: bool = False
    config: Path | None = None  # --config; None: look for preflight.toml / pyproject.toml upwards
    lfs_pointers: LfsPolicy | None = None  # None: the project's, else "fail"
    cache: bool = True
    jobs: int | None = None  # worker processes; None: one per core
    tavus: Any = None  # an api.Connection: images also get Tavus's own image check
    scheduler: str | None = None  # a Dask scheduler's address: the checks run on its workers
    url_guard: UrlGuard | None = None  # links to non-public hosts refused; links copied through the guard
    copies: Path | None = None  # where guarded links are copied (None: a temporary folder, removed after)


def build_report(paths: Sequence[Input], options: CheckOptions, progress: ProgressFactory | None = None,
                 batch_progress: BatchProgressFactory | None = None) -> Report:
    config = project.discover(Path.cwd(), options.config)
    fail_level = options.fail_level or (config.fail_level if config else None) or "error"
    lfs: LfsPolicy = options.lfs_pointers or (config.lfs_pointers if config else None) or "fail"
    chooser = RuleSets(options.rules, config)  # a bad --rules is reported before any file is looked at
    files = sources(_guarded_s3(paths, options.url_guard), config)
    cache = open_cache() if options.cache else None
    results: dict[int, FileResult] = {}
    jobs: list[FileJob] = []
    scratch = tempfile.TemporaryDirectory(prefix="preflight-links-") \
        if options.url_guard is not None and options.copies is None else None
    copies = Path(scratch.name) if scratch is not None else options.copies
    try:
        for index, path in enumerate(files):
            if isinstance(path, FileResult):  # a remote address that named nothing to check
                results[index] = path
                continue
            triaged = triage(index, path, chooser, cache, options.quick, fail_level, lfs, options.url_guard, copies)
            if isinstance(triaged, FileJob):
                jobs.append(triaged)
            else:
                results[index] = triaged
        for job, res in execute.run(jobs, quick=options.quick, fail_level=fail_level, jobs_at_once=options.jobs,
                                    scheduler=options.scheduler, progress=progress,
                                    batch_progress=batch_progress):
            results[job.index] = res
            store(cache, job.key, res)  # as each arrives: an interrupted run keeps what it finished
    finally:
        if cache is not None:
            cache.close()
        if scratch is not None:
            scratch.cleanup()
    report = Report([results[i] for i in sorted(results)], fail_level)
    if options.tavus is not None:
        from preflight.run.tavus_image import with_tavus_image_checks

        report = with_tavus_image_checks(report, options.tavus, chooser, files, options.url_guard)
    return report


def _guarded_s3(paths: Sequence[Input], guard: UrlGuard | None) -> list[Input | FileResult]:
    """With a URL guard (a service's), an ``s3://`` address of a bucket the server does not allow is
    its error result before anything asks S3 about it (the server's credentials are not the caller's)."""
    if guard is None:
        return list(paths)
    out: list[Input | FileResult] = []
    for item in paths:
        if isinstance(item, str) and item.lower().startswith("s3://") and (refusal := guard.s3_refusal(item)):
            out.append(FileResult(item.split("?", 1)[0], None, None, "error", refusal))
        else:
            out.append(item)
    return out


def exit_code(report: Report) -> int:
    s = report.summary
    if s["errors"]:
        return EXIT_UNUSABLE
    return EXIT_FAIL if s["failed"] else EXIT_OK
