"""Runs the cluster's jobs on this node: claims them from the database with a lease, runs each in the
crash-isolation pool (``run/pool.py``: one worker process per core by default, a time limit per job)
or on the workers of a Dask cluster (``--scheduler``), renews the leases while they run, and records
each result.

One dispatcher thread claims jobs while fewer than ``workers`` are in flight; a job accepted on this
node wakes it at once, and it asks the database twice a second otherwise (a job accepted by a busy
node is claimed by an idle one). A job's input is made local first (an upload or a take from the
blobs; a link is fetched by the worker) and its outputs kept after (the HTML report, a take's fixed
MP4 and reports), so any node serves them. A worker that dies or hangs costs only its job: the pool
runs the jobs that shared the dead pool again, each truly alone, and the job that kills a worker
alone is finished with an error.

Stopping is not failing: ``drain`` claims nothing more; ``stop`` lets running jobs finish within a
grace period, then ends the workers and hands what was still running back to the queue without
counting the attempt (only a node that died with the job running counts: see ``state/jobs.py``).
A node that stops renewing (killed, cut off) loses its jobs to the other nodes when their leases
run out; should it come back, its results for them are dropped (the job is another node's now).
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import PreflightError
from preflight.run.environment import SubmitSetup
from preflight.run.pool import Crashed, IsolatedPool, Stopped
from preflight.serve.blobs.places import Places
from preflight.serve.blobs.spool import Budget
from preflight.serve.config import ServeConfig
from preflight.serve.state.jobs import Job, Jobs
from preflight.serve.work import tasks as work
from preflight.serve.work.recording import Recording

Finished = Callable[[Job], None]  # called with each finished job (callbacks, metrics)
log = logging.getLogger("preflight.serve")

CRASHED = ("the analysis crashed or hung on this file (a decoder or detector failure, or out of memory); the "
           "other jobs are unaffected. Please report it")
TAKE_OUTPUTS = ("fixed", "report_json", "report_html")


@dataclass(frozen=True)
class Node:
    """What the runner works with: this node's name, the database's jobs, the blobs, and its folders."""

    name: str
    jobs: Jobs
    places: Places
    recording: Recording
    spool: Path  # bodies as they arrive (and, with the folder's blobs, as they wait)
    scratch: Path  # local copies of inputs from the blobs, and outputs before they are kept
    budget: Budget


class Runner:
    def __init__(self, config: ServeConfig, node: Node, on_finished: Finished, setup: SubmitSetup) -> None:
        self.config, self.node, self.on_finished = config, node, on_finished
        self.jobs = node.jobs
        self.setup = setup  # the Tavus connection for face jobs
        self.workers = config.worker_count
        self._in_flight: dict[str, tuple[Job, Future[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._claiming = threading.Event()
        self._claiming.set()
        self._pool: IsolatedPool | None = None
        self._dask: Any = None
        # inputs made local, and results kept, off the pool's own thread (an S3 transfer or a database
        # write there would hold up every other worker's next job)
        self._inputs = ThreadPoolExecutor(self.workers, thread_name_prefix="preflight-inputs")
        self._results = ThreadPoolExecutor(self.workers, thread_name_prefix="preflight-results")
        self._thread = threading.Thread(target=self._loop, name="preflight-dispatch", daemon=True)
        self._renewer = threading.Thread(target=self._renew, name="preflight-leases", daemon=True)

    # --- life -----------------------------------------------------------------------------------

    @property
    def pool(self) -> IsolatedPool:
        """The crash-isolation pool: the jobs' (without Dask), the takes' too."""
        with self._lock:
            if self._pool is None:
                self._pool = IsolatedPool(self.workers, warm_up=work.warm_up, name="preflight-jobs")
            return self._pool

    def start(self) -> list[Future[Any]]:
        """Claiming starts; the futures of the workers warming up (each loads the analysis at once, so
        that the first jobs do not wait), done when the node is ready to work at full speed."""
        warming: list[Future[Any]] = []
        if self.config.scheduler:
            from preflight.run.cluster import connect

            self._dask = connect(self.config.scheduler)
        else:
            warming = self.pool.prestart()
        self._thread.start()
        self._renewer.start()
        return warming

    def drain(self) -> None:
        """Claim nothing more (a stop is coming): the other nodes take the queue."""
        self._claiming.clear()

    def stop(self, grace_s: float = 0.0) -> None:
        """Claim nothing more; let running jobs finish for up to ``grace_s`` seconds; hand the rest back
        to the queue, not counted as an attempt."""
        self._claiming.clear()
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.idle(grace_s)
            self._pool.stop()
        with self._lock:
            left = list(self._in_flight.values())
            self._in_flight.clear()
        for job, future in left:
            if future.done() and not future.cancelled() and not isinstance(future.exception(), Stopped):
                self._done(job, future, stopping=False)  # it finished within the grace period
            else:
                self._quietly(self.jobs.hand_back, job.id, self.node.name)
        self._inputs.shutdown(wait=False, cancel_futures=True)
        self._results.shutdown(wait=True)  # results that came in are recorded before the node goes
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
            if self._claiming.is_set():
                try:
                    self._fill()
                except PreflightError as err:  # the database is away: try again in a moment
                    log.warning("claiming jobs: %s", err)
            self._wake.wait(timeout=0.5)
            self._wake.clear()

    def _fill(self) -> None:
        while not self._stop.is_set() and self._claiming.is_set():
            with self._lock:
                busy = len(self._in_flight)
            if busy >= self.workers:
                return
            job = self.jobs.claim(self.node.name, self.config.lease_s)
            if job is None:
                return
            future = self._submit(job)
            with self._lock:
                self._in_flight[job.id] = (job, future)
            future.add_done_callback(functools.partial(self._result, job))

    def _renew(self) -> None:
        """Every job this node runs keeps its lease, renewed three times per lease; and once a minute
        this node's spool is tidied."""
        every = max(0.2, self.config.lease_s / 3)
        tidied = 0.0
        while not self._stop.wait(every):
            if self.running:
                self._quietly(self.jobs.renew, self.node.name, self.config.lease_s)
            tidied += every
            if tidied >= 60.0:
                tidied = 0.0
                self._quietly(tidy_spool, self.node)

    def _submit(self, job: Job) -> Future[dict[str, Any]]:
        """The job running: its input made local (in a thread: an S3 download may take a while), then
        the work in the pool (or on Dask)."""
        outer: Future[dict[str, Any]] = Future()

        def forward(inner: Future[dict[str, Any]]) -> None:
            error = inner.exception() if not inner.cancelled() else Stopped()
            outer.set_exception(error) if error is not None else outer.set_result(inner.result())

        def prepare() -> None:
            try:
                args = self._arguments(job)
            except BaseException as err:  # noqa: BLE001 - the blobs away, a take gone: this job's error
                outer.set_exception(err)
                return
            if self._dask is not None:
                inner: Future[dict[str, Any]] = self._dask.submit(*args, key=f"preflight-serve-{job.id}", pure=False)
            else:
                inner = self.pool.submit(*args, limit_s=work.time_limit(job.kind, str(args[1]), job.remote))
            inner.add_done_callback(forward)

        self._inputs.submit(prepare)
        return outer

    def _scratch(self, job: Job) -> Path:
        return self.node.scratch / job.id

    def _arguments(self, job: Job) -> tuple[Any, ...]:
        copies = self.node.spool / f"{job.id}.links"  # a link's copy, downloaded through the URL guard
        if job.kind == "take":
            take = self.node.recording.takes.of_job(job.id)
            if take is None:
                raise PreflightError("the take was removed before it was checked")
            recording = self.node.recording.assemble(take, self._scratch(job))
            return (work.run_take, str(recording), job.params, self.setup.connection.api_key,
                    self.setup.connection.base_url)
        if job.remote:
            copies.mkdir(exist_ok=True)
            source = job.source
        else:
            source = str(self._input(job))
        if job.kind == "face":
            return (work.run_face, source, job.remote, job.name, job.params, self.setup.connection.api_key,
                    self.setup.connection.base_url, str(copies))
        return (work.run_check, source, job.remote, job.name, job.params, str(copies))

    def _input(self, job: Job) -> Path:
        """The job's upload as a local file: this node's own copy when it received it, else from the
        blobs (an older version's job names its spooled file's path)."""
        if Path(job.source).is_absolute():
            return Path(job.source)
        landed = self.node.spool / job.source
        if landed.is_file():
            return landed
        return self.node.places.uploads.local(job.source, self._scratch(job))

    def _result(self, job: Job, future: Future[dict[str, Any]]) -> None:
        """A job's work is over: its worker takes the next job at once; the result is kept and recorded
        in a thread of its own."""
        if future.cancelled():
            return
        with self._lock:  # (the stop takes the same lock: a result is either handed over here, or left to it)
            if self._stop.is_set() or self._in_flight.pop(job.id, None) is None:
                return  # stop() decides: finished, or handed back uncounted
            self._results.submit(self._done, job, future, False)
        self.wake()

    def _done(self, job: Job, future: Future[dict[str, Any]], stopping: bool = True) -> None:
        if stopping and self._stop.is_set():
            return  # stop() decides: finished, or handed back uncounted
        if future.cancelled():
            return
        if stopping:
            with self._lock:
                if self._in_flight.pop(job.id, None) is None:
                    return
        try:
            result = future.result()
        except Stopped:
            self._quietly(self.jobs.hand_back, job.id, self.node.name)
            return
        except Crashed:
            self._finish(job, "error", None, CRASHED)
            return
        except PreflightError as err:  # said by the caller's names: a server path never shows
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
        try:
            result = self._keep_outputs(job, result)
        except PreflightError as err:
            self._finish(job, "error", None, f"the result could not be kept: {err}")
            return
        self._finish(job, str(result.get("verdict")), result, None)

    def _keep_outputs(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """What the job made, kept where every node reads it: a check's HTML report in the reports'
        blobs, a take's fixed MP4 and reports in the takes' (by name, not by this node's paths)."""
        result = dict(result)
        html = result.pop("html", None)
        if isinstance(html, str):
            key = f"{job.id}.html"
            self.node.places.reports.put_bytes(key, html.encode())
            result["html_blob"] = key
        if job.kind == "take":
            for field in TAKE_OUTPUTS:
                if result.get(field):
                    made = Path(result[field])
                    self.node.places.takes.keep(made.name, made)
                    result[field] = made.name
            if result.get("recording"):
                result["recording"] = Path(result["recording"]).name
        return result

    def _finish(self, job: Job, verdict: str | None, result: dict[str, Any] | None, error: str | None,
                trace: str | None = None) -> None:
        trace = trace or (result.get("traceback") if result is not None and result.get("internal") else None)
        if trace:
            from preflight.state import crashlog

            crashlog.write(f"job {job.id} ({job.name}):\n{trace}")
        if result is not None:
            result = {k: v for k, v in result.items() if k != "traceback"}
        try:
            held = self.jobs.finish(job.id, self.node.name, verdict, result, error)
        except PreflightError as err:  # the database is away: the lease runs out and another node runs it again
            log.warning("job %s could not be recorded: %s", job.id, err)
            held = False
        if held:
            remove_inputs(self.node, job)  # the report is kept; the upload is not needed again
        else:
            log.warning("job %s was no longer this node's (its lease ran out): its result is dropped", job.id)
        shutil.rmtree(self._scratch(job), ignore_errors=True)
        if held:
            done = self._quietly(self.jobs.get, job.id)
            if done is not None:
                self.on_finished(done)
        self.wake()

    @staticmethod
    def _quietly(action: Callable[..., Any], *args: Any) -> Any:
        try:
            return action(*args)
        except PreflightError as err:
            log.warning("%s: %s", getattr(action, "__name__", "database"), err)
            return None


def remove_inputs(node: Node, job: Job) -> None:
    """The job's upload, with this node's own copy (its bytes given back to the spool's budget), and its
    link copies. A take's recording is kept with its fixed file until the take is swept."""
    if job.kind == "take":
        return
    if not job.remote:
        try:
            if Path(job.source).is_absolute():  # an older version's job: its spooled file's path
                release_copy(node, Path(job.source))
            else:
                release_copy(node, node.spool / job.source)  # first: in a folder, it is the blob itself
                node.places.uploads.delete(job.source)
        except (OSError, PreflightError) as err:
            log.warning("the upload of job %s could not be removed: %s", job.id, err)
    shutil.rmtree(node.spool / f"{job.id}.links", ignore_errors=True)


def release_copy(node: Node, path: Path) -> None:
    """A file of this node's spool removed, its bytes given back to the budget."""
    try:
        size = path.stat().st_size
        path.unlink()
    except OSError:
        return
    node.budget.release(size)


def tidy_spool(node: Node, older_than_s: float = 60.0) -> int:
    """This node's copies of uploads whose jobs another node finished (or that made no job), removed;
    how many. Only where the uploads live elsewhere (S3): in a folder, the spool is the uploads."""
    import time

    if not node.places.shared:
        return 0
    cutoff = time.time() - older_than_s
    found = {p.stem: p for p in node.spool.iterdir() if p.is_file() and p.suffix != ".part"
             and p.stat().st_mtime < cutoff}
    waiting = node.jobs.unfinished(list(found))
    for job_id, path in found.items():
        if job_id not in waiting:
            release_copy(node, path)
    return len(found) - len(waiting)
