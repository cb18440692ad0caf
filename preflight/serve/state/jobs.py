"""Jobs: what was accepted, who runs it, and what came of it, in the service's database; a queue that
any number of nodes share.

A job is ``queued`` when accepted, ``running`` while a node holds its lease, ``done`` with its
report (or its error). A node claims the oldest claimable job (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: nodes claiming at once each get another) and renews the lease while the job runs. A job
whose node stopped renewing (killed, cut off) is claimable by any node once the lease has run out,
and that claim counts an attempt; a job claimed a third time had its node die under it twice and is
finished with an error that says so instead. A node that stops on purpose hands its jobs back
without counting the attempt: only a death counts. Only the job's holder can finish it or hand it
back, so a job ends once even when a cut-off node comes back.

A finished job's callback is due at once: any node claims it for one attempt (its own lease), and
records the outcome; a failed attempt is due again after a backoff, until the attempts run out.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from preflight.serve.state.database import Database, Row, Tx
from preflight.serve.state.keys import answer_for, forget_old

DIED_TWICE = ("the server stopped twice while this file was being checked (the analysis may have taken it down); "
              "it was not checked. Please report it")


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    created: float
    started: float | None
    finished: float | None
    name: str
    source: str
    remote: bool
    params: dict[str, Any]
    callback_url: str | None
    attempts: int
    verdict: str | None
    result: dict[str, Any] | None
    error: str | None
    owner: str | None = None
    callback_attempts: int = 0

    @classmethod
    def from_row(cls, row: Row) -> Job:
        return cls(row["id"], row["kind"], row["status"], row["created"], row["started"], row["finished"],
                   row["name"], row["source"], bool(row["remote"]), json.loads(row["params"]),
                   row["callback_url"], int(row["attempts"]), row["verdict"],
                   json.loads(row["result"]) if row["result"] else None, row["error"], row.get("owner"),
                   int(row.get("callback_attempts") or 0))


def insert_job(tx: Tx, job_id: str, kind: str, name: str, source: str, remote: bool, params: dict[str, Any],
               callback_url: str | None, origin: str | None = None) -> None:
    """A queued job, inside the caller's transaction (``origin``: the node that holds its upload)."""
    tx.run("INSERT INTO jobs (id, kind, status, created, name, source, remote, params, callback_url, origin) "
           "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
           (job_id, kind, time.time(), name, source, int(remote), json.dumps(params), callback_url, origin))


