"""A local HTTP server on 127.0.0.1 that speaks the documented Tavus face API contract
(tavus-requirements.md §4): POST/GET /v2/faces, GET /v2/voices, x-api-key auth, the documented error
bodies, and faults on demand (``fail_next``) to test retries."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API_KEY = "sk-test-secret-0123456789"  # the key the stand-in accepts; tests assert it is never shown
VOICES = ["anna", "benjamin", "ivy", "james", "julia", "liam"]


@dataclass
class State:
    api_key: str
    faces: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer with, before the real one
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    progress_steps: list[str] = field(default_factory=lambda: ["10/100", "55/100", "100/100"])
    # phoenix-4.5: after status "completed" (the watermarked preview), finetune_status on each later poll
    finetune_steps: list[str] = field(default_factory=lambda: ["queued", "in_progress", "in_progress", "completed"])
    validations: list[dict[str, Any]] = field(default_factory=list)  # image checks run: path, model, mime type
    legacy_validation_only: bool = False  # like an older deployment: only /v2/replicas/image-validation
    fail_create: list[int] = field(default_factory=list)  # status codes to answer POST /v2/faces with, creating nothing
    delay_create_s: float = 0.0  # answer POST /v2/faces this late (after creating the face)
    created: list[dict[str, Any]] = field(default_factory=list)  # the bodies of the faces created
    fetched: list[bytes] = field(default_factory=list)  # what the training URLs served, as Tavus would fetch it

    def add_face(self, name: str, model: str = "phoenix-4", created_at: str | None = "2026-01-01T00:00:00Z") -> str:
        """A face made elsewhere (another machine, an earlier day)."""
        face_id = f"r{len(self.faces) + 1:011d}"
        self.faces[face_id] = {"face_id": face_id, "face_name": name, "status": "completed", "model_name": model,
                               "error_message": None, **({"created_at": created_at} if created_at else {})}
        return face_id


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _guard(self) -> bool:
        self.state.requests.append((self.command, self.path, dict(self.headers)))
        if self.state.fail_next:
            code = self.state.fail_next.pop(0)
            self._send(code, {"message": "try again"})
            return False
        if self.headers.get("x-api-key") != self.state.api_key:
            self._send(401, {"message": "Invalid access token"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        if not self._guard():
            return
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/v2/voices":
            names = [v for v in VOICES if query.get("search", "").lower() in v]
            limit, page = int(query.get("limit", 10)), int(query.get("page", 1))
            rows = names[(page - 1) * limit: page * limit]
            self._send(200, {"data": [{"voice_name": n, "replica_id": f"r{n}", "tags": []} for n in rows],
                             "total_count": len(names), "page": page, "limit": limit})
        elif url.path == "/v2/faces":
            rows = [_public(f) for f in self.state.faces.values()]
            limit, page = int(query.get("limit", 10)), int(query.get("page", 1))  # paged, as Tavus pages
            self._send(200, {"data": rows[(page - 1) * limit: page * limit], "total_count": len(rows),
                             "page": page, "limit": limit})
        elif url.path.startswith("/v2/faces/"):
            face = self.state.faces.get(url.path.rsplit("/", 1)[1])
            if face is None:
                self._send(400, {"error": "Invalid face_id"})
                return
            steps = self.state.progress_steps
            face["polls"] = face.get("polls", 0) + 1
            step = steps[min(face["polls"] - 1, len(steps) - 1)]
            if face.get("fails"):
                face.update(status="error", error_message=face["fails"])
            elif face["status"] == "completed" and face.get("model_name") == "phoenix-4.5":
                self._tune(face)  # the preview is ready: tuning goes on, one step a poll
            elif step == steps[-1]:
                face["status"] = "completed"
                if face.get("model_name") == "phoenix-4.5":
                    face["finetune_status"] = None  # preview ready; tuning not yet started
            self._send(200, {**_public(face), "training_progress": step, "unknown_new_field": True})
        else:
            self._send(404, {"error": "not found"})

    def _tune(self, face: dict[str, Any]) -> None:
        """Phoenix-4.5's second stage: finetune_status moves one step a poll; ``tuning_fails`` on the
        face makes it end ``errored`` (the status stays ``completed``: the preview stays usable)."""
        steps = self.state.finetune_steps
        face["tune_polls"] = face.get("tune_polls", 0) + 1
        step = steps[min(face["tune_polls"] - 1, len(steps) - 1)]
        face["finetune_status"] = "errored" if face.get("tuning_fails") and step == steps[-1] else step

    def _validate_image(self, body: dict[str, Any]) -> None:
        """POST /v2/faces/image-validation (legacy: /v2/replicas/image-validation): 200 when the check
        ran, with ``passed`` and one entry per check; 400 for a malformed request."""
        import base64
        import binascii
        import io

        from PIL import Image

        if self.state.legacy_validation_only and self.path.startswith("/v2/faces/"):
            self._send(404, {"error": "not found"})
            return
        encoded, mime, model = body.get("imageBase64"), body.get("mimeType"), body.get("model")
        if not isinstance(encoded, str) or encoded.startswith("data:") or mime not in ("image/jpeg", "image/png") \
                or not model:
            self._send(400, {"error": "imageBase64 (plain base64), mimeType and model are required"})
            return
        try:
            with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as im:
                size, fmt = im.size, im.format
        except (binascii.Error, OSError):
            self._send(400, {"error": "imageBase64 is not an image"})
            return
        self.state.validations.append({"path": self.path, "model": model, "mimeType": mime})
        checks = [{"id": "resolution", "label": "Image is at least 512x512 pixels",
                   "passed": size[0] >= 512 and size[1] >= 512, "details": {"width": size[0], "height": size[1]}},
                  {"id": "format", "label": "Image is a JPG or PNG", "passed": fmt in ("JPEG", "PNG")}]
        self._send(200, {"passed": all(c["passed"] for c in checks), "checks": checks, "model": model})

    def do_POST(self) -> None:  # noqa: N802
        if not self._guard():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if self.path.endswith("/image-validation"):
            self._validate_image(body)
            return
        if self.state.fail_create:
            self._send(self.state.fail_create.pop(0), {"error": "upstream failure"})
            return
        video, image = body.get("train_video_url"), body.get("train_image_url")
        if bool(video) == bool(image):
            self._send(400, {"error": "Either train_video_url or train_image_url must be provided."})
            return
        if image and not body.get("voice_name") and not body.get("default_voice_id"):
            self._send(400, {"error": "voice_name is required with train_image_url"})
            return
        if body.get("voice_name") and body["voice_name"].lower() not in VOICES:
            self._send(400, {"error": f"Invalid voice_name: {body['voice_name']}"})
            return
        fetched = _fetch(video or image)
        if fetched is None:
            self._send(400, {"error": f"Invalid {'train_video_url' if video else 'train_image_url'}"})
            return
        self.state.fetched.append(fetched)
        face_id = f"r{len(self.state.faces) + 1:011d}"
        self.state.faces[face_id] = {"face_id": face_id, "face_name": body.get("face_name"), "status": "started",
                                     "model_name": body.get("model_name", "phoenix-4"), "error_message": None,
                                     "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.state.created.append(body)
        if self.state.delay_create_s:
            time.sleep(self.state.delay_create_s)
        self._send(200, {"face_id": face_id, "status": "started"})


def _public(face: dict[str, Any]) -> dict[str, Any]:
    """A face as the API shows it: without the stand-in's own bookkeeping."""
    return {k: v for k, v in face.items() if k not in ("polls", "fails", "tune_polls", "tuning_fails")}


def _fetch(url: str) -> bytes | None:
    """Download the training file like Tavus does; only 127.0.0.1 (tests never leave the machine)."""
    if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
        return b"" if url.startswith("https://example.invalid/") else None
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return bytes(reply.read())
    except OSError:
        return None


class TavusStandIn:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.state = State(api_key)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TavusStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
