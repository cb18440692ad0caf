"""``POST /v1/guidance``: the check's face rules on one camera frame, in the guidance frames' own
crash-isolation pool (5 s per frame: a frame that crashes or hangs its worker gets 422, the server
stays up)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preflight.errors import PreflightError
from preflight.judge.ruleset import builtin_names
from preflight.run.guidance import GUIDANCE_LIMIT_S, MAX_FRAME_BYTES, judge_named
from preflight.run.pool import Crashed
from preflight.serve import uploads
from preflight.serve.bodies import error, small_body
from preflight.serve.endpoints import Endpoint, QueryParam, options, unknown_rules

if TYPE_CHECKING:
    from preflight.serve.service import Service


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
    started = time.perf_counter()
    try:
        found = await asyncio.wrap_future(service.guidance.submit(judge_named, frame, name, limit_s=GUIDANCE_LIMIT_S))
    except Crashed:
        return error(422, f"this frame could not be analysed (the analysis crashed or took over {GUIDANCE_LIMIT_S:g} "
                          "s); send the next one")
    except PreflightError as err:
        return error(400, str(err))
    return JSONResponse({**found, "rules": name, "took_ms": round((time.perf_counter() - started) * 1000, 1)})


GUIDANCE = Endpoint(
    "POST", "/v1/guidance", guidance, "The check's face rules on one camera frame (the recorder's live guidance)",
    (QueryParam("rules", "string", "A built-in rule set; default: the recorder's, else phoenix-4", enum=builtin_names),
     QueryParam("stream", "string", "The sender's own id for its sequence of frames (a face found in one is "
                "followed into the next)")),
    {"required": True, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
    {"200": "findings (rule, outcome, message), faces (boxes, 0..1), lips, lips_closed, took_ms",
     "400": "Not a JPEG, an unknown rule set or parameter", "413": "Over 4 MiB",
     "422": "The analysis crashed or took over 5 s on this frame"}, session=True)
ENDPOINTS = (GUIDANCE,)
