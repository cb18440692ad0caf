"""Run many checks at once: worker processes across the cores, with memory kept bounded.

One file per worker at a time; the number of workers is the smaller of the cores (or ``--jobs``), the
files, and the memory available divided by what one analysis may need (``PER_WORKER_BYTES``: a 4K
video peaks near 260 MB). A single file runs in this process, with its own progress bar.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

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


def _quiet_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops them: no traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_parallel(work: Callable[[J], R], jobs: Sequence[J], workers: int,
                 crashed: Callable[[J], R]) -> Iterator[tuple[J, R]]:
    """``work(job)`` for every job in ``workers`` processes; yields (job, result) as each finishes.
    A worker that dies (a crash in a native library) makes ``crashed(job)`` the result of the jobs
    it left unfinished, rather than hanging or losing the others' results."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds decoder threads
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker)
    pending: dict[Future[R], J] = {pool.submit(work, job): job for job in jobs}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    yield job, future.result()
                except BrokenProcessPool:
                    yield job, crashed(job)
        pool.shutdown()
    except BaseException:  # Ctrl-C, or the consumer stopped: stop the workers now, not after their files
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
