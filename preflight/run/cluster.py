"""Checks on a Dask cluster: ``preflight check --scheduler tcp://HOST:8786 …`` sends each file's check to
the cluster's workers and streams the results back into the same report, cache and progress bar.

Why Dask (``pip install 'avatar-preflight[dask]'``): its scheduler already does what a batch of files needs,
with nothing to run beside it: a task whose worker dies is given to another worker (up to the
scheduler's ``distributed.scheduler.allowed-failures``, 3 by default; then it is that file's error
result), results arrive as they
finish, and its ``dask scheduler`` / ``dask worker`` commands start a cluster on any machines with
Python. Ray does the same with a heavier runtime (its wheel is ~60 MB beside Dask's ~3 MB pure
Python), and preflight's work per file is one plain function call: no shared state, no actors.

Workers need preflight installed (the same version), and must reach the files: by ``https://`` or
``s3://`` (their own AWS credentials), or at the same path on a shared file system. Local paths are
sent as absolute paths and reported as given. The cache lives where ``check`` runs; workers do not
read or write it. Each worker should run one thread per process (``dask worker --nthreads 1
--nworkers N``): the analysis already uses two threads (decode and picture).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from preflight.errors import UsageError

J = TypeVar("J")
R = TypeVar("R")
CONNECT_TIMEOUT_S = 10


def connect(address: str) -> Any:
    """A dask.distributed Client for ``address``, or a one-line UsageError saying what is wrong."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'avatar-preflight[dask]'") from None
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as err:
        raise UsageError(f"--scheduler {address}: no Dask scheduler answers there ({type(err).__name__}: "
                         f"{str(err).splitlines()[0][:160] if str(err) else 'no answer'})") from None


def absolute(path: Any) -> Any:
    """A local path as a worker on another machine must open it: absolute (a shared file system)."""
    return Path(os.path.abspath(path)) if isinstance(path, Path) else path


def run_on_cluster(work: Callable[[J], R], jobs: Sequence[J], address: str, crashed: Callable[[J], R],
                   client: Any = None) -> Iterator[tuple[J, R]]:
    """``work(job)`` for every job on the cluster's workers; yields (job, result) as each finishes. A
    file whose worker dies is retried on another; one that ends more workers than the scheduler allows
    gets ``crashed(job)``. An exception inside ``work`` (it catches its own, so a bug) is the same."""
    from distributed import as_completed

    own = client is None
    client = client or connect(address)
    run = uuid.uuid4().hex[:8]
    try:
        with client.as_current():  # the futures' own client, not a process-wide default
            futures = {client.submit(work, job, key=f"preflight-{run}-{i}", pure=False): job
                       for i, job in enumerate(jobs)}
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                job = futures[future]
                try:
                    result = future.result()
                except Exception:  # KilledWorker, or a failure outside work's own handling
                    result = crashed(job)
                yield job, result
    finally:
        if own:
            client.close()
