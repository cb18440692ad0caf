"""What every route shares: one-line JSON errors, and small bodies read with a limit that holds while
they stream (a chunked body is counted as its bytes arrive, never read whole first)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

JSON_LIMIT = 64 * 1024


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def small_body(request: Request, limit: int = JSON_LIMIT) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object body: as the route's declaration checked it (``endpoints.checked``), or
    read here."""
    checked = getattr(request.state, "json_body", None)
    if isinstance(checked, dict):
        return checked
    return await read_json(request)


async def read_json(request: Request) -> dict[str, Any] | Response:
    """A JSON object body, read at most JSON_LIMIT bytes (counted as it streams)."""
    raw = await small_body(request)
    if raw is None:
        return error(413, f"a JSON body is at most {JSON_LIMIT // 1024} KiB")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return error(400, "the JSON body does not parse")
    if not isinstance(body, dict):
        return error(400, "the JSON body must be an object")
    return body
