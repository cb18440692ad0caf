"""A finished job POSTed to the caller's ``callback_url``: signed, retried with backoff.

The body is the job as ``GET /v1/checks/{id}`` gives it. ``X-Preflight-Signature: sha256=HEX`` is the
HMAC-SHA256 of the exact body bytes with the server's secret (``PREFLIGHT_SERVE_SECRET``, or one made at
first start and kept in ``--data``); ``X-Preflight-Job`` names the job. Tavus does not sign its own
callbacks; a receiver of ours checks the signature before it trusts the body:

    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Preflight-Signature"])

A callback URL goes through the same URL guard as a link to check: never to a private address unless
the server runs with ``--allow-private-urls``. Delivery is at least once: a callback still due when
the server stops is sent after the restart, so a receiver must accept the same job twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

SIGNATURE_HEADER = "X-Preflight-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


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


def deliver(url: str, payload: dict[str, Any], secret: bytes, *, allow: tuple[str, ...], attempts: int,
            backoff_s: float, stop: threading.Event | None = None) -> bool:
    """POST ``payload`` to ``url`` until a 2xx answer, at most ``attempts`` times (waits of backoff_s,
    4x, 16x, … between them); True when delivered."""
    from preflight.remote.guard import client

    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               "X-Preflight-Job": str(payload.get("id", "")), "user-agent": "preflight-serve"}
    delay = backoff_s
    for attempt in range(attempts):
        try:
            with client(allow=allow, timeout=10.0) as http:
                reply = http.post(url, content=body, headers=headers)
            if 200 <= reply.status_code < 300:
                return True
        except Exception:  # noqa: BLE001 - refused, unreachable, timed out: try again later
            pass
        if attempt + 1 < attempts:
            if stop is not None and stop.wait(delay):
                return False
            if stop is None:
                time.sleep(delay)
            delay *= 4
    return False
