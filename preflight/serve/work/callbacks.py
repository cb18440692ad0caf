"""A finished job POSTed to the caller's ``callback_url``: signed, retried with backoff, by a fixed
number of sender threads.

The body is the job as ``GET /v1/checks/{id}`` gives it. ``X-Preflight-Signature: t=UNIX,v1=HEX`` (as
Stripe signs its webhooks): HEX is the HMAC-SHA256 of ``"{t}.{body}"`` with the server's secret
(``PREFLIGHT_SERVE_SECRET``, or one made at first start and kept in ``--data``), ``t`` the time of
sending. A receiver checks the signature and rejects one older than five minutes, so a recorded
callback cannot be replayed later:

    t, v1 = (dict(p.split("=", 1) for p in header.split(",")))[k] for k in ("t", "v1")
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) < 300

``X-Preflight-Job`` names the job. A callback URL goes through the same URL guard as a link to check:
a private one is refused when the job is submitted (400), and every attempt is checked again before
connecting. Delivery is at least once: a callback still due when its node stops is sent by another
node, or by the same one after its restart, so a receiver must accept the same job twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.serve.state.jobs import Job, Jobs

SIGNATURE_HEADER = "X-Preflight-Signature"
SENDERS = 4  # callbacks in flight at once, however many are due


def sign(secret: bytes, body: bytes, at: int | None = None) -> str:
    """``t=UNIX,v1=HEX``: HEX the HMAC-SHA256 of ``"{t}.{body}"``."""
    t = int(time.time()) if at is None else at
    return f"t={t},v1=" + hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str, *, tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and is at most ``tolerance_s`` old."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t, given = int(fields["t"]), fields["v1"]
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given) and abs((time.time() if now is None else now) - t) <= tolerance_s


def refusal(url: str, allow: tuple[str, ...]) -> str | None:
    """Why ``url`` may not receive callbacks (not http(s), a private or unresolvable host), or None."""
    from urllib.parse import urlsplit

    from preflight.remote.guard import GuardedTransport, Refused

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # an IPv6 literal that is not one, a port that is not a number
        return f"callback_url is not a URL ({err})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "callback_url must be an http(s):// URL with a host"
    try:
        GuardedTransport(allow=allow).pinned(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except Refused as err:
        return f"callback_url: {err}"
    except ValueError:
        return "callback_url has no valid port"
    return None


def server_secret(data: Path, given: str | None) -> bytes:
    """``PREFLIGHT_SERVE_SECRET`` if set, else the secret kept in the data folder (made once, 0600)."""
    if given:
        return given.encode()
    path = data / "callback-secret"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        value = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as fh:
            fh.write(value)
        return value


def deliver_once(url: str, payload: dict[str, Any], secret: bytes, *, allow: tuple[str, ...]) -> bool:
    """One attempt: POST the signed payload through the URL guard; True on a 2xx answer."""
    from preflight.remote.guard import client

    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               "X-Preflight-Job": str(payload.get("id", "")), "user-agent": "preflight-serve"}
    try:
        with client(allow=allow, timeout=10.0) as http:
            reply = http.post(url, content=body, headers=headers)
        return 200 <= reply.status_code < 300
    except Exception:  # noqa: BLE001 - refused, unreachable, timed out: tried again later
        return False


Payload = Callable[["Job"], dict[str, Any]]  # a finished job -> the callback's body


class Sender:
    """Delivers the due callbacks of the whole cluster, ``senders`` at a time from this node. A callback
    is due in the job's row (``state/jobs.py``): a node claims one for one attempt (a lease of
    ``LEASE_S``), sends it, and records the outcome; a failed attempt n is due again ``backoff_s * 4**n``
    seconds later, for at most ``attempts`` attempts. So each attempt is made by one node, and one
    due when its node stopped (or died mid-attempt, once the lease runs out) is sent by another.
    A finished job on this node wakes its sender at once; otherwise the database is asked at least
    once a second (a waiting retry holds no thread)."""

    LEASE_S = 30.0  # one attempt's longest time (10 s to connect and answer) with room to spare

    def __init__(self, jobs: Jobs, payload: Payload, secret: bytes, node: str, *, allow: tuple[str, ...],
                 attempts: int, backoff_s: float, senders: int = SENDERS) -> None:
        self.jobs, self.payload, self.secret, self.node, self.allow = jobs, payload, secret, node, allow
        self.attempts, self.backoff_s = attempts, backoff_s
        self._free = threading.Semaphore(senders)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="preflight-callback")
        self._thread = threading.Thread(target=self._loop, name="preflight-callbacks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        from preflight.errors import PreflightError

        while not self._stop.is_set():
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._free.acquire(timeout=0.5):
                    job = self.jobs.claim_callback(self.node, self.LEASE_S)
                    if job is None:
                        self._free.release()
                        break
                    self._pool.submit(self._attempt, job)
                due = self.jobs.next_callback_at()
            except PreflightError:  # the database is away: ask again in a moment
                due = None
            wait = 1.0 if due is None else min(1.0, max(0.02, due - time.time()))
            self._wake.wait(wait)

    def _attempt(self, job: Job) -> None:
        try:
            if self._stop.is_set():
                return  # left to its lease: sent again by whichever node claims it next
            delivered = deliver_once(str(job.callback_url), self.payload(job), self.secret, allow=self.allow)
            if not self._stop.is_set():
                self.jobs.callback_attempted(job.id, delivered, self.attempts, self.backoff_s)
        except Exception:  # noqa: BLE001 - the database is away: the lease runs out, the attempt is made again
            pass
        finally:
            self._free.release()
            self._wake.set()
