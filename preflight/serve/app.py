"""The HTTP routes of ``preflight serve`` (Starlette on uvicorn).

Chosen over FastAPI: Starlette imports in ~70 ms against FastAPI's ~220 ms (which brings pydantic,
~5 MB more), and the API is six routes whose bodies are media streamed to disk, not models to
validate; the OpenAPI document is written out in ``openapi.py``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from preflight.errors import BadUpload, BodyTooLarge
from preflight.report import FileResult, Report
from preflight.serve import uploads
from preflight.serve.callbacks import deliver, server_secret
from preflight.serve.config import ServeConfig
from preflight.serve.metrics import Metrics
from preflight.serve.recorder import RecorderConfig
from preflight.serve.runner import Runner, janitor
from preflight.serve.store import Job, Store

OPEN_PATHS = ("/healthz", "/openapi.json")
JSON_LIMIT = 64 * 1024
SUBMIT_FIELDS = {"name": str, "model": str, "voice_name": str, "auto_fix_image": bool, "force": bool,
                 "resubmit": bool, "dry_run": bool, "expires": str, "prefix": str, "tavus_callback_url": str,
                 "skip_tavus_validation": bool}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Service:
    """The state behind the routes: the store, the runner, the metrics, the callback sender."""

    def __init__(self, config: ServeConfig) -> None:
        config.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config = config
        self.store = Store(config.data)
        self.secret = config.secret or server_secret(config.data, os.environ.get("PREFLIGHT_SERVE_SECRET"))
        self.metrics = Metrics(self.store)
        self.tavus = {"api_key": os.environ.get("TAVUS_API_KEY", ""),
                      "api_url": os.environ.get("TAVUS_API_URL") or "https://tavusapi.com"}
        self.runner = Runner(config, self.store, self._finished, credentials=self.tavus)
        self._stop = threading.Event()
        self.recovered = (0, 0)

    def start(self) -> None:
        self.recovered = self.store.recover()
        for job in self.store.callbacks_due():  # due when a server stopped: delivered now
            self._send_callback(job)
        self.runner.start()
        keep_s = self.config.keep_hours * 3600
        # swept a few times per retention time, at most once a minute: nothing outlives it by much
        threading.Thread(target=janitor, args=(self.store, keep_s, self._stop, max(1.0, min(60.0, keep_s / 4))),
                         name="preflight-janitor", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.runner.stop()

    def _finished(self, job: Job) -> None:
        self.metrics.finished(job)
        if job.callback_url:
            self._send_callback(job)

    def _send_callback(self, job: Job) -> None:
        def send() -> None:
            assert job.callback_url is not None
            deliver(job.callback_url, view(job), self.secret, allow=self.config.guard_allow,
                    attempts=self.config.callback_attempts, backoff_s=self.config.callback_backoff_s,
                    stop=self._stop)
            if not self._stop.is_set():  # delivered, or given up after every attempt: not due any more
                self.store.callback_done(job.id)
        threading.Thread(target=send, name="preflight-callback", daemon=True).start()


def view(job: Job, *, with_html: bool = False) -> dict[str, Any]:
    """A job as the API shows it: status, and when done the report (or, for a face, the outcome)."""
    out: dict[str, Any] = {"id": job.id, "kind": job.kind, "status": job.status, "name": job.name,
                           "created": job.created, "finished": job.finished}
    if job.status != "done":
        return out
    if job.kind == "face":
        result = job.result or {}
        out.update(face=result.get("face"), check=result.get("check"), message=result.get("message"),
                   error=job.error)
        return out
    out["report"] = report_of(job)
    return out


def report_of(job: Job) -> dict[str, Any]:
    """The job's preflight.report/1 document; a job that ended without one (its worker crashed, the
    server stopped) gets one whose single result is an ``error`` with the reason."""
    if job.result is not None and isinstance(job.result.get("report"), dict):
        report: dict[str, Any] = job.result["report"]
        return report
    failed = FileResult(job.name, None, None, "error", job.error or "not checked", internal=True)
    document: dict[str, Any] = json.loads(Report([failed]).to_json())
    return document


def _authorized(request: Request, token: str | None) -> bool:
    if token is None or request.url.path in OPEN_PATHS:
        return True
    given = request.headers.get("authorization", "")
    return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def _params(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Options from the query string, overridden by a JSON body's."""
    merged: dict[str, Any] = dict(request.query_params)
    merged.update({k: v for k, v in body.items() if v is not None})
    return merged


