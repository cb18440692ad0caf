"""The parts behind the routes, wired together: the database's stores (jobs, takes, capture sessions,
leases), the blobs, the runner and its crash-isolation pool, the guidance frames' own pool, the
callback senders, the janitor, the metrics, and what the environment says of Tavus.

A node is ready (``/readyz``) from its start until it is told to stop: then it drains (claims no
more work, answers 503 on ``/readyz`` so that a load balancer stops sending), and stops.
"""

from __future__ import annotations

import os
import threading
from concurrent import futures
from typing import Any

from preflight.errors import UsageError
from preflight.run.environment import SubmitSetup, from_environment
from preflight.run.pool import IsolatedPool
from preflight.serve.blobs.places import open_blobs
from preflight.serve.blobs.spool import Budget
from preflight.serve.config import RecorderConfig, ServeConfig
from preflight.serve.state.connect import open_database
from preflight.serve.state.jobs import Job, Jobs
from preflight.serve.state.leases import Leases
from preflight.serve.state.sessions import Sessions
from preflight.serve.state.takes import Takes
from preflight.serve.state.views import view
from preflight.serve.work.callbacks import Sender, server_secret
from preflight.serve.work.janitor import Janitor
from preflight.serve.work.metrics import Metrics
from preflight.serve.work.recording import Recording
from preflight.serve.work.runner import Node, Runner


class Service:
    def __init__(self, config: ServeConfig, setup: SubmitSetup | None = None,
                 recorder: RecorderConfig | None = None) -> None:
        config.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config = config
        self.database = open_database(config.database_url, pool=config.database_pool)
        self.places = open_blobs(config.blobs, config.data, recorder.out if recorder is not None else None)
        self.secret = self._secret(config)
        self.jobs = Jobs(self.database)
        self.sessions = Sessions(self.database, self.secret)
        self.leases = Leases(self.database)
        spool, scratch = config.data / "spool", config.data / "scratch"
        for folder in (spool, scratch):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.budget = Budget(spool, config.max_spool_bytes)
        self.node = Node(config.node_name, self.jobs, self.places, Recording(Takes(self.database), self.places.takes),
                         spool, scratch, self.budget)
        self.metrics = Metrics(self.jobs)
        self.setup = setup or from_environment()
        self.runner = Runner(config, self.node, self._finished, self.setup)
        self.sender = Sender(self.jobs, view, self.secret, self.node.name, allow=config.guard_allow,
                             attempts=config.callback_attempts, backoff_s=config.callback_backoff_s)
        self.janitor = Janitor(self.node, self.leases, self.sessions, config.keep_hours * 3600,
                               takes_too=recorder is None)
        self._guidance: IsolatedPool | None = None
        self._guidance_lock = threading.Lock()
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once the workers are warm; cleared from the stop on

    @staticmethod
    def _secret(config: ServeConfig) -> bytes:
        """The secret every node signs with (callbacks, capture-session tokens, guidance state): from
        PREFLIGHT_SERVE_SECRET, or with one node only, made once and kept in the data folder."""
        given = config.secret or os.environ.get("PREFLIGHT_SERVE_SECRET", "").encode()
        if not given and (config.database is not None and not config.database.startswith("sqlite:")):
            raise UsageError("with --database postgresql://… every node signs with the same secret: set "
                             "PREFLIGHT_SERVE_SECRET (e.g. to `openssl rand -hex 32`) on every node")
        return given or server_secret(config.data, None)

    @property
    def recording(self) -> Recording:
        return self.node.recording

    @property
    def takes(self) -> Takes:
        return self.node.recording.takes

    @property
    def guidance(self) -> IsolatedPool:
        """Guidance frames' own crash-isolation pool (a frame never waits behind a 60 s video)."""
        with self._guidance_lock:
            if self._guidance is None:
                from preflight.run.guidance import warm_up

                self._guidance = IsolatedPool(self.config.guidance_worker_count, warm_up=warm_up,
                                              name="preflight-guidance")
            return self._guidance

    def start(self) -> None:
        # this node's jobs and callback attempts from before its restart are claimable now (every one, on a
        # database of its own); on a shared database a restarted node waited out its own callbacks' leases
        mine = self.node.name if self.database.shared else None
        self.jobs.release(mine)
        self.jobs.release_callbacks(mine)
        self.sender.start()
        warming = self.runner.start()
        keep_s = self.config.keep_hours * 3600
        # swept a few times per retention time, at most once a minute: nothing outlives it by much
        threading.Thread(target=self.janitor.run, args=(self._stop, max(1.0, min(60.0, keep_s / 4))),
                         name="preflight-janitor", daemon=True).start()
        threading.Thread(target=self._ready_when_warm, args=(warming,), name="preflight-ready", daemon=True).start()

    def _ready_when_warm(self, warming: list[Any]) -> None:
        """Ready (``/readyz`` 200) once the workers have loaded the analysis: a load balancer sends work
        to a node that does it at full speed (jobs sent before wait in the queue, as they would)."""
        futures.wait(warming, timeout=120)
        if not self._stop.is_set():
            self.ready.set()

    def drain(self) -> None:
        """Told to stop: not ready any more (a load balancer stops sending), and no more jobs claimed."""
        self.ready.clear()
        self.runner.drain()

    def stop(self) -> None:
        """A graceful stop: running jobs finish within --stop-grace-s, or are handed back uncounted."""
        self.drain()
        self._stop.set()
        self.sender.stop()
        self.runner.stop(self.config.stop_grace_s)
        if self._guidance is not None:
            self._guidance.stop()
        self.database.close()

    def retry_after(self) -> int:
        """Seconds until the queue has room again, about: for Retry-After."""
        queued = max(1, self.jobs.queued())
        return max(1, int(self.metrics.typical_seconds() * queued / self.runner.workers))

    def accepted(self) -> None:
        """A job was accepted here: this node's runner looks for it at once."""
        self.runner.wake()

    def _finished(self, job: Job) -> None:
        self.metrics.finished(job)
        if job.callback_url:
            self.sender.wake()
