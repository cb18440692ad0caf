"""Run many checks at once: worker processes across the cores, with memory kept bounded.

One file per worker at a time; the number of workers is the smaller of the cores (or ``--jobs``), the
files, and the memory available divided by what one analysis may need (``PER_WORKER_BYTES``: a 4K
video peaks near 260 MB). A single file runs in a worker process too, its progress bar drawn here: a
crash in a decoder never takes the command down with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from pathlib import Path
from typing import TypeVar

from preflight.run.pool import BarFactory, forks_alone, isolated, run_alone, shared, time_limit

__all__ = ["run_parallel", "seconds_for", "time_limit", "worker_count"]

J = TypeVar("J")
R = TypeVar("R")
PER_WORKER_BYTES = 512 * 1024 * 1024


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (free memory plus what the page cache would give back)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(requested: int | None, files: int) -> int:
    n = min(requested or cores(), files)
    memory = available_memory()
    if memory is not None:
        n = min(n, memory // PER_WORKER_BYTES)
    return max(1, n)


def seconds_for(path: Path | object) -> float:
    """How long a worker may spend on one file before it is taken for hung: two minutes plus a second
    per MB (a 750 MB video gets 14.5 minutes; preflight decodes 60 s of 1080p in about 4 s). A remote
    file gets twice that: it is read over the network as it is decoded."""
    link = getattr(path, "link", None)
    if link is not None:
        return seconds_for_link(link.length)
    try:
        size = path.stat().st_size if isinstance(path, Path) else 0
    except OSError:
        size = 0
    return 120.0 + size / 1e6


def seconds_for_link(length: int | None) -> float:
    """A link's time limit: twice a local file's (read as it is decoded); one of unknown length gets
    that of the longest file Tavus takes."""
    from preflight.judge.ruleset import max_upload_bytes

    return 2 * (120.0 + (length or max_upload_bytes()) / 1e6)


def run_parallel(work: Callable[[J], R], jobs: Sequence[J], workers: int, crashed: Callable[[J], R],
                 limit: Callable[[J], float | None] = lambda job: None,
                 bars: Callable[[J], BarFactory | None] = lambda job: None) -> Iterator[tuple[J, R]]:
    """``work(job)`` for every job in the crash-isolation pool of ``workers`` processes (one job too);
    yields (job, result) as each finishes.

    A job whose worker dies, or that passes ``limit(job)`` seconds, costs only itself: it gets
    ``crashed(job)`` as its result once it has killed a worker running alone; the jobs that shared the
    dead pool with it run again and get their real results (see pool.py). A job whose work raises
    gets ``crashed(job)`` too (work is expected to turn its own failures into results).
    """
    if isolated():  # inside a worker already (a service job): here, one after another
        for job in jobs:
            try:
                yield job, work(job)
            except Exception:  # noqa: BLE001 - as in the pool: the work raised, this job's result
                yield job, crashed(job)
        return
    if len(jobs) == 1 and forks_alone():  # the command line's one file: a child forked from this process
        (job,) = jobs
        try:
            yield job, run_alone(work, job, limit_s=limit(job), bars=bars(job))
        except Exception:  # noqa: BLE001 - Crashed, or the work raised: this job's result
            yield job, crashed(job)
        return
    pool = shared(workers)  # kept for the process's life: a second run (the library's) finds it warm
    futures = {pool.submit(work, job, limit_s=limit(job), bars=bars(job)): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception:  # noqa: BLE001 - Crashed, or the work raised: this job's result
                yield job, crashed(job)
    except GeneratorExit:  # the consumer stopped: what has not started never will
        for future in futures:
            future.cancel()
        raise
    except BaseException:  # Ctrl-C: the workers stop now, not after their files
        pool.stop()
        raise
