"""Run many checks at once: worker processes across the cores, with memory kept bounded.

One file per worker at a time; the number of workers is the smaller of the cores (or ``--jobs``), the
files, and the memory available divided by what one analysis may need (``PER_WORKER_BYTES``: a 4K
video peaks near 260 MB). A single file runs in this process, with its own progress bar.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO
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


def seconds_for(path: Path | object) -> float:
    """How long a worker may spend on one file before it is taken for hung: two minutes plus a second
    per MB (a 750 MB video gets 14.5 minutes; preflight decodes 60 s of 1080p in about 4 s). A remote
    file gets twice that: it is read over the network as it is decoded."""
    link = getattr(path, "link", None)
    if link is not None:
        return 2 * (120.0 + (link.length or 750_000_000) / 1e6)
    try:
        size = path.stat().st_size if isinstance(path, Path) else 0
    except OSError:
        size = 0
    return 120.0 + size / 1e6


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """End this worker process if the work inside takes longer than ``seconds``. faulthandler's
    watchdog is a C thread that needs no GIL, so it also ends a worker deadlocked in a native library;
    the pool then sees a dead worker, and the file is retried alone (see run_parallel)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=_devnull())
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@lru_cache(maxsize=1)
def _devnull() -> IO[str]:
    return open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - kept open for the worker's life


def _quiet_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops them: no traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_parallel(work: Callable[[J], R], jobs: Sequence[J], workers: int,
                 crashed: Callable[[J], R]) -> Iterator[tuple[J, R]]:
    """``work(job)`` for every job in ``workers`` processes; yields (job, result) as each finishes.

    A worker that dies (a crash in a native library, the kernel's out-of-memory killer) costs only the
    file it was on. At most one job per worker is in flight, so the jobs lost with a dead pool are
    the only suspects; each is then run again alone in a fresh pool. A job that kills that worker too
    (the second crash it was part of) gets ``crashed(job)`` as its result; the others finish normally.
    """
    queue: deque[J] = deque(jobs)
    suspects: deque[J] = deque()  # jobs in flight when a pool died: retried one at a time
    strikes: dict[int, int] = {}
    pool = _pool(workers)
    pending: dict[Future[R], J] = {}
    try:
        while queue or suspects or pending:
            while suspects and not pending:  # alone, so a second crash names its job
                job = suspects.popleft()
                pending[pool.submit(work, job)] = job
            while queue and not suspects and len(pending) < workers:
                job = queue.popleft()
                pending[pool.submit(work, job)] = job
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                wait(pending)  # the pool is dead: every job in flight ends with it
            broken = False
            for future in [f for f in pending if f.done()]:
                job = pending.pop(future)
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    broken = True
                    strikes[id(job)] = strikes.get(id(job), 0) + 1
                    if strikes[id(job)] >= 2:
                        yield job, crashed(job)
                    else:
                        suspects.append(job)
                elif error is not None:  # the work itself raised (it should not): this job's result
                    yield job, crashed(job)
                else:
                    yield job, future.result()
            if broken:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(workers)
        pool.shutdown()
    except BaseException:  # Ctrl-C, or the consumer stopped: stop the workers now, not after their files
        _stop(pool)
        raise


def _pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds decoder threads
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker)


def _stop(pool: ProcessPoolExecutor) -> None:
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
