"""``preflight record``: the recorder page and its routes, on the same application as ``preflight serve``.

- ``GET /`` the page (``static/recorder.html``, ``.js``, ``.css``: plain files, no build step).
- ``GET /v1/recorder/config`` what the page needs from the rule set: the camera's minimum short side
  and frame rate, the room's noise limit, the take's durations, the face size window, a script.
- ``POST /v1/takes`` starts a take; ``POST /v1/takes/{id}/chunks?seq=N`` appends what MediaRecorder
  gave so far (a closed tab loses at most the last seconds: what arrived is kept as received);
  ``POST /v1/takes/{id}/finish`` runs the fixer (H.264/AAC MP4, constant frame rate, loudness) and the
  full check on the fixed file; ``GET /v1/takes/{id}/report.html``; ``POST /v1/takes/{id}/submit``
  sends the fixed take through the submit pipeline (needs TAVUS_API_KEY and PREFLIGHT_BUCKET).

Every take lands in ``--out``: the recording, the fixed MP4 and its report JSON; answers name them by
file name only (the console says where ``--out`` is). The take's fix and check run in the service's
crash-isolation pool under a time limit: a crash there is the take's error, never the server's end.
Every body is bounded as it streams (a chunk, the take, a JSON body).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from preflight.serve.app import Service

STATIC = Path(__file__).resolve().parent / "static"
OPEN_PATHS = ("/", "/static/*")  # the page and its files hold no secret: they need no token
MAX_TAKE_BYTES = 750_000_000
MAX_CHUNK_BYTES = 64 * 1024 * 1024  # MediaRecorder gives about a second at a time
SCRIPT = ("Hi, I'm recording my training video. I'm speaking naturally, at my normal pace, looking into the "
          "camera. I talk about my day: what I worked on this morning, what I had for lunch, and what I plan "
          "to do this evening. I keep my head steady and my face in the frame. When the speaking part ends, "
          "I stay silent and still, lips gently closed, and look at the camera until the countdown ends.")
EXTENSIONS = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}


@dataclass
class Take:
    id: str
    recording: Path
    rules: str
    size: int = 0
    next_seq: int = 0
    finished: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class RecorderConfig:
    out: Path
    rules: str = "phoenix-4"


def take_seconds(min_s: float) -> int:
    """A part of the take: the rule set's minimum plus a fifth, so a normal take passes with room to
    spare (phoenix-4: 25 s -> 30 s; phoenix-3: 50 s -> 60 s)."""
    return int(math.ceil(min_s * 1.2 / 5) * 5)


VIDEO_RULESETS = ("phoenix-4", "phoenix-4.5", "phoenix-3")


def page_config(rules: str) -> dict[str, Any]:
    """What the page needs, every number from the rule file (None where the rule set switched that
    rule off: the page then leaves that check out)."""
    from preflight.errors import UsageError
    from preflight.judge.ruleset import load

    if rules not in VIDEO_RULESETS:
        raise UsageError(f"the recorder takes a video rule set: {', '.join(VIDEO_RULESETS)}")
    ruleset = load(rules)
    params: dict[str, dict[str, Any]] = {c.id: c.params for c in ruleset.rules}

    def param(rule: str, name: str) -> Any:
        return params.get(rule, {}).get(name)

    structure = params["segments.structure"]  # every video rule set has it: the take's two parts
    return {
        "rules": ruleset.name,
        "min_short_side": param("video.resolution", "min_short_side"),
        "min_fps": param("video.fps", "min_fps"),
        "max_noise_dbfs": param("audio.noise", "max_noise_dbfs"),
        "speak_s": take_seconds(float(structure["min_speaking_s"])),
        "listen_s": take_seconds(float(structure["min_listening_s"])),
        "face_min_height": param("face.size", "min_height_share"),
        "face_max_height": param("face.size", "max_height_share"),
        "script": SCRIPT,
        "submit": bool(os.environ.get("TAVUS_API_KEY") and os.environ.get("PREFLIGHT_BUCKET")),
    }


def routes(config: RecorderConfig, service: Service) -> list[Route]:
    from preflight.serve.bodies import error, json_body, small_body

    takes: dict[str, Take] = {}
    config.out.mkdir(parents=True, exist_ok=True)

    async def index(request: Request) -> Response:
        return HTMLResponse((STATIC / "recorder.html").read_text(encoding="utf-8"))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if name not in {p.name for p in STATIC.iterdir()} or path.suffix not in (".js", ".css", ".svg"):
            return error(404, "not found")
        return FileResponse(path)

    async def recorder_config(request: Request) -> Response:
        from preflight.errors import PreflightError

        try:
            return JSONResponse(page_config(request.query_params.get("rules") or config.rules))
        except PreflightError as err:
            return error(400, str(err))

    async def start_take(request: Request) -> Response:
        body = await json_body(request) if request.headers.get("content-type", "").startswith("application/json") \
            else {}
        if isinstance(body, Response):
            return body
        mime = str(body.get("mime") or "video/webm").split(";")[0].strip().lower()
        rules = str(body.get("rules") or config.rules)
        if rules not in VIDEO_RULESETS:
            return error(400, f"a take is judged by a video rule set: {', '.join(VIDEO_RULESETS)}")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        take_id = f"take-{stamp}-{os.urandom(2).hex()}"
        recording = config.out / f"{take_id}{EXTENSIONS.get(mime, '.webm')}"
        recording.touch(exist_ok=False)
        takes[take_id] = Take(take_id, recording, rules)
        return JSONResponse({"id": take_id, "recording": recording.name}, status_code=201)

    async def chunk(request: Request) -> Response:
        take = takes.get(request.path_params["take_id"])
        if take is None:
            return error(404, "no such take")
        try:
            seq = int(request.query_params.get("seq", "-1"))
        except ValueError:
            return error(400, "seq is the chunk's number, from 0")
        room = min(MAX_CHUNK_BYTES, MAX_TAKE_BYTES - take.size)
        data = await small_body(request, room)  # counted as it streams, chunked bodies too
        if data is None:
            return error(413, "the take is over 750 MB" if room < MAX_CHUNK_BYTES else
                         f"a chunk is at most {MAX_CHUNK_BYTES // 2**20} MiB")
        with take.lock:
            if seq < take.next_seq:
                return JSONResponse({"ok": True, "duplicate": True})
            if seq != take.next_seq:
                return error(409, f"chunk {seq} came before {take.next_seq}")
            if take.size + len(data) > MAX_TAKE_BYTES:
                return error(413, "the take is over 750 MB")
            with open(take.recording, "ab") as out:
                out.write(data)
            take.size += len(data)
            take.next_seq += 1
        return JSONResponse({"ok": True, "bytes": take.size})

    async def finish(request: Request) -> Response:
        take = takes.get(request.path_params["take_id"])
        if take is None:
            return error(404, "no such take")
        if take.finished is None:
            take.finished = await _finished_in_pool(service, take)
        return JSONResponse({"id": take.id, **shown(take.finished)})

    async def take_report(request: Request) -> Response:
        take = takes.get(request.path_params["take_id"])
        if take is None or take.finished is None or not take.finished.get("report_html"):
            return error(404, "no finished take")
        return HTMLResponse(Path(take.finished["report_html"]).read_text(encoding="utf-8"))

    async def submit_take(request: Request) -> Response:
        take = takes.get(request.path_params["take_id"])
        if take is None or take.finished is None or not take.finished.get("fixed"):
            return error(409, "finish the take first")
        if not page_config(take.rules)["submit"]:
            return error(503, "set TAVUS_API_KEY and PREFLIGHT_BUCKET before `preflight record` to submit from here")
        body = await json_body(request) if request.headers.get("content-type", "").startswith("application/json") \
            else {}
        if isinstance(body, Response):
            return body
        outcome = await run_in_threadpool(submit_fixed, Path(take.finished["fixed"]), take.rules,
                                          str(body.get("name") or "") or None)
        return JSONResponse(outcome)

    return [Route("/", index), Route("/static/{name}", static), Route("/v1/recorder/config", recorder_config),
            Route("/v1/takes", start_take, methods=["POST"]),
            Route("/v1/takes/{take_id}/chunks", chunk, methods=["POST"]),
            Route("/v1/takes/{take_id}/finish", finish, methods=["POST"]),
            Route("/v1/takes/{take_id}/report.html", take_report),
            Route("/v1/takes/{take_id}/submit", submit_take, methods=["POST"])]


TAKE_EXTRA_S = 300.0  # the fix's encode on top of the check's own limit


async def _finished_in_pool(service: Service, take: Take) -> dict[str, Any]:
    """``finish_take`` in the service's crash-isolation pool; a crash or a hang is the take's error."""
    import asyncio

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
    failed = _error_report(take.recording.name, message)
    return {"recording": str(take.recording), "fixed": None, "note": message, "report_json": None,
            "report_html": None, "report": failed}


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


def finish_take(recording: Path, rules: str) -> dict[str, Any]:
    """Fix the recording (kept as received) into an H.264/AAC MP4 beside it, check that, and keep the
    report JSON and HTML beside them."""
    from preflight.errors import PreflightError
    from preflight.render import html
    from preflight.render.options import RenderOptions
    from preflight.model.report import Report
    from preflight.run.check_run import CheckOptions, build_report
    from preflight.run.fix import FixOptions, fix_file

    fixed_path = recording.with_name(f"{recording.stem}.fixed.mp4")
    note = None
    try:
        # not checked again by the fixer: the full check below does that once, with the report's pictures
        done = fix_file(recording, FixOptions(output=fixed_path, rules=rules, recheck=False))
        fixed = done.written
    except PreflightError as err:
        fixed, note = None, str(err)
    except Exception as err:  # noqa: BLE001 - a bug in the fixer: the take is still checked as recorded
        from preflight.state import crashlog

        crashlog.write(traceback.format_exc())
        fixed, note = None, f"the fixer failed ({type(err).__name__}); the recording was checked as it is"
    checked = fixed or recording
    report = build_report([checked], CheckOptions(rules=rules, cache=False))
    report_json = recording.with_name(f"{recording.stem}.report.json")
    report_json.write_text(report.to_json(), encoding="utf-8")
    report_html = recording.with_name(f"{recording.stem}.report.html")
    named = Report([replace(r, path=Path(r.path).name) for r in report.results], report.fail_level)
    report_html.write_text(html.render(named, RenderOptions()), encoding="utf-8")  # served: no server paths
    return {"recording": str(recording), "fixed": str(fixed) if fixed else None, "note": note,
            "report_json": str(report_json), "report_html": str(report_html),
            "report": json.loads(report.to_json())}


def submit_fixed(path: Path, rules: str, name: str | None) -> dict[str, Any]:
    from preflight.api import DEFAULT_URL
    from preflight.api.connection import Connection
    from preflight.run.submit import SubmitOptions, submit

    model = rules if rules in ("phoenix-4", "phoenix-4.5", "phoenix-3") else "phoenix-4"
    options = SubmitOptions(bucket=os.environ.get("PREFLIGHT_BUCKET", ""), name=name, model=model,
                            s3_endpoint=os.environ.get("PREFLIGHT_S3_ENDPOINT") or None)
    outcome = submit(path, options, Connection(os.environ["TAVUS_API_KEY"],
                                               os.environ.get("TAVUS_API_URL") or DEFAULT_URL))
    return {**outcome.to_dict(), "message": outcome.message}
