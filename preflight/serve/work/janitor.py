"""The janitor: finished jobs and their files are removed after the retention time (``--keep-hours``),
with a take's recording, fixed MP4 and reports; takes abandoned mid-recording, idempotency keys
and capture sessions past their time go too. One node at a time sweeps: the turn is a named lease
in the database (``state/leases.py``), taken before each sweep. ``preflight record``'s takes are
the user's, in ``--out``, and are never removed."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from preflight.errors import PreflightError
from preflight.serve.state.jobs import Job
from preflight.serve.state.leases import Leases
from preflight.serve.state.sessions import Sessions
from preflight.serve.work.runner import Node, remove_inputs

TURN = "janitor"
log = logging.getLogger("preflight.serve")


@dataclass(frozen=True)
class Janitor:
    node: Node
    leases: Leases
    sessions: Sessions
    keep_s: float
    takes_too: bool = True  # False for preflight record: its takes are the user's files

    def sweep(self) -> int:
        """Remove what is older than the retention time; how many jobs were removed."""
        old = [job for job in self.node.jobs.expired(self.keep_s) if self.takes_too or job.kind != "take"]
        for job in old:
            self._remove(job)
        if self.takes_too:
            for take in self.node.recording.takes.unfinished(self.keep_s):
                self.node.places.takes.delete_prefix(f"{take.id}.")
                self.node.recording.takes.delete(take.id)
        self.sessions.forget(self.keep_s)
        return len(old)

    def _remove(self, job: Job) -> None:
        remove_inputs(self.node, job)
        if job.kind == "check":
            self.node.places.reports.delete(f"{job.id}.html")
        if job.kind == "take":
            take = self.node.recording.takes.of_job(job.id)
            if take is not None:
                self.node.places.takes.delete_prefix(f"{take.id}.")
                self.node.recording.takes.delete(take.id)
        self.node.jobs.delete(job.id)

    def run(self, stop: threading.Event, every_s: float) -> None:
        """``sweep`` every ``every_s`` seconds until ``stop``, when this node has the turn."""
        while not stop.wait(every_s):
            try:
                if self.leases.take(TURN, self.node.name, every_s * 3):
                    self.sweep()
            except PreflightError as err:  # the database or the blobs are away: next time
                log.warning("sweeping: %s", err)
