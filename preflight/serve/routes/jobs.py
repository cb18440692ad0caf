"""``/v1/checks`` and ``/v1/faces``: a job is accepted (a raw body, a multipart upload, or a JSON link),
kept in the store, run in the crash-isolation pool, and read back with its report."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from preflight.errors import BadUpload, BodyTooLarge, PreflightError, SpoolFull
from preflight.judge.ruleset import builtin_names
from preflight.model.report import Report
from preflight.serve.routes import contract, uploads
from preflight.serve.routes.bodies import error, json_body
from preflight.serve.routes.endpoints import (
    Endpoint,
    QueryParam,
    flag,
    is_json,
    options,
    unknown_rules,
)
from preflight.serve.state.jobs import Job
from preflight.serve.state.keys import KeyReused
from preflight.serve.state.views import failed_result, view
from preflight.serve.work.callbacks import refusal

if TYPE_CHECKING:
    from preflight.serve.service import Service

def _models() -> list[str]:
    from preflight.judge.ruleset import models

    return list(models())


CHECK_PARAMS = (
    QueryParam("name", "string", "The file's name (its extension is judged as on the command line); multipart "
          "uploads take the part's filename"),
    QueryParam("rules", "string", "A built-in rule set; default: the video or image one", enum=builtin_names),
    QueryParam("quick", "boolean", "Metadata and key frames only"),
    QueryParam("wait", "boolean", "Answer when the job is done (200) instead of at once (202)"),
    QueryParam("callback_url", "string", "POST the finished job here, signed (X-Preflight-Signature: t=UNIX,v1=HMAC-"
          "SHA256 of \"{t}.{body}\"); a private or unresolvable host is refused with 400",
               pattern=contract.CALLBACK_PATTERN, max_length=2048),
    QueryParam("Idempotency-Key", "string", "The same key within 24 h answers with the first job "
          "(Idempotent-Replayed: true); with a different request, 422", where="header",
               max_length=contract.MAX_IDEMPOTENCY_KEY),
)
# the face's own options: each is a submit option (SubmitOptions) of the same name, but where noted
SUBMIT_PARAMS = (
    QueryParam("model", "string", "The Tavus model", enum=_models),
    QueryParam("voice_name", "string", "A Tavus stock voice (images need one)"),
    QueryParam("face_name", "string", "The face's name (default: the file's stem)"),
    QueryParam("auto_fix_image", "boolean", "Let Tavus reframe a headshot (its image check relaxes to match)"),
    QueryParam("force", "boolean", "Submit although the check fails"),
    QueryParam("resubmit", "boolean", "Make another face although this file, name and model made one"),
    QueryParam("dry_run", "boolean", "Check and stage, but create no face"),
    QueryParam("expires", "string", "How long the presigned URL lives (24h to 7d)"),
    QueryParam("prefix", "string", "The S3 key prefix of the upload"),
    QueryParam("tavus_callback_url", "string", "Tavus's own training callback (callback_url is preflight's)",
               pattern=contract.CALLBACK_PATTERN, max_length=2048),
    QueryParam("skip_tavus_validation", "boolean", "Skip Tavus's own image check before the upload"),
)
_BINARY = {"type": "string", "format": "binary", "minLength": 1}
_BODY = {"required": True, "content": {
    "application/octet-stream": {"schema": {**_BINARY, "description": "The media file itself (any media type "
                                                                      "but JSON and multipart)"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": _BINARY}, "required": ["file"]}}}}
_ANSWERS = {"202": "Accepted: {id, status: queued}", "200": "Done (with wait=true): the job",
            "400": "A malformed request, an unknown parameter, an empty body, or a private or unresolvable "
                   "callback_url",
            "403": "A foreign Host or Origin, or an s3:// bucket the server does not allow",
            "413": "Over --max-upload-mb", "422": "An Idempotency-Key reused for a different request",
            "429": "The queue is full; see Retry-After", "507": "The spool is full (--max-spool-gb); see Retry-After"}


async def post_check(request: Request) -> Response:
    return await accept(request, "check")


async def post_face(request: Request) -> Response:
    service: Service = request.app.state.service
    if not service.setup.has_key:
        return error(503, "this server holds no TAVUS_API_KEY: start `preflight serve` with TAVUS_API_KEY (and "
                          "PREFLIGHT_BUCKET for uploads) set to create faces; /v1/checks works without them")
    return await accept(request, "face")


async def accept(request: Request, kind: str) -> Response:
    """Take the job: its options, then its source (a link, or the body saved to the spool), then the
    store (where an Idempotency-Key seen before answers with its first job)."""
    service: Service = request.app.state.service
    if await run_in_threadpool(service.jobs.queued) >= service.config.max_queue:
        return error(429, f"the queue is full ({service.config.max_queue} jobs waiting); try again later",
                     {"Retry-After": str(service.retry_after())})
    key = request.headers.get("idempotency-key")  # its length checked by the declaration
    read = await _options(request, kind)
    if isinstance(read, Response):
        return read
    params, url = read
    source = await (_link(service, url) if url is not None else _upload(request, service, str(params.get("name") or "")))
    if isinstance(source, Response):
        return source
    return await _enqueue(request, service, kind, params, source, key)


async def _options(request: Request, kind: str) -> tuple[dict[str, Any], str | None] | Response:
    """The job's options (query, or a JSON body's fields: both checked against the route's declaration)
    and its link."""
    service: Service = request.app.state.service
    body: dict[str, Any] | None = None
    if is_json(request):
        parsed = await json_body(request)
        if isinstance(parsed, Response):
            return parsed
        body = parsed
    params = options(request, FACES if kind == "face" else CHECKS, body)
    problem = unknown_rules(params.get("rules"))
    if problem:
        return error(400, problem)
    if params.get("callback_url") is not None:
        why = await run_in_threadpool(refusal, str(params["callback_url"]), service.config.guard_allow)
        if why is not None:
            return error(400, why)
    url = params.pop("url", None) if body is not None else None
    if body is not None and (not isinstance(url, str) or not url.lower().startswith(("https://", "http://", "s3://"))):
        return error(400, 'a JSON body names a link: {"url": "https://…" or "s3://BUCKET/KEY"}')
    return params, url


@dataclass(frozen=True)
class Source:
    """What a job checks: a link, or the body saved to the spool."""

    job_id: str
    name: str  # as the caller gave it (a link: without its secrets)
    where: str  # the spooled file, or the URL
    remote: bool
    digest: str  # SHA-256 of the body (or of the URL): what an Idempotency-Key compares


async def _link(service: Service, url: str) -> Source | Response:
    from preflight.remote import redact
    from preflight.remote.guard import s3_refusal

    if url.lower().startswith("s3://"):
        why = s3_refusal(url, service.config.allow_s3_buckets)
        if why is not None:
            return error(403, why)
    return Source(service.jobs.new_id(), redact.url(url), url, True, hashlib.sha256(url.encode()).hexdigest())


async def _upload(request: Request, service: Service, name: str) -> Source | Response:
    config, job_id = service.config, service.jobs.new_id()
    if uploads.declared_too_large(dict(request.headers), config.max_upload_bytes):
        return error(413, f"the body is larger than {config.max_upload_shown} (--max-upload-mb)")
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.split(";")[0].strip().lower() == "multipart/form-data":
            tmp = service.node.spool / f"{job_id}.part"
            _, filename, digest = await uploads.save_multipart(request.stream(), ctype, tmp, config.max_upload_bytes,
                                                               service.budget)
            name = name or filename or "upload"
            dest = service.node.spool / uploads.spool_name(job_id, name)
            tmp.rename(dest)
        else:
            name = name or "upload"
            dest = service.node.spool / uploads.spool_name(job_id, name)
            size, digest = await uploads.save_raw(request.stream(), dest, config.max_upload_bytes, service.budget)
            if size == 0:
                uploads.remove(dest)
                return error(400, "the body is empty: send the media file as the body (?name=FILE.mp4), as a "
                                  'multipart "file" part, or a JSON body {"url": ...}')
    except BodyTooLarge:
        return error(413, f"the body is larger than {config.max_upload_shown} (--max-upload-mb)")
    except SpoolFull:
        return error(507, f"the server's spool is full ({config.max_spool_gb:g} GB of uploads waiting or arriving, "
                          "--max-spool-gb); try again later", {"Retry-After": str(service.retry_after())})
    except BadUpload as err:
        return error(400, str(err))
    except Exception as err:  # noqa: BLE001 - a malformed multipart body, a dropped connection
        return error(400, f"the upload could not be read ({type(err).__name__})")
    return await run_in_threadpool(_kept, service, Source(job_id, name, dest.name, False, digest), dest)


def _kept(service: Service, source: Source, landed: Path) -> Source:
    """The landed body kept among the uploads' blobs (in S3: uploaded, where any node reads it; the
    landed file stays in this node's spool while the job waits, so that when this node runs it, as
    it does first, nothing is downloaded again)."""
    size = landed.stat().st_size
    try:
        moved = service.places.uploads.keep(source.where, landed, leave=True)
    except PreflightError:  # the blobs are away: nothing is kept, the caller hears 503
        uploads.remove(landed)
        service.budget.release(size)
        raise
    if moved:
        service.budget.release(size)
    return source


async def _enqueue(request: Request, service: Service, kind: str, params: dict[str, Any], source: Source,
                   key: str | None) -> Response:
    job_id, where, remote = source.job_id, source.where, source.remote
    idempotency = (f"{kind}:{key}", _fingerprint(kind, params, source.digest)) if key is not None else None
    try:
        answering = await run_in_threadpool(service.jobs.add, job_id, kind, source.name, where, remote,
                                            _job_params(kind, params, service), params.get("callback_url"),
                                            idempotency, None if remote else service.node.name)
    except KeyReused:
        await run_in_threadpool(_discard, service, where, remote)
        return error(422, "this Idempotency-Key was used within 24 h for a different request; use a new key")
    headers = {"Location": f"/v1/{kind}s/{answering}"}
    if answering != job_id:  # a retry: the first request's job answers, nothing more is done
        await run_in_threadpool(_discard, service, where, remote)
        headers["Idempotent-Replayed"] = "true"
    else:
        service.metrics.accepted(kind)
        service.accepted()
    if not flag(params.get("wait")):
        return JSONResponse({"id": answering, "status": "queued"}, status_code=202, headers=headers)
    job = await _until_done(service, answering, request)
    if job is None:
        return error(499, "the client went away")
    return JSONResponse(view(job), headers=headers)


def _discard(service: Service, source: str, remote: bool) -> None:
    """A request that made no job: its upload goes, and its bytes go back to the spool's budget."""
    if not remote:
        landed = service.node.spool / source
        size = landed.stat().st_size if landed.exists() else 0
        service.places.uploads.delete(source)
        uploads.remove(landed)
        service.budget.release(size)