def create_app(config: ServeConfig, recorder: RecorderConfig | None = None) -> Any:
    """The service's application; with ``recorder``, ``preflight record``'s page and take routes too."""
    service = Service(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        app.state.service = service
        try:
            yield
        finally:
            service.stop()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "workers": service.runner.workers})

    async def metrics(request: Request) -> Response:
        body, content_type = service.metrics.render()
        return Response(body, media_type=content_type)

    async def openapi(request: Request) -> Response:
        from preflight.serve.openapi import document

        return JSONResponse(document())

    async def post_check(request: Request) -> Response:
        return await accept(request, "check")

    async def post_face(request: Request) -> Response:
        if not service.tavus["api_key"]:
            return error(503, "this server holds no TAVUS_API_KEY: start `preflight serve` with TAVUS_API_KEY (and "
                              "PREFLIGHT_BUCKET for uploads) set to create faces; /v1/checks works without them")
        return await accept(request, "face")

    async def accept(request: Request, kind: str) -> Response:
        if service.store.queued() >= config.max_queue:
            wait_s = max(1, int(service.metrics.typical_seconds() * service.store.queued() / service.runner.workers))
            return error(429, f"the queue is full ({config.max_queue} jobs waiting); try again later",
                         {"Retry-After": str(wait_s)})
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        job_id = service.store.new_id()
        body: dict[str, Any] = {}
        if ctype == "application/json":
            raw = await _small_body(request)
            if raw is None:
                return error(413, f"a JSON body is at most {JSON_LIMIT // 1024} KiB")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return error(400, "the JSON body does not parse")
            if not isinstance(body, dict):
                return error(400, "the JSON body must be an object")
        params = _params(request, body)
        problem = _check_options(params)
        if problem:
            return error(400, problem)
        callback = params.get("callback_url")
        if callback is not None and not str(callback).lower().startswith(("https://", "http://")):
            return error(400, "callback_url must be an http(s):// URL")
        if ctype == "application/json":
            url = body.get("url")
            if not isinstance(url, str) or not url.lower().startswith(("https://", "http://", "s3://")):
                return error(400, 'a JSON body names a link: {"url": "https://…" or "s3://BUCKET/KEY"}')
            name, source, remote = _shown_url(url), url, True
        else:
            if uploads.declared_too_large(dict(request.headers), config.max_upload_bytes):
                return error(413, f"the body is larger than {config.max_upload_mb} MB (--max-upload-mb)")
            saved = await _save_upload(request, ctype, job_id, str(params.get("name") or ""))
            if isinstance(saved, Response):
                return saved
            name, source, remote = saved[0], saved[1], False
        job_params = _job_params(kind, params, config)
        service.store.add(job_id, kind, name, source, remote, job_params, callback)
        service.metrics.accepted(kind)
        service.runner.wake()
        if not _flag(str(params.get("wait", ""))):
            return JSONResponse({"id": job_id, "status": "queued"}, status_code=202,
                                headers={"Location": f"/v1/{kind}s/{job_id}"})
        job = await _until_done(job_id, request)
        if job is None:
            return error(499, "the client went away")
        return JSONResponse(view(job))

    async def _save_upload(request: Request, ctype: str, job_id: str, name: str) -> tuple[str, str] | Response:
        limit = config.max_upload_bytes
        try:
            if ctype == "multipart/form-data":
                tmp = service.store.spool / f"{job_id}.part"
                _, filename = await uploads.save_multipart(request.stream(), request.headers["content-type"], tmp,
                                                           limit)
                name = name or filename or "upload"
                dest = service.store.spool / uploads.spool_name(job_id, name)
                tmp.rename(dest)
            else:
                name = name or "upload"
                dest = service.store.spool / uploads.spool_name(job_id, name)
                size = await uploads.save_raw(request.stream(), dest, limit)
                if size == 0:
                    uploads.remove(dest)
                    return error(400, "the body is empty: send the media file as the body (?name=FILE.mp4), as a "
                                      'multipart "file" part, or a JSON body {"url": ...}')
        except BodyTooLarge:
            return error(413, f"the body is larger than {config.max_upload_mb} MB (--max-upload-mb)")
        except BadUpload as err:
            return error(400, str(err))
        except Exception as err:  # noqa: BLE001 - a malformed multipart body, a dropped connection
            return error(400, f"the upload could not be read ({type(err).__name__})")
        return name, str(dest)

    async def _until_done(job_id: str, request: Request) -> Job | None:
        delay = 0.05
        while True:
            job = service.store.get(job_id)
            if job is not None and job.status == "done":
                return job
            if await request.is_disconnected():
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    async def get_job(request: Request) -> Response:
        job = service.store.get(request.path_params["job_id"])
        if job is None:
            return error(404, "no such job (finished jobs are kept for --keep-hours)")
        return JSONResponse(view(job))

    async def get_html(request: Request) -> Response:
        job = service.store.get(request.path_params["job_id"])
        if job is None or job.kind != "check":
            return error(404, "no such check job")
        if job.status != "done":
            return error(409, f"the job is {job.status}; the report comes when it is done")
        if job.result is not None and isinstance(job.result.get("html"), str):
            return HTMLResponse(job.result["html"])
        from preflight.render import html
        from preflight.render.options import RenderOptions

        failed = FileResult(job.name, None, None, "error", job.error or "not checked", internal=True)
        return HTMLResponse(html.render(Report([failed]), RenderOptions()))

    rulesets: dict[str, Any] = {}

    async def guidance(request: Request) -> Response:
        from preflight.errors import PreflightError
        from preflight.ruleset import load
        from preflight.run.guidance import MAX_FRAME_BYTES, judge_frame

        name = request.query_params.get("rules") or (recorder.rules if recorder else "phoenix-4")
        problem = _check_options({"rules": name})
        if problem:
            return error(400, problem)
        if uploads.declared_too_large(dict(request.headers), MAX_FRAME_BYTES):
            return error(413, "a guidance frame is at most 4 MiB")
        frame = await _small_body(request, MAX_FRAME_BYTES)
        if frame is None:
            return error(413, "a guidance frame is at most 4 MiB")
        if name not in rulesets:
            rulesets[name] = load(name)
        started = time.perf_counter()
        try:
            found = await run_in_threadpool(judge_frame, frame, rulesets[name])
        except PreflightError as err:
            return error(400, str(err))
        return JSONResponse({**found.to_dict(), "rules": name,
                             "took_ms": round((time.perf_counter() - started) * 1000, 1)})

    routes = [
        Route("/v1/guidance", guidance, methods=["POST"]),
        Route("/healthz", healthz), Route("/metrics", metrics), Route("/openapi.json", openapi),
        Route("/v1/checks", post_check, methods=["POST"]), Route("/v1/checks/{job_id}", get_job),
        Route("/v1/checks/{job_id}/report.html", get_html),
        Route("/v1/faces", post_face, methods=["POST"]), Route("/v1/faces/{job_id}", get_job),
    ]
    if recorder is not None:
        from preflight.serve.recorder import routes as recorder_routes

        routes += recorder_routes(recorder)
    app = Starlette(routes=routes, lifespan=lifespan)
    return _with_auth(app, config.token)


