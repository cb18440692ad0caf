"""The one crash-isolation pool: every file a stranger (or a user) hands preflight is measured in a
worker process under a time limit, so that a native crash, an out-of-memory kill or a hang costs only
the job that caused it.

Used by a check run (one file too), ``preflight fix``, the service's jobs, guidance frames and takes.

How a crash is pinned on its job: a worker that dies breaks the whole process pool, and every job in
flight with it is a suspect. Each suspect runs again **truly alone**: nothing else is dispatched until
it has finished, and no suspect starts until the jobs in flight have finished. A job whose worker dies
while it runs alone is the cause: its future fails with ``Crashed``. The others get their real results.
A job that ends normally with an exception (a bug in the work) fails with that exception.

A time limit is enforced inside the worker by faulthandler's watchdog (a C thread that needs no GIL),
so it ends a worker deadlocked in a native library too; to the pool that is a crash like any other.
"""

from __future__ import annotations

import atexit
import faulthandler
import functools
import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any, Protocol


class Crashed(Exception):
    """The job's worker died (a native crash, out of memory) or passed its time limit, the last time
    with no other job beside it."""


class Stopped(Exception):
    """The pool was stopped while the job ran: not the job's fault, and it did not finish."""


class ProgressBar(Protocol):
    """Shows one file's progress (decode, encode, or files done in a batch); ``close`` is called when
    the work is done, however it ended."""

    def __call__(self, now: float, total: float | None) -> None: ...
    def close(self) -> None: ...


BarFactory = Callable[[str], ProgressBar]  # a bar, given its label


# --- inside a worker ---------------------------------------------------------------------------

_deadlines: list[float] = []  # time limits in force in this worker, innermost last (monotonic)
_events: Any = None  # the parent's progress queue (set by the initializer)
_task_id: int | None = None
_isolated = False  # this process is already a worker of its own (the pool's, or a Dask worker running a job)


def isolated() -> bool:
    """True inside a worker: work here is already isolated, and runs in this process (no nested pool)."""
    return _isolated


@contextmanager
def already_isolated() -> Iterator[None]:
    """Mark this process as a worker for the work inside (a Dask worker running a service job)."""
    global _isolated
    before, _isolated = _isolated, True
    try:
        yield
    finally:
        _isolated = before


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """End this process if the work inside takes longer than ``seconds``. Nests: an inner limit
    never extends an outer one, and the outer one is in force again after it."""
    deadline = time.monotonic() + seconds
    if _deadlines:
        deadline = min(deadline, _deadlines[-1])
    _deadlines.append(deadline)
    _arm(deadline)
    try:
        yield
    finally:
        _deadlines.pop()
        if _deadlines:
            _arm(_deadlines[-1])
        else:
            faulthandler.cancel_dump_traceback_later()


def _arm(deadline: float) -> None:
    faulthandler.dump_traceback_later(max(0.01, deadline - time.monotonic()), exit=True, file=_devnull())


@lru_cache(maxsize=1)
def _devnull() -> IO[str]:
    return open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - kept open for the worker's life


class _Relay:
    """A progress bar inside a worker: what it is told goes to the parent's bar for this job."""

    def __init__(self, task_id: int, label: str) -> None:
        self.task_id, self.last = task_id, 0.0
        _events.put((task_id, "open", label))

    def __call__(self, now: float, total: float | None) -> None:
        tick = time.monotonic()
        if tick - self.last >= 0.1 or (total is not None and now >= total):
            self.last = tick
            _events.put((self.task_id, "update", (now, total)))

    def close(self) -> None:
        _events.put((self.task_id, "close", None))


def relay_bars() -> BarFactory | None:
    """In a worker, inside a job submitted with ``bars``: a bar factory that draws in the parent."""
    task_id = _task_id
    if _events is None or task_id is None:
        return None
    return lambda label: _Relay(task_id, label)


def _start_worker(events: Any, warm_up: Callable[[], Any] | None) -> None:
    global _events, _isolated
    _events, _isolated = events, True
    # Ctrl-C and SIGTERM (a service manager stops the whole process group) are the parent's to handle:
    # it lets running jobs finish or stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), name="preflight-parent-watch", daemon=True).start()
    if warm_up is not None:
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the first job its speed
            pass


def _as_parent(cwd: str, env: dict[str, str]) -> None:
    """Run the job in the parent's folder and environment as they are now (a worker forked from the
    fork server would otherwise keep those of the moment the server started)."""
    if os.environ != env:
        os.environ.clear()
        os.environ.update(env)
    if os.getcwd() != cwd:
        os.chdir(cwd)


