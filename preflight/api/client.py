"""A small client for the Tavus face API (``/v2/faces``, ``/v2/voices``), after the contract in
tavus-requirements.md §4: ``x-api-key`` auth, ``{"error": …}`` bodies on 400, ``{"message": …}`` on 401.

Retries with exponential backoff and jitter on connection errors, timeouts, 429 and 5xx; every other
failure becomes an ApiError with one readable line. The API key is sent in a header and never appears
in a message, a log line or a repr.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from preflight.version import __version__
from preflight.api import DEFAULT_URL
from preflight.errors import ApiError
from preflight.model.facts import TavusCheck as ImageCheck  # one record for a check, here and in the facts

__all__ = ["DEFAULT_URL", "Face", "TavusClient", "Voice"]
RETRY_STATUS = {429, 500, 502, 503, 504}


Stage = Literal["training", "preview", "done", "failed", "tuning_failed"]
TWO_STAGE_MODELS = ("phoenix-4.5",)  # a watermarked preview first, then tuning (finetune_status)


@dataclass(frozen=True)
class Face:
    face_id: str
    status: str  # started | completed | error (callbacks also say ready)
    name: str | None = None
    progress: str | None = None  # "42/100"
    error_message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    model: str | None = None
    finetune_status: str | None = None  # phoenix-4.5: the tuning after the preview (… completed | errored)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Face:
        """Tolerant: E3 names (face_id, face_name) or E1/E2 ones (replica_id, replica_name); extra fields kept."""
        face_id = body.get("face_id") or body.get("replica_id")
        if not isinstance(face_id, str):
            raise ApiError("the API answered without a face_id")
        finetune = body.get("finetune_status")
        return cls(face_id, str(body.get("status") or "unknown"), body.get("face_name") or body.get("replica_name"),
                   body.get("training_progress"), body.get("error_message"), body,
                   str(body["model_name"]) if body.get("model_name") else None,
                   str(finetune) if finetune else None)

    @property
    def two_stage(self) -> bool:
        """Phoenix-4.5: ``completed`` only means the watermarked preview is ready; tuning goes on."""
        return self.model in TWO_STAGE_MODELS or self.finetune_status is not None

    @property
    def stage(self) -> Stage:
        """Where training is: ``training``; for phoenix-4.5 ``preview`` (preview ready, tuning goes on)
        then ``done`` or ``tuning_failed`` (the preview stays usable); ``failed`` (status error)."""
        if self.status == "error":
            return "failed"
        if self.status not in ("completed", "ready"):
            return "training"
        if not self.two_stage:
            return "done"
        tuning = (self.finetune_status or "").lower()
        if tuning == "completed":
            return "done"
        if tuning in ("errored", "error", "failed"):
            return "tuning_failed"
        return "preview"

    @property
    def done(self) -> bool:
        """Nothing more will change: trained, failed, or (phoenix-4.5) tuned or tuning failed."""
        return self.stage in ("done", "failed", "tuning_failed")

    @property
    def percent(self) -> float | None:
        try:
            done, total = (float(x) for x in str(self.progress).split("/"))
            return 100 * done / total if total else None
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Voice:
    voice_name: str
    voice_id: str | None = None
    face_id: str | None = None


@dataclass(frozen=True)
class ImageValidation:
    """Tavus's own verdict on a training image: HTTP 200 only means the check ran; ``passed`` says
    whether the image passed, and each entry of ``checks`` which of Tavus's checks it met."""

    passed: bool
    checks: tuple[ImageCheck, ...]

    @property
    def failing(self) -> list[ImageCheck]:
        return [c for c in self.checks if not c.passed]


# POST /v2/faces/image-validation limits: the whole JSON body at most 30 MiB, the base64 at most 28 MiB.
MAX_VALIDATION_BASE64 = 28 * 1024 * 1024
VALIDATION_PATHS = ("/v2/faces/image-validation", "/v2/replicas/image-validation")  # current, legacy


def image_mime_type(data: bytes) -> str:
    """The MIME type Tavus's image check is told: PNG by its signature, else JPEG (the only two it takes)."""
    return "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"