def _fingerprint(kind: str, params: dict[str, Any], digest: str) -> str:
    """What makes two requests the same for an Idempotency-Key: the route, the options, the body."""
    chosen = {k: str(v) for k, v in sorted(params.items()) if k != "wait"}
    return hashlib.sha256(json.dumps([kind, chosen, digest]).encode()).hexdigest()


def _job_params(kind: str, params: dict[str, Any], service: Service) -> dict[str, Any]:
    config = service.config
    job: dict[str, Any] = {"rules": params.get("rules"), "quick": flag(params.get("quick")),
                           "allow": list(config.guard_allow), "max_bytes": config.max_upload_bytes,
                           "s3_buckets": list(config.allow_s3_buckets)}
    if kind != "face":
        return job
    submit: dict[str, Any] = {p.name: flag(params[p.name]) if p.type == "boolean" else str(params[p.name])
                              for p in SUBMIT_PARAMS if p.name in params and p.name != "face_name"}
    if "skip_tavus_validation" in submit:
        submit["tavus_validation"] = not submit.pop("skip_tavus_validation")
    if "tavus_callback_url" in submit:
        submit["callback_url"] = submit.pop("tavus_callback_url")
    if params.get("face_name") or params.get("name"):
        submit["name"] = str(params.get("face_name") or Path(str(params.get("name"))).stem)
    submit.update(bucket=service.setup.bucket, s3_endpoint=service.setup.s3_endpoint)
    job["submit"] = submit
    return job


