"""``POST /v1/guidance``: the check's face rules on one camera frame, in the guidance frames' own
crash-isolation pool (5 s per frame: a frame that crashes or hangs its worker gets 422, the server
stays up). Load is shed, not queued: with two frames per worker already in hand, another gets 429 and
Retry-After (the capture element then asks less often), so no answer comes for a stale frame.
A sender's frames with the same ``stream`` are a sequence: the face found in one is followed into the
next (``run/guidance.py``), the state kept here between frames, so any worker can take any frame."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preflight.errors import PreflightError
from preflight.judge.ruleset import builtin_names
from preflight.run.guidance import GUIDANCE_LIMIT_S, MAX_FRAME_BYTES, judge_named
from preflight.run.pool import Crashed
from preflight.serve.routes import uploads
from preflight.serve.routes.bodies import error, small_body
from preflight.serve.routes.endpoints import (
    Endpoint,
    QueryParam,
    options,
    unknown_rules,
)

if TYPE_CHECKING:
    from preflight.serve.service import Service

SHED_AT = 2  # frames in hand per guidance worker beyond which a frame is answered 429 (the page slows down)...
STARVING_S = 0.5  # ...unless its stream has had no answer for this long: every recorder gets one about once a second
HARD_AT = 8  # ...and beyond this many per worker every frame is: made-up stream ids cannot flood the pool
STREAMS_KEPT = 4096  # streams remembered; the longest unanswered are forgotten first


class Streams:
    """The guidance frames in hand, and per stream (a sender's sequence of frames) when it last got an
    answer and what its next frame takes over (the face followed)."""

    def __init__(self) -> None:
        self.in_hand = 0
        self._last: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def shed(self, stream: str, workers: int) -> bool:
        """Whether to answer this frame 429: the pool has its share in hand and this stream was answered
        lately (or it names none). A stream without an answer for STARVING_S goes in unless the pool
        is full, so no recorder starves while others are served."""
        if self.in_hand < SHED_AT * workers:
            return False
        if self.in_hand >= HARD_AT * workers or not stream:
            return True
        return time.monotonic() - self._last.get(stream, (0.0, None))[0] < STARVING_S

    def follow(self, stream: str) -> dict[str, Any] | None:
        return self._last.get(stream, (0.0, None))[1] if stream else None

    def answered(self, stream: str, follow: dict[str, Any] | None) -> None:
        if not stream:
            return
        self._last.pop(stream, None)
        self._last[stream] = (time.monotonic(), follow)  # the newest last
        while len(self._last) > STREAMS_KEPT:
            self._last.pop(next(iter(self._last)))


async def guidance(request: Request) -> Response:
    service: Service = request.app.state.service
    params = options(request, GUIDANCE)
    if isinstance(params, str):
        return error(400, params)
    recorder = getattr(request.app.state, "recorder", None)
    name = str(params.get("rules") or (recorder.rules if recorder is not None else "phoenix-4"))
    problem = unknown_rules(name)
    if problem:
        return error(400, problem)
    if uploads.declared_too_large(dict(request.headers), MAX_FRAME_BYTES):
        return error(413, "a guidance frame is at most 4 MiB")
    frame = await small_body(request, MAX_FRAME_BYTES)
    if frame is None:
        return error(413, "a guidance frame is at most 4 MiB")
    streams: Streams = request.app.state.guidance_streams
    given = str(params.get("stream") or "")[:64]
    session = request.scope.get("state", {}).get("capture_session")
    stream = f"{session.id if session is not None else ''}:{given}" if given else ""  # a session's are its own
    if streams.shed(stream, service.config.worker_count):
        return error(429, "guidance is busy: send the next frame a little later", {"Retry-After": "1"})
    started = time.perf_counter()
    streams.in_hand += 1
    try:
        found = await asyncio.wrap_future(service.guidance.submit(judge_named, frame, name, streams.follow(stream),
                                                                  time.monotonic(), limit_s=GUIDANCE_LIMIT_S))
    except Crashed:
        return error(422, f"this frame could not be analysed (the analysis crashed or took over {GUIDANCE_LIMIT_S:g} "
                          "s); send the next one")
    except PreflightError as err:
        return error(400, str(err))
    finally:
        streams.in_hand -= 1
    streams.answered(stream, found.pop("follow", None))
    return JSONResponse({**found, "rules": name, "took_ms": round((time.perf_counter() - started) * 1000, 1)})


GUIDANCE = Endpoint(
    "POST", "/v1/guidance", guidance, "The check's face rules on one camera frame (the recorder's live guidance)",
    (QueryParam("rules", "string", "A built-in rule set; default: the recorder's, else phoenix-4", enum=builtin_names),
     QueryParam("stream", "string", "The sender's own id for its sequence of frames (a face found in one is "
                "followed into the next)")),
    {"required": True, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
    {"200": "findings (rule, outcome, message), faces (boxes, 0..1), lips, lips_closed, took_ms",
     "400": "Not a JPEG, an unknown rule set or parameter", "413": "Over 4 MiB",
     "422": "The analysis crashed or took over 5 s on this frame",
     "429": "Busy: send the next frame later (Retry-After)"}, session=True)
ENDPOINTS = (GUIDANCE,)