class TavusClient:
    """Use as a context manager. ``transport`` lets tests use httpx.MockTransport; integration tests
    point ``base_url`` at a local server that speaks the same contract."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, retries: int = 4, backoff_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not api_key:
            raise ApiError("no API key: set TAVUS_API_KEY (Tavus Developer Portal > API Keys)")
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout,
                                  headers={"x-api-key": api_key, "user-agent": f"preflight/{__version__}"})
        self._retries, self._backoff, self._sleep = retries, backoff_s, sleep

    def __enter__(self) -> TavusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"TavusClient({self._http.base_url})"

    # --- endpoints ---------------------------------------------------------------------------

    def create_face(self, body: dict[str, Any]) -> Face:
        """Never retried once the request may have been sent (a timeout could hide a created face):
        only refusals that prove nothing was created (429, and errors before connecting) are retried."""
        return Face.parse(self._request("POST", "/v2/faces", json=body, idempotent=False))

    def list_faces(self, limit: int = 100) -> list[Face]:
        """The first page of faces."""
        body = self._request("GET", "/v2/faces", params={"limit": limit, "page": 1})
        return [Face.parse(row) for row in body.get("data") or [] if isinstance(row, dict)]

    def validate_image(self, data: bytes, model: str) -> ImageValidation:
        """Run Tavus's image check for ``model`` on a JPEG or PNG (its type read from its bytes).
        Read-only on Tavus's side, so retried like a GET; the legacy path is tried where the current
        one is unknown (404)."""
        import base64

        encoded = base64.b64encode(data).decode("ascii")  # plain base64: no data-URL prefix
        if len(encoded) > MAX_VALIDATION_BASE64:
            raise ApiError(f"the image is {len(data) / 1e6:.1f} MB, more than Tavus's image check takes "
                           f"({MAX_VALIDATION_BASE64 * 3 // 4 / 1e6:.0f} MB); save a smaller JPEG")
        payload = {"imageBase64": encoded, "mimeType": image_mime_type(data), "model": model}
        for path in VALIDATION_PATHS:
            try:
                body = self._request("POST", path, json=payload)
            except ApiError as err:
                if err.status == 404 and path != VALIDATION_PATHS[-1]:
                    continue
                raise
            checks = tuple(ImageCheck(str(c.get("id", "")), str(c.get("label") or c.get("id") or "check"),
                                      bool(c.get("passed"))) for c in body.get("checks") or [] if isinstance(c, dict))
            return ImageValidation(bool(body.get("passed")), checks)
        raise AssertionError("unreachable")

    def check_key(self) -> None:
        """One cheap authenticated request (the first stock voice): raises ApiError for a bad key."""
        self._request("GET", "/v2/voices", params={"limit": 1, "page": 1})

    def faces(self, page_size: int = 100) -> Iterator[Face]:
        """Every face, page after page."""
        for row in self._pages("/v2/faces", {}, page_size):
            yield Face.parse(row)

    def get_face(self, face_id: str) -> Face:
        return Face.parse(self._request("GET", f"/v2/faces/{face_id}"))

    def voices(self, search: str | None = None, page_size: int = 100) -> Iterator[Voice]:
        """Every stock voice (all pages), optionally filtered by a name substring."""
        for row in self._pages("/v2/voices", {"search": search} if search else {}, page_size):
            if row.get("voice_name"):
                yield Voice(str(row["voice_name"]), row.get("voice_id"), row.get("face_id") or row.get("replica_id"))

    def _pages(self, path: str, params: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        """The rows of a paged list endpoint, page after page, until total_count or an empty page."""
        page, seen = 1, 0
        while True:
            body = self._request("GET", path, params={**params, "limit": page_size, "page": page})
            rows = [row for row in body.get("data") or [] if isinstance(row, dict)]
            yield from rows
            seen += len(rows)
            total = body.get("total_count")
            if not rows or (isinstance(total, int) and seen >= total):
                return
            page += 1

    # --- transport -----------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> dict[str, Any]:
        for attempt in range(self._retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.TransportError, httpx.TimeoutException) as err:
                unsent = isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt == self._retries or not (idempotent or unsent):
                    sent = "" if unsent else "; the request may have reached Tavus"
                    raise ApiError(f"cannot reach the Tavus API at {self._http.base_url}: "
                                   f"{type(err).__name__}{sent}") from None
                self._pause(attempt, None)
                continue
            retry = response.status_code in RETRY_STATUS if idempotent else response.status_code == 429
            if retry and attempt < self._retries:
                self._pause(attempt, response.headers.get("retry-after"))
                continue
            return _body(response, method, path)
        raise AssertionError("unreachable")

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff * 2**attempt * (0.5 + random.random())  # full jitter around the backoff
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        self._sleep(min(delay, 60.0))


def _body(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if not isinstance(body, dict):
            raise ApiError(f"{method} {path}: the API answered {response.status_code} without a JSON object")
        return body
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("error") or body.get("message") or "")
    hint = {401: " (check TAVUS_API_KEY)", 429: " (rate limited; try again later)"}.get(response.status_code, "")
    raise ApiError(f"{method} {path}: HTTP {response.status_code}: {detail or response.reason_phrase}{hint}",
                   response.status_code)
