"""The HTTP routes of ``preflight serve`` (Starlette on uvicorn).

Chosen over FastAPI: Starlette imports in ~70 ms against FastAPI's ~220 ms (which brings pydantic,
~5 MB more), and the API is six routes whose bodies are media streamed to disk, not models to
validate; the OpenAPI document is written out in ``openapi.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from preflight.errors import BadUpload, BodyTooLarge, SpoolFull
from preflight.model.report import FileResult, Report
from preflight.run.pool import Crashed, IsolatedPool
from preflight.serve import uploads
from preflight.serve.bodies import error, json_body, small_body
from preflight.serve.callbacks import Sender, refusal, server_secret
from preflight.serve.config import ServeConfig
from preflight.serve.gate import Gate, HostPolicy
from preflight.serve.metrics import Metrics
from preflight.serve.recorder import RecorderConfig
from preflight.serve.runner import Runner, janitor
from preflight.serve.store import Job, KeyReused, Store

MAX_IDEMPOTENCY_KEY = 255
SUBMIT_FIELDS = {"name": str, "model": str, "voice_name": str, "auto_fix_image": bool, "force": bool,
                 "resubmit": bool, "dry_run": bool, "expires": str, "prefix": str, "tavus_callback_url": str,
                 "skip_tavus_validation": bool}


class Service:
    """The state behind the routes: the store, the runner and its pool, the guidance pool, the
    metrics, the callback senders."""

    def __init__(self, config: ServeConfig) -> None:
        config.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config = config
        self.store = Store(config.data)
        self.store.budget = uploads.Budget(self.store.spool, config.max_spool_bytes)
        self.secret = config.secret or server_secret(config.data, os.environ.get("PREFLIGHT_SERVE_SECRET"))
        self.metrics = Metrics(self.store)
        self.tavus = {"api_key": os.environ.get("TAVUS_API_KEY", ""),
                      "api_url": os.environ.get("TAVUS_API_URL") or "https://tavusapi.com"}
        self.runner = Runner(config, self.store, self._finished, credentials=self.tavus)
        self.sender: Sender | None = None
        self._guidance: IsolatedPool | None = None
        self._guidance_lock = threading.Lock()
        self._stop = threading.Event()
        self.recovered = (0, 0)

    @property
    def guidance(self) -> IsolatedPool:
        """Guidance frames' own crash-isolation pool (a frame never waits behind a 60 s video)."""
        with self._guidance_lock:
            if self._guidance is None:
                from preflight.run.guidance import warm_up

                self._guidance = IsolatedPool(1, warm_up=warm_up, name="preflight-guidance")
            return self._guidance

    def start(self) -> None:
        self.recovered = self.store.recover()
        self.sender = Sender(self._due, self.store.callback_done, self.secret, allow=self.config.guard_allow,
                             attempts=self.config.callback_attempts, backoff_s=self.config.callback_backoff_s)
        for job in self.store.callbacks_due():  # due when a server stopped: delivered now
            self.sender.send(job.id)
        self.runner.start()
        keep_s = self.config.keep_hours * 3600
        # swept a few times per retention time, at most once a minute: nothing outlives it by much
        threading.Thread(target=janitor, args=(self.store, keep_s, self._stop, max(1.0, min(60.0, keep_s / 4))),
                         name="preflight-janitor", daemon=True).start()

    def stop(self) -> None:
        """A graceful stop: running jobs finish within --stop-grace-s, or are queued again uncounted."""
        self._stop.set()
        if self.sender is not None:
            self.sender.stop()
        self.runner.stop(self.config.stop_grace_s)
        if self._guidance is not None:
            self._guidance.stop()

    def _finished(self, job: Job) -> None:
        self.metrics.finished(job)
        if job.callback_url and self.sender is not None:
            self.sender.send(job.id)

    def _due(self, job_id: str) -> tuple[str, dict[str, Any]] | None:
        job = self.store.get(job_id)
        if job is None or not job.callback_url:
            return None
        return job.callback_url, view(job)


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
            return error(429, f"the queue is full ({config.max_queue} jobs waiting); try again later",
                         {"Retry-After": str(retry_after())})
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            return error(400, f"an Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} characters")
        job_id = service.store.new_id()
        body: dict[str, Any] = {}
        if ctype == "application/json":
            parsed = await json_body(request)
            if isinstance(parsed, Response):
                return parsed
            body = parsed
        params = _params(request, body)
        problem = _check_options(params)
        if problem:
            return error(400, problem)
        callback = params.get("callback_url")
        if callback is not None:
            why = await run_in_threadpool(refusal, str(callback), config.guard_allow)
            if why is not None:
                return error(400, why)
        if ctype == "application/json":
            url = body.get("url")
            if not isinstance(url, str) or not url.lower().startswith(("https://", "http://", "s3://")):
                return error(400, 'a JSON body names a link: {"url": "https://…" or "s3://BUCKET/KEY"}')
            if url.lower().startswith("s3://"):
                from preflight.remote.guard import UrlGuard

                why = UrlGuard(s3_buckets=config.allow_s3_buckets).s3_refusal(url)
                if why is not None:
                    return error(403, why)
            name, source, remote, digest = _shown_url(url), url, True, hashlib.sha256(url.encode()).hexdigest()
        else:
            if uploads.declared_too_large(dict(request.headers), config.max_upload_bytes):
                return error(413, f"the body is larger than {config.max_upload_mb} MB (--max-upload-mb)")
            saved = await _save_upload(request, ctype, job_id, str(params.get("name") or ""))
            if isinstance(saved, Response):
                return saved
            name, source, digest = saved
            remote = False
        job_params = _job_params(kind, params, config)
        idempotency = (f"{kind}:{key}", _fingerprint(kind, params, digest)) if key is not None else None
        try:
            answering = service.store.add(job_id, kind, name, source, remote, job_params, callback, idempotency)
        except KeyReused:
            _discard(source, remote)
            return error(422, "this Idempotency-Key was used within 24 h for a different request; use a new key")
        headers = {"Location": f"/v1/{kind}s/{answering}"}
        if answering != job_id:  # a retry: the first request's job answers, nothing more is done
            _discard(source, remote)
            headers["Idempotent-Replayed"] = "true"
        else:
            service.metrics.accepted(kind)
            service.runner.wake()
        if not _flag(str(params.get("wait", ""))):
            return JSONResponse({"id": answering, "status": "queued"}, status_code=202, headers=headers)
        job = await _until_done(answering, request)
        if job is None:
            return error(499, "the client went away")
        return JSONResponse(view(job), headers=headers)

    def retry_after() -> int:
        return max(1, int(service.metrics.typical_seconds() * max(1, service.store.queued()) / service.runner.workers))

    def _discard(source: str, remote: bool) -> None:
        if not remote:
            upload = Path(source)
            size = upload.stat().st_size if upload.exists() else 0
            uploads.remove(upload)
            if service.store.budget is not None:
                service.store.budget.release(size)

    async def _save_upload(request: Request, ctype: str, job_id: str, name: str) -> tuple[str, str, str] | Response:
        limit, budget = config.max_upload_bytes, service.store.budget
        try:
            if ctype == "multipart/form-data":
                tmp = service.store.spool / f"{job_id}.part"
                _, filename, digest = await uploads.save_multipart(request.stream(), request.headers["content-type"],
                                                                   tmp, limit, budget)
                name = name or filename or "upload"
                dest = service.store.spool / uploads.spool_name(job_id, name)
                tmp.rename(dest)
            else:
                name = name or "upload"
                dest = service.store.spool / uploads.spool_name(job_id, name)
                size, digest = await uploads.save_raw(request.stream(), dest, limit, budget)
                if size == 0:
                    uploads.remove(dest)
                    return error(400, "the body is empty: send the media file as the body (?name=FILE.mp4), as a "
                                      'multipart "file" part, or a JSON body {"url": ...}')
        except BodyTooLarge:
            return error(413, f"the body is larger than {config.max_upload_mb} MB (--max-upload-mb)")
        except SpoolFull:
            return error(507, f"the server's spool is full ({config.max_spool_gb:g} GB of uploads waiting or arriving, "
                              "--max-spool-gb); try again later", {"Retry-After": str(retry_after())})
        except BadUpload as err:
            return error(400, str(err))
        except Exception as err:  # noqa: BLE001 - a malformed multipart body, a dropped connection
            return error(400, f"the upload could not be read ({type(err).__name__})")
        return name, str(dest), digest

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

    async def guidance(request: Request) -> Response:
        from preflight.errors import PreflightError
        from preflight.run.guidance import GUIDANCE_LIMIT_S, MAX_FRAME_BYTES, judge_named

        name = request.query_params.get("rules") or (recorder.rules if recorder else "phoenix-4")
        problem = _check_options({"rules": name})
        if problem:
            return error(400, problem)
        if uploads.declared_too_large(dict(request.headers), MAX_FRAME_BYTES):
            return error(413, "a guidance frame is at most 4 MiB")
        frame = await small_body(request, MAX_FRAME_BYTES)
        if frame is None:
            return error(413, "a guidance frame is at most 4 MiB")
        started = time.perf_counter()
        try:
            found = await asyncio.wrap_future(service.guidance.submit(judge_named, frame, name,
                                                                      limit_s=GUIDANCE_LIMIT_S))
        except Crashed:
            return error(422, f"this frame could not be analysed (the analysis crashed or took over "
                              f"{GUIDANCE_LIMIT_S:g} s); send the next one")
        except PreflightError as err:
            return error(400, str(err))
        return JSONResponse({**found, "rules": name, "took_ms": round((time.perf_counter() - started) * 1000, 1)})

    routes = [
        Route("/v1/guidance", guidance, methods=["POST"]),
        Route("/healthz", healthz), Route("/metrics", metrics), Route("/openapi.json", openapi),
        Route("/v1/checks", post_check, methods=["POST"]), Route("/v1/checks/{job_id}", get_job),
        Route("/v1/checks/{job_id}/report.html", get_html),
        Route("/v1/faces", post_face, methods=["POST"]), Route("/v1/faces/{job_id}", get_job),
    ]
    open_paths = config.open_paths
    if recorder is not None:
        from preflight.serve.recorder import OPEN_PATHS as RECORDER_OPEN
        from preflight.serve.recorder import routes as recorder_routes

        routes += recorder_routes(recorder, service)
        open_paths = (*open_paths, *RECORDER_OPEN)
    app = Starlette(routes=routes, lifespan=lifespan)
    gate = Gate(app, hosts=HostPolicy(config.host, config.allow_hosts), token=config.token, open_paths=open_paths)
    return gate


def _fingerprint(kind: str, params: dict[str, Any], digest: str) -> str:
    """What makes two requests the same for an Idempotency-Key: the route, the options, the body."""
    options = {k: str(v) for k, v in sorted(params.items()) if k not in ("wait", "url")}
    return hashlib.sha256(json.dumps([kind, options, digest]).encode()).hexdigest()


def _shown_url(url: str) -> str:
    from preflight.remote import redact

    return redact.url(url)


def _check_options(params: dict[str, Any]) -> str | None:
    from preflight.judge.ruleset import builtin_names

    rules = params.get("rules")
    if rules is not None and rules not in builtin_names():
        return f"unknown rule set {rules!r}; the service takes a built-in one: {', '.join(builtin_names())}"
    return None


def _job_params(kind: str, params: dict[str, Any], config: ServeConfig) -> dict[str, Any]:
    job: dict[str, Any] = {"rules": params.get("rules"), "quick": _flag(str(params.get("quick", ""))),
                           "allow": list(config.guard_allow), "max_bytes": config.max_upload_bytes,
                           "s3_buckets": list(config.allow_s3_buckets)}
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