def _with_auth(app: Starlette, token: str | None) -> Any:
    async def guarded(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                      send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and not _authorized(Request(scope), token):
            response = error(401, "a valid token is needed: Authorization: Bearer $PREFLIGHT_SERVE_TOKEN",
                             {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await app(scope, receive, send)
    guarded.app = app  # type: ignore[attr-defined]
    return guarded


async def _small_body(request: Request, limit: int = JSON_LIMIT) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _shown_url(url: str) -> str:
    from preflight import redact

    return redact.url(url)


def _check_options(params: dict[str, Any]) -> str | None:
    from preflight.ruleset import builtin_names

    rules = params.get("rules")
    if rules is not None and rules not in builtin_names():
        return f"unknown rule set {rules!r}; the service takes a built-in one: {', '.join(builtin_names())}"
    return None


def _job_params(kind: str, params: dict[str, Any], config: ServeConfig) -> dict[str, Any]:
    job: dict[str, Any] = {"rules": params.get("rules"), "quick": _flag(str(params.get("quick", ""))),
                           "allow": list(config.guard_allow), "max_bytes": config.max_upload_bytes,
                           "time_limit": config.scheduler is None}
    if kind == "face":
        submit: dict[str, Any] = {}
        for field, typ in SUBMIT_FIELDS.items():
            if field in params and field != "name":
                value = params[field]
                submit[field] = _flag(str(value)) if typ is bool else str(value)
        if "skip_tavus_validation" in submit:
            submit["tavus_validation"] = not submit.pop("skip_tavus_validation")
        if "tavus_callback_url" in submit:
            submit["callback_url"] = submit.pop("tavus_callback_url")
        if params.get("face_name") or params.get("name"):
            submit["name"] = str(params.get("face_name") or Path(str(params.get("name"))).stem)
        submit.update(bucket=os.environ.get("PREFLIGHT_BUCKET", ""),
                      s3_endpoint=os.environ.get("PREFLIGHT_S3_ENDPOINT") or None)
        job["submit"] = submit
    return job

