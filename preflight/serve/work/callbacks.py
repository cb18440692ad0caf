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
connecting. Delivery is at least once: a callback still due when the server stops is sent after the
restart, so a receiver must accept the same job twice.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "callback_url must be an http(s):// URL with a host"
    try:
        GuardedTransport(allow=allow).pinned(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
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


Due = Callable[[str], tuple[str, dict[str, Any]] | None]  # a job id -> (callback URL, payload), None: gone


class Sender:
    """``SENDERS`` threads deliver the due callbacks: attempt n+1 comes ``backoff_s * 4**n`` seconds after
    attempt n, for at most ``attempts`` attempts; a waiting callback holds no thread. ``done(job_id)`` is
    called when one is delivered or given up."""

    def __init__(self, due: Due, done: Callable[[str], None], secret: bytes, *, allow: tuple[str, ...],
                 attempts: int, backoff_s: float, senders: int = SENDERS) -> None:
        self.due, self.done, self.secret, self.allow = due, done, secret, allow
        self.attempts, self.backoff_s = attempts, backoff_s
        self._heap: list[tuple[float, int, str, int]] = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._threads = [threading.Thread(target=self._work, name=f"preflight-callback-{i}", daemon=True)
                         for i in range(senders)]
        for thread in self._threads:
            thread.start()

    def send(self, job_id: str) -> None:
        self._push(time.monotonic(), job_id, 0)

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()

    def _push(self, at: float, job_id: str, attempt: int) -> None:
        with self._cv:
            heapq.heappush(self._heap, (at, next(self._order), job_id, attempt))
            self._cv.notify()

    def _next(self) -> tuple[str, int] | None:
        with self._cv:
            while not self._stop:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    _, _, job_id, attempt = heapq.heappop(self._heap)
                    return job_id, attempt
                self._cv.wait(timeout=(self._heap[0][0] - time.monotonic()) if self._heap else None)
            return None

    def _work(self) -> None:
        while (item := self._next()) is not None:
            job_id, attempt = item
            found = self.due(job_id)
            if found is None:
                continue
            url, payload = found
            if deliver_once(url, payload, self.secret, allow=self.allow) or attempt + 1 >= self.attempts:
                if not self._stop:  # a stop in the middle leaves it due: sent after the restart
                    self.done(job_id)
                continue
            self._push(time.monotonic() + self.backoff_s * 4 ** attempt, job_id, attempt + 1)
