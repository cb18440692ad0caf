"""Takes, on ``preflight serve`` and ``preflight record`` alike: ``POST /v1/takes``, its chunks in order,
``GET /v1/takes/{id}`` (its state, the next chunk it expects, and once checked its verdict and
findings), ``finish`` (the fix and the full check: a job of kind ``take``, run by the service's runner
in its crash-isolation pool, its callback the capture session's), its report, its fixed MP4
(``/media``, the server's token only) and, for ``preflight record``, ``submit``.

A capture session's token reaches its own takes only (another session's take is "no such take"), at
most ``max_takes`` of them, judged by the session's rule set. Answers name files by name only; every
body is bounded as it streams.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from preflight.errors import PreflightError, UsageError
from preflight.judge.ruleset import max_upload_bytes
from preflight.serve.routes.bodies import error, json_body, small_body
from preflight.serve.routes import contract
from preflight.serve.routes.endpoints import Endpoint, QueryParam, flag, is_json
from preflight.serve.routes.page import EXTENSIONS, not_video_rules, page_config, video_rulesets
from preflight.serve.state.takes import TakeRow
from preflight.serve.work.recording import Appended
from preflight.serve.work.take import submit_fixed

if TYPE_CHECKING:
    from preflight.serve.service import Service
    from preflight.serve.state.sessions import CaptureSession

MAX_CHUNK_BYTES = 64 * 1024 * 1024  # MediaRecorder gives about a second at a time
MAX_CHUNKS = 1_000_000  # a chunk's number: about 11 days of one-second chunks


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def session_of(request: Request) -> CaptureSession | None:
    """The capture session whose token the request carries (the gate put it there), or None."""
    session: CaptureSession | None = request.scope.get("state", {}).get("capture_session")
    return session


async def _take(request: Request) -> TakeRow | None:
    """The take the path names, when the caller may see it (a session sees its own takes only)."""
    take = await run_in_threadpool(_service(request).takes.get, request.path_params["take_id"])
    session = session_of(request)
    if take is None or (session is not None and take.session_id != session.id):
        return None
    return take


async def _json(request: Request) -> dict[str, Any] | Response:
    """A JSON body (checked by the route's declaration), or {} when the request sends none."""
    return await json_body(request) if is_json(request) else {}


def default_rules(request: Request) -> str:
    recorder = getattr(request.app.state, "recorder", None)
    return recorder.rules if recorder is not None else "phoenix-4"


async def start_take(request: Request) -> Response:
    body = await _json(request)
    if isinstance(body, Response):
        return body
    session = session_of(request)
    mime = str(body.get("mime") or "video/webm").split(";")[0].strip().lower()
    rules = str(body.get("rules") or (session.rules if session else default_rules(request)))
    if session is not None and rules != session.rules:
        return error(403, f"this capture session's takes are judged by {session.rules}")
    problem = not_video_rules(rules)
    if problem:
        return error(400, problem)
    take = await run_in_threadpool(_service(request).recording.start, session.id if session else None, rules, mime,
                                   EXTENSIONS.get(mime, ".webm"))
    if take is None:
        assert session is not None
        return error(403, f"this capture session allows {session.max_takes} takes, all used; ask the product's "
                          "server for a new session")
    return JSONResponse({"id": take.id, "recording": take.recording, "next_seq": 0}, status_code=201)


async def chunk(request: Request) -> Response:
    take = await _take(request)
    if take is None:
        return error(404, "no such take")
    seq = int(request.query_params["seq"])  # a whole number from 0: checked by the declaration
    limit = max_upload_bytes()
    room = min(MAX_CHUNK_BYTES, limit - take.size)
    data = await small_body(request, room)  # counted as it streams, chunked bodies too
    if data is None:
        return error(413, f"the take is over {limit // 1_000_000} MB" if room < MAX_CHUNK_BYTES else
                     f"a chunk is at most {MAX_CHUNK_BYTES // 2**20} MiB")
    done, size = await run_in_threadpool(_service(request).recording.append, take.id, seq, data)
    if done == Appended.GAP:
        fresh = await run_in_threadpool(_service(request).takes.get, take.id)
        expected = fresh.next_seq if fresh else 0
        return JSONResponse({"error": f"chunk {seq} is not the next one ({expected}), or the take is finished",
                             "next_seq": expected}, status_code=409)
    return JSONResponse({"ok": True, "duplicate": done == Appended.REPEAT, "bytes": size})


async def finish(request: Request) -> Response:
    take = await _take(request)
    if take is None:
        return error(404, "no such take")
    if take.size == 0:
        return error(409, "the take has no recording yet: send its chunks first")
    service = _service(request)
    session = session_of(request) or (service.sessions.get(take.session_id) if take.session_id else None)
    params = {"rules": take.rules, "take_id": take.id, "submit": session.submit if session else None}
    await run_in_threadpool(service.takes.finish, take, service.jobs.new_id(), params,
                            session.callback_url if session else None)
    service.accepted()
    if flag(request.query_params.get("wait")):
        while (shown := await run_in_threadpool(take_view, service, take.id)) is not None and shown["status"] != "done":
            if await request.is_disconnected():
                return error(499, "the client went away")
            await asyncio.sleep(0.2)
        return JSONResponse(shown)
    return JSONResponse(await run_in_threadpool(take_view, service, take.id), status_code=202)


async def get_take(request: Request) -> Response:
    take = await _take(request)
    if take is None:
        return error(404, "no such take")
    return JSONResponse(await run_in_threadpool(take_view, _service(request), take.id))


def take_view(service: Service, take_id: str) -> dict[str, Any] | None:
    """A take as its page or backend sees it: its state, the next chunk it expects, and when checked
    the verdict, the findings (rule ids kept) and the report; file names only, never server paths."""
    take = service.takes.get(take_id)
    if take is None:
        return None
    job = service.jobs.get(take.job_id) if take.job_id else None
    out: dict[str, Any] = {"id": take.id, "session": take.session_id, "rules": take.rules,
                           "status": "done" if job is not None and job.status == "done" else take.status,
                           "next_seq": take.next_seq, "bytes": take.size, "recording": take.recording}
    if job is None or job.status != "done":
        return out
    result = job.result or {}
    from preflight.serve.state.views import report_of

    report = report_of(job)
    first = (report.get("results") or [{}])[0]
    out.update(verdict=first.get("verdict") or job.verdict, findings=first.get("findings") or [],
               fixed=Path(result["fixed"]).name if result.get("fixed") else None, note=result.get("note") or job.error,
               report_json=Path(result["report_json"]).name if result.get("report_json") else None,
               report=_named(report), submitted=result.get("submitted"))
    return out


def _named(report: dict[str, Any]) -> dict[str, Any]:
    for result in report.get("results", []):
        result["path"] = Path(str(result.get("path") or "")).name or None
    return report


async def _finished(request: Request) -> tuple[TakeRow, dict[str, Any]] | None:
    take = await _take(request)
    if take is None or not take.job_id:
        return None
    job = await run_in_threadpool(_service(request).jobs.get, take.job_id)
    if job is None or job.status != "done" or job.result is None:
        return None
    return take, job.result


async def take_report(request: Request) -> Response:
    found = await _finished(request)
    html = None
    if found is not None and found[1].get("report_html"):
        html = await run_in_threadpool(_service(request).places.takes.read, Path(found[1]["report_html"]).name)
    if html is None:
        return error(404, "no checked take")
    return HTMLResponse(html)


async def take_media(request: Request) -> Response:
    found = await _finished(request)
    if found is None or not found[1].get("fixed"):
        return error(404, "no fixed take (not checked yet, or the fixer could not make one: see its note)")
    take, result = found
    blobs, name = _service(request).places.takes, Path(result["fixed"]).name
    local = blobs.path(name)
    if local is not None:  # a file on this machine: served as one (ranges, sendfile)
        return FileResponse(local, media_type="video/mp4", filename=f"{take.id}.mp4")
    streamed = await run_in_threadpool(blobs.stream, name)
    if streamed is None:
        return error(404, "the fixed take is gone (removed after --keep-hours)")
    size, pieces = streamed
    return StreamingResponse(iterate_in_threadpool(pieces), media_type="video/mp4", headers={
        "content-length": str(size), "content-disposition": f'attachment; filename="{take.id}.mp4"'})


async def submit_take(request: Request) -> Response:
    found = await _finished(request)
    if found is None or not found[1].get("fixed"):
        return error(409, "finish the take first")
    take, result = found
    if not page_config(take.rules)["submit"]:
        return error(503, "set TAVUS_API_KEY and PREFLIGHT_BUCKET before `preflight record` to submit from here")
    body = await _json(request)
    if isinstance(body, Response):
        return body
    service = _service(request)
    fixed = await run_in_threadpool(service.places.takes.local, Path(result["fixed"]).name, service.node.scratch / take.id)
    try:
        outcome = await run_in_threadpool(submit_fixed, fixed, take.rules, {"name": str(body.get("name") or "") or None})
    except UsageError as err:  # this take cannot go to this model as it is
        return error(409, str(err))
    except PreflightError as err:  # the bucket or Tavus failed it
        return error(502, f"the submit did not go through: {err}")
    return JSONResponse(outcome)


def take_submit_schema() -> dict[str, Any]:
    return contract.take_submit_request()


TAKE_ID = QueryParam("take_id", "string", "The take's id, as started", where="path")
_TAKE_ID = {"take_id": "$response.body#/id"}
CHUNKS = Endpoint("POST", "/v1/takes/{take_id}/chunks", chunk, "Append the next piece of the recording",
                  (TAKE_ID, QueryParam("seq", "integer", "The chunk's number, from 0", minimum=0, maximum=MAX_CHUNKS,
                                        required=True)),
                  {"required": True, "content": {"application/octet-stream": {"schema": {
                      "type": "string", "format": "binary"}}}},
                  {"200": "Kept (or a repeat, ignored)", "404": "No such take",
                   "409": "Not the next chunk (next_seq says which), or the take is finished",
                   "413": "Over the chunk or take limit"}, session=True, answers={"200": "ChunkKept"},
                  name="appendTakeChunk")
ENDPOINTS = (
    Endpoint("POST", "/v1/takes", start_take, "Start a take (JSON: mime, rules; both optional)",
             responses={"201": "The take: its id, and the chunk it expects first", "400": "Not a video rule set",
                        "403": "The capture session's takes are used up, or another rule set"}, session=True,
             json=lambda: contract.take_request(video_rulesets()), answers={"201": "TakeStarted"},
             links={"201": {"Read": {"operationId": "getTake", "parameters": _TAKE_ID},
                            "AppendChunk": {"operationId": "appendTakeChunk", "parameters": _TAKE_ID},
                            "Finish": {"operationId": "finishTake", "parameters": _TAKE_ID}}},
             name="startTake"),
    Endpoint("GET", "/v1/takes/{take_id}", get_take, "A take: its state, the next chunk it expects, and its verdict "
             "and findings once checked", (TAKE_ID,), responses={"200": "The take", "404": "No such take"},
             session=True, answers={"200": "Take"}, name="getTake"),
    CHUNKS,
    Endpoint("POST", "/v1/takes/{take_id}/finish", finish, "Fix and check the take (a job; its callback is the "
             "capture session's)", (TAKE_ID, QueryParam("wait", "boolean", "Answer when checked")),
             responses={"202": "Checking: the take", "200": "With wait: the checked take", "404": "No such take",
                        "409": "Nothing recorded yet"}, session=True, answers={"200": "Take", "202": "Take"},
             links={"202": {"Read": {"operationId": "getTake", "parameters": _TAKE_ID},
                            "Report": {"operationId": "getTakeReport", "parameters": _TAKE_ID},
                            "Media": {"operationId": "getTakeMedia", "parameters": _TAKE_ID}}},
             name="finishTake"),
    Endpoint("GET", "/v1/takes/{take_id}/report.html", take_report, "The take's HTML report", (TAKE_ID,),
             responses={"200": "HTML", "404": "Not checked yet"}, session=True, media={"200": "text/html"},
             name="getTakeReport"),
    Endpoint("GET", "/v1/takes/{take_id}/media", take_media, "The fixed take: an H.264/AAC MP4 (the server's token "
             "only)", (TAKE_ID,), responses={"200": "video/mp4", "404": "Not fixed yet"}, media={"200": "video/mp4"},
             name="getTakeMedia"),
    Endpoint("POST", "/v1/takes/{take_id}/submit", submit_take, "Submit the fixed take (JSON: name; preflight "
             "record's page)", (TAKE_ID,),
             responses={"200": "The submit's outcome", "409": "Not finished, or not a take this model trains on",
                        "502": "The bucket or Tavus failed the submit", "503": "No key or bucket"},
             json=take_submit_schema, answers={"200": "SubmitOutcome"}, name="submitTake"),
)