def _orphan_watch(parent: int) -> None:
    """End this worker when its parent is gone (killed with SIGKILL, or by a signal it did not handle):
    a worker holds its own ends of the pool's queues, so it would otherwise wait for work forever."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _run(task_id: int, fn: Callable[..., Any], args: tuple[Any, ...], limit_s: float | None,
         where: tuple[str, dict[str, str]]) -> Any:
    global _task_id
    _task_id = task_id
    _as_parent(*where)
    try:
        if limit_s is None:
            return fn(*args)
        with time_limit(limit_s):
            return fn(*args)
    finally:
        _task_id = None


# --- in the parent -----------------------------------------------------------------------------

# What a worker needs, imported once in the fork server: each worker is then forked from it ready to
# measure, instead of a new interpreter importing PyAV, OpenCV and NumPy for every pool.
PRELOAD = ["preflight.run.pool", "preflight.run.isolated", "preflight.media.analyze", "preflight.judge.engine",
           "preflight.media.preview"]


@lru_cache(maxsize=1)
def _context() -> Any:
    """Workers come from a fork server where it exists (POSIX): a process started clean (no threads,
    no sockets of the parent's) that forks each worker with the analysis already imported. Elsewhere,
    spawn: each worker a new interpreter."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context

@dataclass(eq=False)
class _Task:
    id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    limit_s: float | None
    future: Future[Any]
    bars: BarFactory | None = None
    where: tuple[str, dict[str, str]] = ("", {})  # the parent's folder and environment when it was submitted
    alone: bool = False
    open_bars: dict[str, ProgressBar] = field(default_factory=dict)


class IsolatedPool:
    """``workers`` processes (spawned: a worker never inherits the parent's threads or sockets).

    ``submit`` returns a future with the job's result, its exception, or ``Crashed``. ``warm_up`` runs
    once in every worker as it starts (imports, models). ``stop`` ends the workers; jobs not finished
    are returned (their futures cancelled) so that a service can queue them again."""

    def __init__(self, workers: int, *, warm_up: Callable[[], Any] | None = None, name: str = "preflight-pool") -> None:
        self.workers = max(1, workers)
        self._warm_up = warm_up
        self._context = _context()
        self._progress: Any = None
        self._lock = threading.Lock()
        self._queue: deque[_Task] = deque()
        self._suspects: deque[_Task] = deque()
        self._running: dict[int, _Task] = {}
        self._by_id: dict[int, _Task] = {}
        self._ids = itertools.count(1)
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._executor: ProcessPoolExecutor | None = None
        self._broken = False
        self._stopped = False
        self._dispatcher = threading.Thread(target=self._loop, name=name, daemon=True)
        self._dispatcher.start()

    # the parent's side of progress relays: made on first use (a queue is a pipe and a thread)
    def _progress_queue(self) -> Any:
        if self._progress is None:
            self._progress = self._context.Queue()
            threading.Thread(target=self._read_progress, args=(self._progress,), daemon=True,
                             name="preflight-pool-progress").start()
        return self._progress

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context, initializer=_start_worker,
                                   initargs=(self._progress_queue(), self._warm_up))

    def prestart(self) -> list[Future[Any]]:
        """Start every worker now (and warm it up), not on the first jobs; one future per worker, done
        when it is warm."""
        with self._lock:
            executor = self._executor_now()
            return [executor.submit(os.getpid) for _ in range(self.workers)]

    def _executor_now(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = self._new_executor()
        return self._executor

    def submit(self, fn: Callable[..., Any], *args: Any, limit_s: float | None = None,
               bars: BarFactory | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the pool is stopped")
            task = _Task(next(self._ids), fn, args, limit_s, future, bars, (os.getcwd(), dict(os.environ)))
            self._by_id[task.id] = task
            self._queue.append(task)
        self._events.put(None)
        return future

    @property
    def stopped(self) -> bool:
        return self._stopped

    def idle(self, timeout: float) -> bool:
        """Wait until no job runs or waits (True), or ``timeout`` seconds (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running and not self._queue and not self._suspects:
                    return True
            time.sleep(0.05)
        return False

    def _end_progress(self) -> None:
        with self._lock:
            events, self._progress = self._progress, None
        if events is not None:
            events.put(None)  # the reader thread ends, and the queue goes with it

    def stop(self) -> list[Future[Any]]:
        """End the workers now; the futures of the jobs that did not finish: cancelled when they had not
        started, failed with ``Stopped`` when they had (a running future cannot be cancelled, and one
        left pending would keep its caller waiting for ever)."""
        with self._lock:
            self._stopped = True
            unfinished = [t for t in [*self._running.values(), *self._suspects, *self._queue] if not t.future.done()]
            self._queue.clear()
            self._suspects.clear()
            self._running.clear()
            executor, self._executor = self._executor, None
        self._events.put(_STOP)
        if executor is not None:
            _terminate(executor)
        self._end_progress()
        for task in unfinished:
            self._close_bars(task)
            if not task.future.cancel():
                task.future.set_exception(Stopped())
        return [t.future for t in unfinished]

    # --- the dispatcher thread: every change of state happens here, in order ---------------------

    def _loop(self) -> None:
        while True:
            event = self._events.get()
            if event is _STOP:
                return
            if event is not None:
                self._finished(*event)
            try:
                self._dispatch()
            except Exception as err:  # noqa: BLE001 - a pool that cannot start: every waiting job fails
                self._fail_all(err)

    def _dispatch(self) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._broken and not self._running:  # every job of the dead pool has come back
                old, self._executor, self._broken = self._executor, None, False
                if old is not None:
                    _terminate(old)
            if self._broken or any(t.alone for t in self._running.values()):
                return
            if self._suspects:
                if not self._running:
                    task = self._suspects.popleft()
                    task.alone = True
                    self._start(task)  # nothing else starts beside it
                return
            while self._queue and len(self._running) < self.workers and not self._broken:
                self._start(self._queue.popleft())

    def _start(self, task: _Task) -> None:
        if not task.future.running() and not task.future.set_running_or_notify_cancel():
            return  # cancelled while it waited
        try:
            inner = self._executor_now().submit(_run, task.id, task.fn, task.args, task.limit_s, task.where)
        except BrokenProcessPool:  # a worker died a moment ago; its jobs' news is on the way
            self._broken = True
            (self._suspects if task.alone else self._queue).appendleft(task)
            self._events.put(None)
            return
        self._running[task.id] = task
        inner.add_done_callback(functools.partial(self._report, task))

    def _report(self, task: _Task, inner: Future[Any]) -> None:  # in the executor's thread: handed over
        self._events.put((task, inner))

    def _finished(self, task: _Task, inner: Future[Any]) -> None:
        with self._lock:
            if self._running.pop(task.id, None) is None:  # stopped meanwhile
                return
            try:
                result = inner.result()
            except BrokenProcessPool:
                self._broken = True
                if not task.alone:
                    self._suspects.append(task)  # in the dead pool's company: runs again, alone
                    return
                error: BaseException | None = Crashed()
            except CancelledError:
                error = Crashed()
            except BaseException as err:  # noqa: BLE001 - the work raised: the caller's to judge
                error = err
            else:
                error = None
            self._by_id.pop(task.id, None)
        self._close_bars(task)
        if error is not None:
            task.future.set_exception(error)
        else:
            task.future.set_result(result)

    def _fail_all(self, err: BaseException) -> None:
        with self._lock:
            tasks = [*self._queue, *self._suspects]
            self._queue.clear()
            self._suspects.clear()
        for task in tasks:
            if task.future.running() or task.future.set_running_or_notify_cancel():
                task.future.set_exception(err)

    # --- progress, drawn here for the workers ---------------------------------------------------

    def _read_progress(self, events: Any) -> None:
        while True:
            try:
                item = events.get()
            except Exception:  # noqa: BLE001 - the queue is gone: nothing more to draw
                return
            if item is None:  # the pool is done
                return
            task_id, what, value = item
            with self._lock:
                task = self._by_id.get(task_id)
            if task is None or task.bars is None:
                continue
            try:
                if what == "open":
                    self._close_bars(task)
                    task.open_bars["bar"] = task.bars(str(value))
                elif what == "update" and "bar" in task.open_bars:
                    task.open_bars["bar"](*value)
                elif what == "close":
                    self._close_bars(task)
            except Exception:  # noqa: BLE001 - a bar that fails to draw never costs the job
                pass

    @staticmethod
    def _close_bars(task: _Task) -> None:
        bar = task.open_bars.pop("bar", None)
        if bar is not None:
            try:
                bar.close()
            except Exception:  # noqa: BLE001
                pass


_STOP = object()


# --- one job of a one-command process: a child forked from it --------------------------------------

def forks_alone() -> bool:
    """Whether a single job forks a child of this process: one command of the command line (``run/mode.py``;
    a library caller keeps its warm pools) with no other thread (a thread's locks would be copied held
    into the child), where fork exists."""
    from preflight.run import mode

    return (mode.ONE_COMMAND and not _isolated and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods())


def run_alone(fn: Callable[..., Any], *args: Any, limit_s: float | None = None, bars: BarFactory | None = None) -> Any:
    """``fn(*args)`` in a child forked from this process: its result, its exception, or ``Crashed``.

    The child starts in milliseconds with everything this process has imported (a pool's worker comes
    from a fork server that imports the analysis again first: measured, 0.3 s on a headshot's check),
    and imports the rest itself, as this process would have. A native crash, an out-of-memory kill or
    a hang past ``limit_s`` (faulthandler's watchdog, as in a pool's worker) ends the child only, and
    is ``Crashed``; Ctrl-C here ends it too. Its progress is drawn here."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    events = context.SimpleQueue() if bars is not None else None
    child = context.Process(target=_alone, args=(send, events, fn, args, limit_s), name="preflight-alone", daemon=True)
    child.start()
    send.close()  # the child's end: when the child is gone, reading here ends instead of waiting for ever
    drawing = None
    if events is not None and bars is not None:
        drawing = threading.Thread(target=_draw_alone, args=(events, bars), name="preflight-alone-progress",
                                   daemon=True)
        drawing.start()
    try:
        try:
            ok, value = receive.recv()
        except EOFError:
            ok, value = False, Crashed()
        child.join()
    except BaseException:  # Ctrl-C: the child stops now
        child.kill()
        child.join()
        raise
    finally:
        receive.close()
        if events is not None:
            events.put(None)
        if drawing is not None:
            drawing.join(timeout=5)
    if not ok:
        raise value
    return value


class _AloneEvents:
    """The child's side of the progress relay (what ``_Relay`` puts): a task id of 0, its events."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def put(self, item: Any) -> None:
        self.events.put(item)


def _alone(send: Any, events: Any, fn: Callable[..., Any], args: tuple[Any, ...], limit_s: float | None) -> None:
    """In the forked child: the job, its outcome sent to the parent, and gone without the parent's exit
    handlers (its pools and files are the parent's)."""
    global _events, _isolated, _task_id
    _isolated, _task_id = True, 0
    _events = _AloneEvents(events) if events is not None else None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends this child
    try:
        try:
            if limit_s is None:
                outcome: tuple[bool, Any] = (True, fn(*args))
            else:
                with time_limit(limit_s):
                    outcome = (True, fn(*args))
        except BaseException as err:  # noqa: BLE001 - the work raised: the caller's to judge
            outcome = (False, err)
        try:
            send.send(outcome)
        except Exception as err:  # noqa: BLE001 - an outcome that cannot be pickled: say so, as a bug
            send.send((False, RuntimeError(f"the result could not be sent back: {type(err).__name__}: {err}")))
        send.close()
    finally:
        os._exit(0)


def _draw_alone(events: Any, bars: BarFactory) -> None:
    """The parent's side: the child's progress events drawn on its bar, until None."""
    bar: ProgressBar | None = None
    while True:
        try:
            item = events.get()
        except Exception:  # noqa: BLE001 - the queue is gone: nothing more to draw
            break
        if item is None:
            break
        _, what, value = item
        try:
            if what == "open":
                if bar is not None:
                    bar.close()
                bar = bars(str(value))
            elif what == "update" and bar is not None:
                bar(*value)
            elif what == "close" and bar is not None:
                bar.close()
                bar = None
        except Exception:  # noqa: BLE001 - a bar that fails to draw never costs the job
            pass
    if bar is not None:
        try:
            bar.close()
        except Exception:  # noqa: BLE001
            pass


def run_one(fn: Callable[..., Any], *args: Any, limit_s: float | None = None, bars: BarFactory | None = None) -> Any:
    """``fn(*args)`` isolated from this process: its result, its exception, or ``Crashed``. In a
    one-command process with no other thread, a child forked from it (``run_alone``); else a worker of
    the shared pool of one, kept warm for the next call. Inside a worker already, it runs here."""
    if _isolated:
        return fn(*args)
    if forks_alone():
        return run_alone(fn, *args, limit_s=limit_s, bars=bars)
    pool = shared(1)
    try:
        return pool.submit(fn, *args, limit_s=limit_s, bars=bars).result()
    except KeyboardInterrupt:  # Ctrl-C: the worker stops now
        pool.stop()
        raise


_shared: dict[int, IsolatedPool] = {}
_shared_lock = threading.Lock()


def shared(workers: int) -> IsolatedPool:
    """A pool of ``workers`` kept for this process's life (stopped at exit), so that each check run
    after the first finds its workers started and its models loaded: a backend that calls
    ``preflight.check`` per upload pays for the workers once. A stopped pool is made anew."""
    with _shared_lock:
        pool = _shared.get(workers)
        if pool is None or pool.stopped:
            pool = _shared[workers] = IsolatedPool(workers, name=f"preflight-pool-{workers}")
        return pool


@atexit.register
def _stop_shared() -> None:
    with _shared_lock:
        pools = list(_shared.values())
        _shared.clear()
    for pool in pools:
        pool.stop()


def _terminate(executor: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now, whatever they are doing."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        try:
            process.kill()  # SIGKILL: a worker ignores SIGTERM (see _start_worker)
        except Exception:  # noqa: BLE001 - already gone
            pass
    executor.shutdown(wait=False, cancel_futures=True)
