"""The state behind the routes: the job store, the runner and its crash-isolation pool, the guidance
frames' own pool, the metrics, the callback senders, and what the environment says of Tavus."""

from __future__ import annotations

import os
import threading
from typing import Any

from preflight.run.environment import SubmitSetup, from_environment
from preflight.run.pool import IsolatedPool
from preflight.serve.blobs.spool import Budget
from preflight.serve.config import ServeConfig
from preflight.serve.state.jobs import Job, Store
from preflight.serve.state.sessions import Sessions
from preflight.serve.state.takes import Takes
from preflight.serve.state.views import view
from preflight.serve.work.callbacks import Sender, server_secret
from preflight.serve.work.metrics import Metrics
from preflight.serve.work.runner import Runner, janitor


class Service:
    def __init__(self, config: ServeConfig, setup: SubmitSetup | None = None) -> None:
        config.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config = config
        self.store = Store(config.data)
        self.store.budget = Budget(self.store.spool, config.max_spool_bytes)
        self.secret = config.secret or server_secret(config.data, os.environ.get("PREFLIGHT_SERVE_SECRET"))
        self.sessions = Sessions(self.store, self.secret)
        self.takes = Takes(self.store)
        self.metrics = Metrics(self.store)
        self.setup = setup or from_environment()
        self.runner = Runner(config, self.store, self._finished, self.setup)
        self.sender: Sender | None = None
        self._guidance: IsolatedPool | None = None
        self._guidance_lock = threading.Lock()
        self._stop = threading.Event()
        self.recovered = (0, 0)

    @property
    def guidance(self) -> IsolatedPool:
        """Guidance frames' own crash-isolation pool (a frame never waits behind a 60 s video)."""
        with self._guidance_lock:
            if self._guidance is None:
                from preflight.run.guidance import warm_up

                self._guidance = IsolatedPool(self.config.worker_count, warm_up=warm_up, name="preflight-guidance")
            return self._guidance

    def start(self) -> None:
        self.recovered = self.store.recover()
        self.sender = Sender(self._due, self.store.callback_done, self.secret, allow=self.config.guard_allow,
                             attempts=self.config.callback_attempts, backoff_s=self.config.callback_backoff_s)
        for job in self.store.callbacks_due():  # due when a server stopped: delivered now
            self.sender.send(job.id)
        self.runner.start()
        keep_s = self.config.keep_hours * 3600
        # swept a few times per retention time, at most once a minute: nothing outlives it by much
        threading.Thread(target=janitor, args=(self.store, keep_s, self._stop, max(1.0, min(60.0, keep_s / 4))),
                         name="preflight-janitor", daemon=True).start()

    def stop(self) -> None:
        """A graceful stop: running jobs finish within --stop-grace-s, or are queued again uncounted."""
        self._stop.set()
        if self.sender is not None:
            self.sender.stop()
        self.runner.stop(self.config.stop_grace_s)
        if self._guidance is not None:
            self._guidance.stop()

    def retry_after(self) -> int:
        """Seconds until the queue has room again, about: for Retry-After."""
        queued = max(1, self.store.queued())
        return max(1, int(self.metrics.typical_seconds() * queued / self.runner.workers))

    def _finished(self, job: Job) -> None:
        self.metrics.finished(job)
        if job.callback_url and self.sender is not None:
            self.sender.send(job.id)

    def _due(self, job_id: str) -> tuple[str, dict[str, Any]] | None:
        job = self.store.get(job_id)
        if job is None or not job.callback_url:
            return None
        return job.callback_url, view(job)
