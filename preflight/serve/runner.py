"""Runs the service's jobs: a bounded pool of worker processes (one per core by default), fed from the
job store, or the workers of a Dask cluster (``--scheduler``).

One dispatcher thread claims queued jobs while fewer than ``workers`` are in flight and records each
result as it arrives. A worker that dies (a native crash, out of memory, a hung analysis ended by its
time limit) breaks the pool: the pool is made anew, and every job that was in flight is queued again
to run *alone*; a job that ends a worker while alone is finished with an error, so one bad file costs
only its own job.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from preflight.errors import PreflightError
from preflight.serve import work
from preflight.serve.config import ServeConfig
from preflight.serve.store import Job, Store

Finished = Callable[[Job], None]  # called with each finished job (callbacks, metrics)

CRASHED = ("the analysis crashed or hung on this file (a decoder or detector failure, or out of memory); the "
           "other jobs are unaffected. Please report it")


class Runner:
    def __init__(self, config: ServeConfig, store: Store, on_finished: Finished,
                 credentials: dict[str, str] | None = None) -> None:
        self.config, self.store, self.on_finished = config, store, on_finished
        self.credentials = credentials or {}  # api_key, api_url for face jobs
        self.workers = config.worker_count
        self._in_flight: dict[str, tuple[Job, Future[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool: Any = None
        self._dask: Any = None
        self._pool_broken = False
        self._thread = threading.Thread(target=self._loop, name="preflight-dispatch", daemon=True)

    # --- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.scheduler:
            from preflight.run.cluster import connect

            self._dask = connect(self.config.scheduler)
        else:
            self._pool = self._new_pool()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._dask is not None:
            self._dask.close()

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a worker never inherits the server's threads or sockets. Each worker loads the analysis
        # at once (one warm-up task each), so the first jobs do not wait for the imports.
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.workers):
            pool.submit(work.warm_up)
        return pool

    # --- dispatch -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._fill()
            self._wake.wait(timeout=0.5)
            self._wake.clear()

    def _fill(self) -> None:
        if self._pool_broken:  # made anew here, in the dispatcher, never in a pool's own callback thread
            self._pool_broken = False
            old, self._pool = self._pool, self._new_pool()
            old.shutdown(wait=False, cancel_futures=True)
        while not self._stop.is_set():
            with self._lock:
                busy = len(self._in_flight)
            if busy >= self.workers:
                return
            job = self.store.claim(others_running=busy > 0)
            if job is None:
                return
            try:
                future = self._submit(job)
            except BrokenProcessPool:
                self.store.requeue(job.id, alone=job.alone)
                self._recover_pool()
                return
            with self._lock:
                self._in_flight[job.id] = (job, future)
            future.add_done_callback(functools.partial(self._done, job))

    def _submit(self, job: Job) -> Future[dict[str, Any]]:
        copies = self.store.spool / f"{job.id}.links"  # a link's copy, downloaded through the URL guard
        if job.remote:
            copies.mkdir(exist_ok=True)
        if job.kind == "face":
            args: tuple[Any, ...] = (work.run_face, job.source, job.remote, job.name, job.params,
                                     self.credentials.get("api_key", ""), self.credentials.get("api_url", ""))
        else:
            args = (work.run_check, job.source, job.remote, job.name, job.params, str(copies))
        if self._dask is not None:
            future: Future[dict[str, Any]] = self._dask.submit(*args, key=f"preflight-serve-{job.id}", pure=False)
            return future
        result: Future[dict[str, Any]] = self._pool.submit(*args)
        return result

    def _done(self, job: Job, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._in_flight.pop(job.id, None)
        try:
            result = future.result()
        except BrokenProcessPool:
            self._crashed(job)
            return
        except PreflightError as err:
            self._finish(job, "error", None, str(err))
            return
        except Exception as err:  # noqa: BLE001 - a bug in a job, or Dask's KilledWorker: this job's error
            name = type(err).__name__
            if name == "KilledWorker":
                self._finish(job, "error", None, CRASHED)
            else:
                self._finish(job, "error", None, f"internal error ({name}: {str(err)[:200]}); the other jobs are "
                             "unaffected. Please report it", traceback.format_exc())
            return
        self._finish(job, str(result.get("verdict")), result, None)

    def _crashed(self, job: Job) -> None:
        """Its worker died. Alone, it is the cause: finished with an error. Otherwise it runs again alone."""
        if job.alone:
            self._finish(job, "error", None, CRASHED)
        else:
            self.store.requeue(job.id, alone=True)
        self._recover_pool()

    def _recover_pool(self) -> None:
        if self._pool is not None:
            self._pool_broken = True
        self.wake()

    def _finish(self, job: Job, verdict: str | None, result: dict[str, Any] | None, error: str | None,
                trace: str | None = None) -> None:
        if trace:
            from preflight import crashlog

            crashlog.write(f"job {job.id} ({job.name}):\n{trace}")
        if result is not None and result.get("internal") and result.get("traceback"):
            from preflight import crashlog

            crashlog.write(f"job {job.id} ({job.name}):\n{result['traceback']}")
        if result is not None:
            result = {k: v for k, v in result.items() if k != "traceback"}
        self.store.finish(job.id, verdict, result, error)
        remove_files(self.store, job)  # the report is kept; the upload is not needed again
        done = self.store.get(job.id)
        if done is not None:
            self.on_finished(done)
        self.wake()


def remove_files(store: Store, job: Job) -> None:
    """The job's spooled upload and its link copies."""
    import shutil

    if not job.remote:
        Path(job.source).unlink(missing_ok=True)
    shutil.rmtree(store.spool / f"{job.id}.links", ignore_errors=True)


def sweep(store: Store, keep_s: float) -> int:
    """Remove the finished jobs older than ``keep_s`` seconds with their files; how many were removed."""
    old = store.expired(keep_s)
    for job in old:
        remove_files(store, job)
        store.delete(job.id)
    return len(old)


def janitor(store: Store, keep_s: float, stop: threading.Event, every_s: float = 60.0) -> None:
    """``sweep`` every ``every_s`` seconds until ``stop``."""
    while not stop.wait(every_s):
        sweep(store, keep_s)