class Jobs:
    def __init__(self, database: Database) -> None:
        self.db = database

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def add(self, job_id: str, kind: str, name: str, source: str, remote: bool, params: dict[str, Any],
            callback_url: str | None, idempotency: tuple[str, str] | None = None, origin: str | None = None) -> str:
        """Add a queued job; the id of the job that now answers the request. With ``idempotency`` (key,
        fingerprint): a key seen within 24 h with the same fingerprint answers with its first job
        (nothing is added), with another fingerprint raises KeyReused; two requests with the same key
        at once, on any nodes, make one job."""
        with self.db.transaction() as tx:
            if idempotency is not None:
                first = answer_for(tx, *idempotency, job_id)
                if first != job_id:
                    return first
            insert_job(tx, job_id, kind, name, source, remote, params, callback_url, origin)
        return job_id

    def get(self, job_id: str) -> Job | None:
        row = self.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return Job.from_row(row) if row is not None else None

    def queued(self) -> int:
        """Jobs waiting for a node: the cluster's queue."""
        row = self.db.one("SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'")
        return int(row["n"]) if row else 0

    def counts(self) -> dict[str, int]:
        return {r["status"]: int(r["n"]) for r in self.db.rows("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")}

    # --- leases -----------------------------------------------------------------------------------

    def claim(self, owner: str, lease_s: float) -> Job | None:
        """The oldest job that is queued, or whose lease ran out, now ``owner``'s for ``lease_s``
        seconds (one more attempt), the ones ``owner`` received first (their uploads are on its disk);
        None when there is none. One whose node died under it twice is finished with DIED_TWICE on the
        way."""
        while True:
            now = time.time()
            with self.db.transaction() as tx:
                row = tx.one("UPDATE jobs SET status = 'running', owner = ?, lease_until = ?, started = ?, "
                             "attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' "
                             "OR (status = 'running' AND lease_until < ?) ORDER BY CASE WHEN origin = ? THEN 0 "
                             f"ELSE 1 END, created LIMIT 1{self.db.skip_locked}) RETURNING *",
                             (owner, now + lease_s, now, now, owner))
            if row is None:
                return None
            job = Job.from_row(row)
            if job.attempts < 3:
                return job
            self.finish(job.id, owner, "error", None, DIED_TWICE)

    def renew(self, owner: str, lease_s: float) -> int:
        """Every job ``owner`` runs keeps its lease ``lease_s`` more seconds; how many it holds."""
        return self.db.run("UPDATE jobs SET lease_until = ? WHERE owner = ? AND status = 'running'",
                           (time.time() + lease_s, owner))

    def release(self, owner: str | None) -> int:
        """At a node's start: the jobs it held before it stopped (``owner`` None: every running job, for
        a database no other node uses) are claimable now, not when their leases run out; their next
        claim counts the attempt."""
        if owner is None:
            return self.db.run("UPDATE jobs SET lease_until = 0 WHERE status = 'running'")
        return self.db.run("UPDATE jobs SET lease_until = 0 WHERE status = 'running' AND owner = ?", (owner,))

    def hand_back(self, job_id: str, owner: str) -> bool:
        """Queued again without counting the attempt (a node stopping on purpose)."""
        return self.db.run("UPDATE jobs SET status = 'queued', owner = NULL, lease_until = NULL, "
                           "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                           "WHERE id = ? AND owner = ? AND status = 'running'", (job_id, owner)) == 1

    def finish(self, job_id: str, owner: str | None, verdict: str | None, result: dict[str, Any] | None,
               error: str | None) -> bool:
        """The job is done, when ``owner`` still holds it (None: whoever does); its callback, if it has
        one, is due now (in the same write: one due when a node stops is sent by another). False when
        the job was no longer ``owner``'s (its lease ran out and another node took it)."""
        now = time.time()
        held = "" if owner is None else " AND owner = ?"
        return self.db.run(
            "UPDATE jobs SET status = 'done', finished = ?, verdict = ?, result = ?, error = ?, lease_until = NULL, "
            "callback_sent = CASE WHEN callback_url IS NULL THEN NULL ELSE 0 END, callback_due = ?, "
            f"callback_attempts = 0 WHERE id = ? AND status = 'running'{held}",
            (now, verdict, json.dumps(result) if result is not None else None, error, now, job_id,
             *(() if owner is None else (owner,)))) == 1

    # --- callbacks --------------------------------------------------------------------------------

    def claim_callback(self, owner: str, lease_s: float) -> Job | None:
        """A due callback no node is sending, now ``owner``'s for one attempt of at most ``lease_s`` s."""
        now = time.time()
        with self.db.transaction() as tx:
            row = tx.one("UPDATE jobs SET callback_lease = ?, callback_owner = ? WHERE id = (SELECT id FROM jobs "
                         "WHERE callback_sent = 0 AND callback_due <= ? AND (callback_lease IS NULL OR callback_lease < ?) "
                         f"ORDER BY callback_due LIMIT 1{self.db.skip_locked}) RETURNING *", (now + lease_s, owner, now, now))
        return Job.from_row(row) if row is not None else None

    def release_callbacks(self, owner: str | None) -> int:
        """At a node's start: the callback attempts it was making when it stopped (``owner`` None: every
        one, for a database no other node uses) are due now, not when their leases run out."""
        if owner is None:
            return self.db.run("UPDATE jobs SET callback_lease = NULL WHERE callback_sent = 0")
        return self.db.run("UPDATE jobs SET callback_lease = NULL WHERE callback_sent = 0 AND callback_owner = ?",
                           (owner,))

    def callback_attempted(self, job_id: str, delivered: bool, attempts: int, backoff_s: float) -> None:
        """One attempt's outcome: delivered, given up after ``attempts``, or due again after
        ``backoff_s * 4**n`` seconds (n: the attempts so far)."""
        job = self.get(job_id)
        if job is None:
            return
        tried = job.callback_attempts + 1
        if delivered or tried >= attempts:
            self.db.run("UPDATE jobs SET callback_sent = 1, callback_attempts = ?, callback_lease = NULL "
                        "WHERE id = ?", (tried, job_id))
        else:
            self.db.run("UPDATE jobs SET callback_attempts = ?, callback_due = ?, callback_lease = NULL WHERE id = ?",
                        (tried, time.time() + backoff_s * 4 ** (tried - 1), job_id))

    def next_callback_at(self) -> float | None:
        """When the next callback falls due (now or later), or None when none is waiting."""
        row = self.db.one("SELECT MIN(CASE WHEN callback_lease IS NULL OR callback_lease < callback_due "
                          "THEN callback_due ELSE callback_lease END) AS t FROM jobs WHERE callback_sent = 0")
        return float(row["t"]) if row is not None and row["t"] is not None else None

    # --- retention --------------------------------------------------------------------------------

    def expired(self, older_than_s: float) -> list[Job]:
        with self.db.transaction() as tx:
            forget_old(tx)
            rows = tx.rows("SELECT * FROM jobs WHERE status = 'done' AND finished < ? AND "
                           "(callback_sent IS NULL OR callback_sent = 1)", (time.time() - older_than_s,))
        return [Job.from_row(r) for r in rows]

    def unfinished(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` are jobs not done yet."""
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        return {r["id"] for r in self.db.rows(f"SELECT id FROM jobs WHERE status <> 'done' AND id IN ({marks})", ids)}

    def delete(self, job_id: str) -> None:
        self.db.run("DELETE FROM jobs WHERE id = ?", (job_id,))
