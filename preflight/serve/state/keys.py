"""Idempotency keys: a request sent again with the same ``Idempotency-Key`` within 24 h is answered by
what answered it the first time (a job, or a capture session), on whichever node it arrives.

A key is claimed with one upsert: the first request's row goes in; a later one (or one racing it on
another node, which waits for the first transaction to end) finds that row and gets its answer. The
row of a key older than 24 h is taken over by the next request with that key.
"""

from __future__ import annotations

import time

from preflight.serve.state.database import Tx

IDEMPOTENCY_S = 24 * 3600  # a key names its first answer for this long


class KeyReused(Exception):
    """An Idempotency-Key sent again with a different request (422)."""


def answer_for(tx: Tx, key: str, fingerprint: str, mine: str) -> str:
    """Inside the caller's transaction: ``mine`` when this request is the first with ``key`` (the caller
    then makes it), else the first request's answer; KeyReused when that request was another."""
    now = time.time()
    tx.run("INSERT INTO idempotency (key, fingerprint, job_id, created) VALUES (?, ?, ?, ?) "
           "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, job_id = excluded.job_id, "
           "created = excluded.created WHERE idempotency.created < ?", (key, fingerprint, mine, now, now - IDEMPOTENCY_S))
    row = tx.one("SELECT fingerprint, job_id FROM idempotency WHERE key = ?", (key,))
    assert row is not None
    if row["job_id"] == mine:
        return mine
    if row["fingerprint"] != fingerprint:
        raise KeyReused
    return str(row["job_id"])


def forget_old(tx: Tx) -> int:
    return tx.run("DELETE FROM idempotency WHERE created < ?", (time.time() - IDEMPOTENCY_S,))