async def _until_done(service: Service, job_id: str, request: Request) -> Job | None:
    delay = 0.05
    while True:
        job = await run_in_threadpool(service.jobs.get, job_id)
        if job is not None and job.status == "done":
            return job
        if await request.is_disconnected():
            return None
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)


async def get_job(request: Request) -> Response:
    service: Service = request.app.state.service
    job = await run_in_threadpool(service.jobs.get, request.path_params["job_id"])
    if job is None:
        return error(404, "no such job (finished jobs are kept for --keep-hours)")
    return JSONResponse(view(job))


async def get_html(request: Request) -> Response:
    service: Service = request.app.state.service
    job = await run_in_threadpool(service.jobs.get, request.path_params["job_id"])
    if job is None or job.kind != "check":
        return error(404, "no such check job")
    if job.status != "done":
        return error(409, f"the job is {job.status}; the report comes when it is done")
    result = job.result or {}
    if isinstance(result.get("html_blob"), str):
        kept = await run_in_threadpool(service.places.reports.read, result["html_blob"])
        if kept is not None:
            return HTMLResponse(kept)
    if isinstance(result.get("html"), str):  # a job finished by an older version kept it in its row
        return HTMLResponse(result["html"])
    from preflight.render import html
    from preflight.render.options import RenderOptions

    return HTMLResponse(html.render(Report([failed_result(job)]), RenderOptions()))


