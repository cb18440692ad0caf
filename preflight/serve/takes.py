"""``preflight record``'s page and its takes: ``GET /`` and ``/static/…`` (the page, no secret in it),
``GET /v1/recorder/config``, and a take's life: ``POST /v1/takes``, its chunks in order, ``finish``
(the fixer and the full check in the crash-isolation pool), its report, ``submit``. Answers name the
take's files by name only; every body is bounded as it streams."""

from __future__ import annotations

import asyncio
import json
import os
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from preflight.errors import PreflightError
from preflight.judge.ruleset import max_upload_bytes
from preflight.serve.bodies import error, json_body, small_body
from preflight.serve.endpoints import Endpoint, QueryParam, options
from preflight.serve.recorder import (EXTENSIONS, STATIC, RecorderConfig, Take, finish_take, page_config,
                                      submit_fixed, video_rulesets)

if TYPE_CHECKING:
    from preflight.serve.service import Service

MAX_CHUNK_BYTES = 64 * 1024 * 1024  # MediaRecorder gives about a second at a time
TAKE_EXTRA_S = 300.0  # the fix's encode on top of the check's own time limit


def _takes(request: Request) -> dict[str, Take]:
    takes: dict[str, Take] = request.app.state.takes
    return takes


def _take(request: Request) -> Take | None:
    return _takes(request).get(request.path_params["take_id"])


async def _json(request: Request) -> dict[str, Any] | Response:
    return await json_body(request) if request.headers.get("content-type", "").startswith("application/json") else {}


async def index(request: Request) -> Response:
    return HTMLResponse((STATIC / "recorder.html").read_text(encoding="utf-8"))


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    path = STATIC / name
    if name not in {p.name for p in STATIC.iterdir()} or path.suffix not in (".js", ".css", ".svg"):
        return error(404, "not found")
    return FileResponse(path)


async def recorder_config(request: Request) -> Response:
    config: RecorderConfig = request.app.state.recorder
    params = options(request, CONFIG)
    if isinstance(params, str):
        return error(400, params)
    try:
        return JSONResponse(page_config(str(params.get("rules") or config.rules)))
    except PreflightError as err:
        return error(400, str(err))


async def start_take(request: Request) -> Response:
    config: RecorderConfig = request.app.state.recorder
    body = await _json(request)
    if isinstance(body, Response):
        return body
    mime = str(body.get("mime") or "video/webm").split(";")[0].strip().lower()
    rules = str(body.get("rules") or config.rules)
    if rules not in video_rulesets():
        return error(400, f"a take is judged by a video rule set: {', '.join(video_rulesets())}")
    take_id = f"take-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
    recording = config.out / f"{take_id}{EXTENSIONS.get(mime, '.webm')}"
    recording.touch(exist_ok=False)
    _takes(request)[take_id] = Take(take_id, recording, rules)
    return JSONResponse({"id": take_id, "recording": recording.name}, status_code=201)


async def chunk(request: Request) -> Response:
    take = _take(request)
    if take is None:
        return error(404, "no such take")
    params = options(request, CHUNKS)
    if isinstance(params, str):
        return error(400, params)
    try:
        seq = int(params.get("seq", "-1"))
    except ValueError:
        return error(400, "seq is the chunk's number, from 0")
    limit = max_upload_bytes()
    room = min(MAX_CHUNK_BYTES, limit - take.size)
    data = await small_body(request, room)  # counted as it streams, chunked bodies too
    if data is None:
        return error(413, f"the take is over {limit // 1_000_000} MB" if room < MAX_CHUNK_BYTES else
                     f"a chunk is at most {MAX_CHUNK_BYTES // 2**20} MiB")
    with take.lock:
        if seq < take.next_seq:
            return JSONResponse({"ok": True, "duplicate": True})
        if seq != take.next_seq:
            return error(409, f"chunk {seq} came before {take.next_seq}")
        if take.size + len(data) > limit:
            return error(413, f"the take is over {limit // 1_000_000} MB")
        with open(take.recording, "ab") as out:
            out.write(data)
        take.size += len(data)
        take.next_seq += 1
    return JSONResponse({"ok": True, "bytes": take.size})


async def finish(request: Request) -> Response:
    take = _take(request)
    if take is None:
        return error(404, "no such take")
    if take.finished is None:
        take.finished = await _finished_in_pool(request.app.state.service, take)
    return JSONResponse({"id": take.id, **shown(take.finished)})


async def take_report(request: Request) -> Response:
    take = _take(request)
    if take is None or take.finished is None or not take.finished.get("report_html"):
        return error(404, "no finished take")
    return HTMLResponse(Path(take.finished["report_html"]).read_text(encoding="utf-8"))


