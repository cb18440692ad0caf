"""Capture sessions: what a product's backend allows one browser to do, in the service's database.

A backend (with the server's token) makes a session for one capture: the product's origin, the rule
set, how long it lives, how many takes it allows, the take's durations (a rehearsal's shorter ones),
where the checked take's job is POSTed, and what may be submitted to Tavus. The browser gets only the
session's token: ``pfcs_{id}_{HMAC(server secret, id)}``. Nothing secret is stored (the token is
made again from the id), so the same ``Idempotency-Key`` answers with the same token, and a stolen
database gives no tokens. A token is good for its own session's routes, from its origin, until it
expires; the gate (``gate.py``) checks all three before a route runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from preflight.serve.state.database import Database, Row
from preflight.serve.state.keys import answer_for

PREFIX = "pfcs_"
TTL_S = (5, 24 * 3600, 900)  # least, most, default (seconds)
MAX_TAKES = (1, 20, 3)
PART_S = (1.0, 600.0)  # a speak_s or listen_s a backend may set
SUBMIT_KEYS = ("name", "voice_name", "dry_run", "prefix", "expires", "tavus_callback_url")
KNOWN_KEPT = 4096  # sessions a node keeps read (the gate reads one on every call with a session token)


@dataclass(frozen=True)
class CaptureSession:
    id: str
    origin: str
    rules: str
    created: float
    expires: float
    max_takes: int
    speak_s: float | None
    listen_s: float | None
    callback_url: str | None
    submit: dict[str, Any] | None

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires

    def shown(self) -> dict[str, Any]:
        """The session as its browser or backend sees it (never its token)."""
        return {"id": self.id, "origin": self.origin, "rules": self.rules, "expires_at": _iso(self.expires),
                "max_takes": self.max_takes, "speak_s": self.speak_s, "listen_s": self.listen_s,
                "submits": self.submit is not None}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def normal_origin(value: object) -> str | None:
    """``scheme://host[:port]`` in lower case, or None when ``value`` is not a web origin."""
    if not isinstance(value, str) or not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Sessions:
    def __init__(self, database: Database, secret: bytes) -> None:
        self.db, self._secret = database, secret
        self._known: dict[str, CaptureSession] = {}  # a session's row never changes: read once per node
        self._lock = threading.Lock()

    def token(self, session_id: str) -> str:
        mac = hmac.new(self._secret, f"capture-session:{session_id}".encode(), hashlib.sha256).hexdigest()[:40]
        return f"{PREFIX}{session_id}_{mac}"

    def create(self, fields: dict[str, Any], idempotency: tuple[str, str] | None = None) -> CaptureSession:
        """A new session from checked ``fields`` (see ``capture.session_fields``); with ``idempotency``
        (key, fingerprint) a key seen within 24 h answers with its first session (KeyReused: another
        request)."""
        session_id = uuid.uuid4().hex
        now = time.time()
        with self.db.transaction() as tx:
            first = answer_for(tx, *idempotency, session_id) if idempotency is not None else session_id
            if first == session_id:
                tx.run("INSERT INTO capture_sessions (id, origin, rules, created, expires, max_takes, speak_s, "
                       "listen_s, callback_url, submit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (session_id, fields["origin"], fields["rules"], now, now + fields["ttl_s"],
                        fields["max_takes"], fields.get("speak_s"), fields.get("listen_s"), fields.get("callback_url"),
                        json.dumps(fields["submit"]) if fields.get("submit") is not None else None))
        found = self.get(first)
        assert found is not None
        return found

    def get(self, session_id: str) -> CaptureSession | None:
        known = self._known.get(session_id)
        if known is not None:
            return known
        row = self.db.one("SELECT * FROM capture_sessions WHERE id = ?", (session_id,))
        if row is None:
            return None
        session = _session(row)
        with self._lock:
            if len(self._known) >= KNOWN_KEPT:
                self._known.pop(next(iter(self._known)))  # the oldest read
            self._known[session_id] = session
        return session

    def by_token(self, token: str) -> CaptureSession | None:
        """The session ``token`` was made for (expired ones too: the gate says so), or None."""
        if not token.startswith(PREFIX):
            return None
        session_id = token[len(PREFIX):].split("_", 1)[0]
        if not hmac.compare_digest(self.token(session_id).encode(), token.encode()):
            return None
        return self.get(session_id)

    def origin_live(self, origin: str) -> bool:
        """A session of ``origin`` is live, or expired within a day: a CORS pre-flight (which carries no
        token) is answered for such an origin only, so that a page holding an expired token reads
        "expired" (401) rather than a network error; the request itself still needs a live token."""
        return self.db.one("SELECT 1 AS live FROM capture_sessions WHERE origin = ? AND expires > ? LIMIT 1",
                           (origin, time.time() - 24 * 3600)) is not None

    def forget(self, older_than_s: float) -> int:
        """Sessions expired longer than ``older_than_s`` ago whose takes are gone, removed."""
        cutoff = time.time() - older_than_s
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if v.expires >= cutoff}
        return self.db.run("DELETE FROM capture_sessions WHERE expires < ? AND NOT EXISTS "
                           "(SELECT 1 FROM takes WHERE takes.session_id = capture_sessions.id)", (cutoff,))


def _session(r: Row) -> CaptureSession:
    return CaptureSession(r["id"], r["origin"], r["rules"], r["created"], r["expires"], int(r["max_takes"]),
                          r["speak_s"], r["listen_s"], r["callback_url"], json.loads(r["submit"]) if r["submit"] else None)
