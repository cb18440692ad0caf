"""``POST /v1/guidance``: the check's face rules on one camera frame, in the guidance frames' own
crash-isolation pool (5 s per frame: a frame that crashes or hangs its worker gets 422, the server
stays up). Load is shed, not queued: with two frames per worker already in hand, another gets 429 and
Retry-After (the capture element then asks less often), so no answer comes for a stale frame.

A sender's frames with the same ``stream`` are a sequence: the face found in one is followed into the
next (``run/guidance.py``). What the next frame takes over travels with the stream, not in a node's
memory: each answer carries ``follow``, a small state signed with the server's secret
(itsdangerous), which the sender sends back with its next frame (``X-Preflight-Follow``). So any
node, and any worker, takes any frame of a stream at the cost of a followed frame, and gives the
answer one node would; a state that is forged, another stream's, or older than FOLLOW_S is not
followed (the frame is searched afresh, as a first frame)."""

from __future__ import annotations

import asyncio
import hashlib
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
from preflight.serve.routes.endpoints import Endpoint, QueryParam, options, unknown_rules

if TYPE_CHECKING:
    from preflight.serve.service import Service

SHED_AT = 2  # frames in hand per guidance worker beyond which a frame is answered 429 (the page slows down)...
STARVING_S = 0.5  # ...unless its stream has had no answer for this long: every recorder gets one about once a second
HARD_AT = 8  # ...and beyond this many per worker every frame is: made-up stream ids cannot flood the pool
FOLLOW_HEADER = "X-Preflight-Follow"
FOLLOW_S = 10  # seconds: a follow state older than this is not followed: the face may be anywhere by now
MAX_FOLLOW_BYTES = 8192


class Streams:
    """The guidance frames this node has in hand, and whether to shed the next one."""

    def __init__(self) -> None:
        self.in_hand = 0

    def shed(self, stream: str, workers: int, answered_at: float | None) -> bool:
        """Whether to answer this frame 429: the pool has its share in hand and this stream was answered
        lately (``answered_at``, from its follow state) or names none. A stream without an answer for
        STARVING_S goes in unless the pool is full, so no recorder starves while others are served."""
        if self.in_hand < SHED_AT * workers:
            return False
        if self.in_hand >= HARD_AT * workers or not stream:
            return True
        return answered_at is not None and time.time() - answered_at < STARVING_S


class Follow:
    """A stream's follow state as a signed token: what its next frame takes over, the stream it belongs
    to, and when it was answered."""

    def __init__(self, secret: bytes) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self._tokens = URLSafeTimedSerializer(secret, salt="preflight-guidance-follow",
                                              signer_kwargs={"digest_method": hashlib.sha256})

    def dump(self, stream: str, follow: dict[str, Any] | None) -> str:
        return str(self._tokens.dumps({"s": stream, "f": follow, "t": time.time()}))

    def load(self, token: str | None, stream: str) -> tuple[dict[str, Any] | None, float | None]:
        """(the state to follow, when the stream was last answered), or (None, None) for a token that
        is missing, forged, another stream's or too old."""
        from itsdangerous import BadSignature

        if not token or not stream or len(token) > MAX_FOLLOW_BYTES:
            return None, None
        try:
            data = self._tokens.loads(token, max_age=FOLLOW_S)
        except BadSignature:  # SignatureExpired too
            return None, None
        if not isinstance(data, dict) or data.get("s") != stream:
            return None, None
        follow = data.get("f")
        return (follow if isinstance(follow, dict) else None), float(data.get("t") or 0.0)


async def guidance(request: Request) -> Response:
    service: Service = request.app.state.service
    params = options(request, GUIDANCE)
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
    tokens: Follow = request.app.state.guidance_follow
    given = str(params.get("stream") or "")[:64]
    session = request.scope.get("state", {}).get("capture_session")
    stream = f"{session.id if session is not None else ''}:{given}" if given else ""  # a session's are its own
    follow, answered_at = tokens.load(request.headers.get(FOLLOW_HEADER), stream)
    if streams.shed(stream, service.config.guidance_worker_count, answered_at):
        return error(429, "guidance is busy: send the next frame a little later", {"Retry-After": "1"})
    started = time.perf_counter()
    streams.in_hand += 1
    try:
        found = await asyncio.wrap_future(service.guidance.submit(judge_named, frame, name, follow, time.time(),
                                                                  limit_s=GUIDANCE_LIMIT_S))
    except Crashed:
        return error(422, f"this frame could not be analysed (the analysis crashed or took over {GUIDANCE_LIMIT_S:g} "
                          "s); send the next one")
    except PreflightError as err:
        return error(400, str(err))
    finally:
        streams.in_hand -= 1
    carried = found.pop("follow", None)
    return JSONResponse({**found, "rules": name, "took_ms": round((time.perf_counter() - started) * 1000, 1),
                         "follow": tokens.dump(stream, carried) if stream else None})


GUIDANCE = Endpoint(
    "POST", "/v1/guidance", guidance, "The check's face rules on one camera frame (the recorder's live guidance)",
    (QueryParam("rules", "string", "A built-in rule set; default: the recorder's, else phoenix-4", enum=builtin_names),
     QueryParam("stream", "string", "The sender's own id for its sequence of frames (a face found in one is "
                "followed into the next)", max_length=64),
     QueryParam(FOLLOW_HEADER, "string", "The previous answer's follow (signed): what this frame of the stream "
                "takes over, on whichever node it arrives", where="header", max_length=MAX_FOLLOW_BYTES)),
    {"required": True, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary", "minLength": 1,
                                                             "description": "A camera frame: a JPEG (or PNG)"}}}},
    {"200": "findings (rule, outcome, message), faces (boxes, 0..1), lips, lips_closed, took_ms, follow (send it "
            "back with the stream's next frame)",
     "400": "Not a JPEG, an unknown rule set or parameter", "413": "Over 4 MiB",
     "422": "The analysis crashed or took over 5 s on this frame",
     "429": "Busy: send the next frame later (Retry-After)"}, session=True, answers={"200": "Guidance"},
    name="judgeFrame")
ENDPOINTS = (GUIDANCE,)