async def submit_take(request: Request) -> Response:
    take = _take(request)
    if take is None or take.finished is None or not take.finished.get("fixed"):
        return error(409, "finish the take first")
    if not page_config(take.rules)["submit"]:
        return error(503, "set TAVUS_API_KEY and PREFLIGHT_BUCKET before `preflight record` to submit from here")
    body = await _json(request)
    if isinstance(body, Response):
        return body
    outcome = await run_in_threadpool(submit_fixed, Path(take.finished["fixed"]), take.rules,
                                      str(body.get("name") or "") or None)
    return JSONResponse(outcome)


async def _finished_in_pool(service: Service, take: Take) -> dict[str, Any]:
    """``finish_take`` in the service's crash-isolation pool; a crash or a hang is the take's error."""
    from preflight.run import batch
    from preflight.run.pool import Crashed

    limit = 2 * batch.seconds_for(take.recording) + TAKE_EXTRA_S
    try:
        done: dict[str, Any] = await asyncio.wrap_future(
            service.runner.pool.submit(finish_take, take.recording, take.rules, limit_s=limit))
        return done
    except Crashed:
        message = ("the analysis crashed or hung on this take (a decoder or detector failure, or out of memory); the "
                   "recording is kept as it arrived. Please report it")
    except Exception as err:  # noqa: BLE001 - a bug while finishing: this take's error, logged privately
        from preflight.state import crashlog

        crashlog.write("".join(traceback.format_exception(err)))
        message = f"internal error while finishing the take ({type(err).__name__}); the recording is kept"
    return {"recording": str(take.recording), "fixed": None, "note": message, "report_json": None,
            "report_html": None, "report": _error_report(take.recording.name, message)}


def shown(finished: dict[str, Any]) -> dict[str, Any]:
    """A finished take as the page sees it: file names only, never the server's paths."""
    def name(value: Any) -> str | None:
        return Path(value).name if value else None

    report = json.loads(json.dumps(finished.get("report") or {}))
    for result in report.get("results", []):
        result["path"] = name(result.get("path"))
    return {"recording": name(finished.get("recording")), "fixed": name(finished.get("fixed")),
            "note": finished.get("note"), "report_json": name(finished.get("report_json")), "report": report}


def _error_report(name: str, message: str) -> dict[str, Any]:
    from preflight.model.report import FileResult, Report

    document: dict[str, Any] = json.loads(Report([FileResult(name, None, None, "error", message,
                                                             internal=True)]).to_json())
    return document


TAKE_ID = QueryParam("take_id", "string", "The take's id, as started", where="path")
CONFIG = Endpoint("GET", "/v1/recorder/config", recorder_config, "What the page needs from the rule set",
                  (QueryParam("rules", "string", "A video rule set; default: the recorder's", enum=video_rulesets),),
                  responses={"200": "Camera, room and take settings", "400": "Not a video rule set"})
CHUNKS = Endpoint("POST", "/v1/takes/{take_id}/chunks", chunk, "Append the next piece of the recording",
                  (TAKE_ID, QueryParam("seq", "string", "The chunk's number, from 0")),
                  {"required": True, "content": {"application/octet-stream": {}}},
                  {"200": "Kept (or a repeat, ignored)", "409": "A chunk is missing before it",
                   "413": "Over the chunk or take limit"})
ENDPOINTS = (
    Endpoint("GET", "/", index, "The recorder page", responses={"200": "HTML"}, open=True),
    Endpoint("GET", "/static/{name}", static, "The page's script and style",
             (QueryParam("name", "string", "A file of the page", where="path"),), responses={"200": "The file"},
             open=True),
    CONFIG,
    Endpoint("POST", "/v1/takes", start_take, "Start a take (JSON: mime, rules)",
             responses={"201": "{id, recording}", "400": "Not a video rule set"}),
    CHUNKS,
    Endpoint("POST", "/v1/takes/{take_id}/finish", finish, "Fix and check the take", (TAKE_ID,),
             responses={"200": "The take's files and report", "404": "No such take"}),
    Endpoint("GET", "/v1/takes/{take_id}/report.html", take_report, "The take's HTML report", (TAKE_ID,),
             responses={"200": "HTML", "404": "No finished take"}),
    Endpoint("POST", "/v1/takes/{take_id}/submit", submit_take, "Submit the fixed take (JSON: name)", (TAKE_ID,),
             responses={"200": "The submit's outcome", "409": "Not finished", "503": "No key or bucket"}),
)