JOB_ID = QueryParam("job_id", "string", "The job's id, as accepted", where="path")


def _job_links(read: str) -> dict[str, Any]:
    return {"Read": {"operationId": read, "parameters": {"job_id": "$response.body#/id"},
                     "description": "The job, its status and when done its report"}}


CHECKS = Endpoint("POST", "/v1/checks", post_check, "Check a file (the body), or a link (JSON)", CHECK_PARAMS,
                  _BODY, _ANSWERS, json=lambda: contract.link_check(CHECK_PARAMS), answers={"200": "Job", "202": "Job"},
                  links={"200": _job_links("getCheck"), "202": {**_job_links("getCheck"), "Report": {
                      "operationId": "getCheckReport", "parameters": {"job_id": "$response.body#/id"}}}},
                  name="createCheck")
FACES = Endpoint("POST", "/v1/faces", post_face, "Check, upload, presign and create a Tavus face (the submit "
                 "pipeline); needs the server's TAVUS_API_KEY, and PREFLIGHT_BUCKET for uploads",
                 CHECK_PARAMS + SUBMIT_PARAMS, _BODY, {**_ANSWERS, "503": "The server holds no TAVUS_API_KEY"},
                 json=lambda: contract.link_check(CHECK_PARAMS + SUBMIT_PARAMS), answers={"200": "Job", "202": "Job"},
                 links={"200": _job_links("getFace"), "202": _job_links("getFace")}, name="createFace")
ENDPOINTS = (
    CHECKS,
    Endpoint("GET", "/v1/checks/{job_id}", get_job, "A check job: its status, and its report when done", (JOB_ID,),
             responses={"200": "The job", "404": "No such job"}, answers={"200": "Job"}, name="getCheck"),
    Endpoint("GET", "/v1/checks/{job_id}/report.html", get_html, "The visual HTML report of a finished check",
             (JOB_ID,), responses={"200": "HTML", "404": "No such job", "409": "Not done yet"},
             media={"200": "text/html"}, name="getCheckReport"),
    FACES,
    Endpoint("GET", "/v1/faces/{job_id}", get_job, "A face job: its status, and the outcome when done", (JOB_ID,),
             responses={"200": "The job", "404": "No such job"}, answers={"200": "Job"}, name="getFace"),
)
