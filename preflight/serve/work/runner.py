"""Runs the service's jobs in the crash-isolation pool (``run/pool.py``: one worker process per core by
default, a time limit per job), fed from the job store, or on the workers of a Dask cluster
(``--scheduler``).

One dispatcher thread claims queued jobs while fewer than ``workers`` are in flight and records each
result as it arrives. A job whose worker dies or hangs costs only itself: the pool runs the jobs that
shared the dead pool again, each truly alone, and the job that kills a worker alone is finished with an
error.

Stopping is not failing: ``stop`` lets running jobs finish within a grace period, then ends the
workers and queues what was still running again without counting that run as an attempt (only a
server that died with the job running counts, see ``store.recover``).
"""

from __future__ import annotations

import functools
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from preflight.errors import PreflightError
from preflight.run.environment import SubmitSetup
from preflight.run.pool import Crashed, IsolatedPool
from preflight.serve.config import ServeConfig
from preflight.serve.state.jobs import Job, Store
from preflight.serve.work import tasks as work

Finished = Callable[[Job], None]  # called with each finished job (callbacks, metrics)

CRASHED = ("the analysis crashed or hung on this file (a decoder or detector failure, or out of memory); the "
           "other jobs are unaffected. Please report it")


class Runner:
    def __init__(self, config: ServeConfig, store: Store, on_finished: Finished, setup: SubmitSetup) -> None:
        self.config, self.store, self.on_finished = config, store, on_finished
        self.setup = setup  # the Tavus connection for face jobs
        self.workers = config.worker_count
        self._in_flight: dict[str, tuple[Job, Future[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool: IsolatedPool | None = None
        self._dask: Any = None
        self._thread = threading.Thread(target=self._loop, name="preflight-dispatch", daemon=True)

    # --- life -----------------------------------------------------------------------------------

    @property
    def pool(self) -> IsolatedPool:
        """The crash-isolation pool: the jobs' (without Dask), the takes' too."""
        with self._lock:
            if self._pool is None:
                self._pool = IsolatedPool(self.workers, warm_up=work.warm_up, name="preflight-jobs")
            return self._pool

    def start(self) -> None:
        if self.config.scheduler:
            from preflight.run.cluster import connect

            self._dask = connect(self.config.scheduler)
        else:
            self.pool.prestart()  # each worker loads the analysis at once, so the first jobs do not wait
        self._thread.start()

    def stop(self, grace_s: float = 0.0) -> None:
        """Claim nothing more; let running jobs finish for up to ``grace_s`` seconds; queue the rest
        again, not counted as an attempt."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        stopped: list[Future[Any]] = []
        if self._pool is not None:
            self._pool.idle(grace_s)
            stopped = self._pool.stop()
        with self._lock:
            left = list(self._in_flight.values())
            self._in_flight.clear()
        for job, future in left:
            if future.done() and not any(future is f for f in stopped):
                self._done(job, future, stopping=False)  # it finished within the grace period
            else:
                self.store.requeue(job.id, counted=False)
        if self._dask is not None:
            self._dask.close()

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._in_flight)

    # --- dispatch -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._fill()
            self._wake.wait(timeout=0.5)
            self._wake.clear()

    def _fill(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                busy = len(self._in_flight)
            if busy >= self.workers:
                return
            job = self.store.claim()
            if job is None:
                return
            future = self._submit(job)
            with self._lock:
                self._in_flight[job.id] = (job, future)
            future.add_done_callback(functools.partial(self._done, job))

    def _submit(self, job: Job) -> Future[dict[str, Any]]:
        copies = self.store.spool / f"{job.id}.links"  # a link's copy, downloaded through the URL guard
        if job.remote:
            copies.mkdir(exist_ok=True)
        if job.kind == "face":
            args: tuple[Any, ...] = (work.run_face, job.source, job.remote, job.name, job.params,
                                     self.setup.connection.api_key, self.setup.connection.base_url,
                                     str(copies))
        elif job.kind == "take":
            args = (work.run_take, job.source, job.params, self.setup.connection.api_key,
                    self.setup.connection.base_url)
        else:
            args = (work.run_check, job.source, job.remote, job.name, job.params, str(copies))
        if self._dask is not None:
            future: Future[dict[str, Any]] = self._dask.submit(*args, key=f"preflight-serve-{job.id}", pure=False)
            return future
        return self.pool.submit(*args, limit_s=work.time_limit(job.kind, job.source, job.remote))

    def _done(self, job: Job, future: Future[dict[str, Any]], stopping: bool = True) -> None:
        if stopping and self._stop.is_set():
            return  # stop() decides: finished, or queued again uncounted
        if future.cancelled():
            return
        with self._lock:
            if self._in_flight.pop(job.id, None) is None and stopping:
                return
        try:
            result = future.result()
        except Crashed:
            self._finish(job, "error", None, CRASHED)
            return
        except PreflightError as err:  # said by the caller's names: the spooled file's path never shows
            self._finish(job, "error", None, str(err).replace(job.source, job.name))
            return
        except Exception as err:  # noqa: BLE001 - a bug in a job, or Dask's KilledWorker: this job's error
            name = type(err).__name__
            if name == "KilledWorker":
                self._finish(job, "error", None, CRASHED)
            else:
                self._finish(job, "error", None, f"internal error ({name}); the other jobs are unaffected. "
                             "Please report it", traceback.format_exc())
            return
        self._finish(job, str(result.get("verdict")), result, None)

    def _finish(self, job: Job, verdict: str | None, result: dict[str, Any] | None, error: str | None,
                trace: str | None = None) -> None:
        trace = trace or (result.get("traceback") if result is not None and result.get("internal") else None)
        if trace:
            from preflight.state import crashlog

            crashlog.write(f"job {job.id} ({job.name}):\n{trace}")
        if result is not None:
            result = {k: v for k, v in result.items() if k != "traceback"}
        self.store.finish(job.id, verdict, result, error)
        remove_files(self.store, job)  # the report is kept; the upload is not needed again
        done = self.store.get(job.id)
        if done is not None:
            self.on_finished(done)
        self.wake()


def remove_files(store: Store, job: Job) -> None:
    """The job's spooled upload (its bytes given back to the spool's budget) and its link copies."""
    import shutil

    if job.kind == "take":
        return  # kept with its fixed file until the take is swept (preflight record's, in --out: never)
    if not job.remote:
        upload = Path(job.source)
        try:
            size = upload.stat().st_size
            upload.unlink()
        except OSError:
            size = 0
        if store.budget is not None:
            store.budget.release(size)
    shutil.rmtree(store.spool / f"{job.id}.links", ignore_errors=True)


def sweep(store: Store, keep_s: float) -> int:
    """Remove the finished jobs older than ``keep_s`` seconds with their files; how many were removed."""
    old = store.expired(keep_s)
    for job in old:
        remove_files(store, job)
        if job.kind == "take":
            remove_take(store, job)
        store.delete(job.id)
    return len(old)


def remove_take(store: Store, job: Job) -> None:
    """A service's old take: its recording, fixed MP4 and reports, and its row. Only under the data
    folder: ``preflight record``'s takes are the user's, in ``--out``, and are never removed."""
    recording = Path(job.source)
    if not recording.resolve().is_relative_to(store.data.resolve()):
        return
    for path in recording.parent.glob(f"{recording.stem}.*"):
        path.unlink(missing_ok=True)
    store.rows("DELETE FROM takes WHERE job_id = ?", (job.id,))


def janitor(store: Store, keep_s: float, stop: threading.Event, every_s: float = 60.0) -> None:
    """``sweep`` every ``every_s`` seconds until ``stop``."""
    while not stop.wait(every_s):
        sweep(store, keep_s)
