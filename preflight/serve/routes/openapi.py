"""The OpenAPI 3.1 document of ``preflight serve`` and ``preflight record`` (served at ``/openapi.json``),
made from the routes' own declarations (``endpoints.py``) and schemas (``contract.py``): every route,
parameter and body the server accepts, who may call it, every status it answers with its body, the links
from what a route makes to the routes that read it, and the callbacks the server sends."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from preflight.serve.routes import contract
from preflight.serve.routes.endpoints import Endpoint, QueryParam
from preflight.version import __version__

SERVER_TOKEN = "serverToken"
SESSION_TOKEN = "captureSessionToken"
SECURITY_SCHEMES = {
    SERVER_TOKEN: {"type": "http", "scheme": "bearer", "description": "The server's token "
                   "(PREFLIGHT_SERVE_TOKEN; `preflight record`: the key in its page's address). A server "
                   "started without one on loopback needs none."},
    SESSION_TOKEN: {"type": "http", "scheme": "bearer", "bearerFormat": "pfcs_{session}_{mac}",
                    "description": "A capture session's token (POST /v1/capture-sessions): its own takes, from "
                                   "its origin, until it expires"},
}
# what the gate and the declarations answer on every route of a kind, besides a route's own statuses
_GATE = {"403": "A foreign Host (DNS rebinding), or on a state-changing route another site's Origin; a capture "
                "session's token on a route or from an origin it may not use"}
_SIGNED = {"401": "No token, a wrong one, or an expired capture session's (WWW-Authenticate: Bearer)",
           "400": "A parameter the route does not take, or a value its type, enum or length refuses (the "
                  "message says which)",
           "503": "The database or the blobs are away for a moment (Retry-After)"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 0}}}
_HEADERS = {"401": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "429": _RETRY_AFTER,
            "503": _RETRY_AFTER, "507": _RETRY_AFTER}


def _parameter(param: QueryParam) -> dict[str, Any]:
    return {"name": param.name, "in": param.where, "required": param.where == "path" or param.required, "schema": param.schema(),
            "description": param.description}


def operation_id(endpoint: Endpoint) -> str:
    """The declared name, or one made of the method and the path (``getV1ChecksJobId``)."""
    if endpoint.name:
        return endpoint.name
    words = [w for w in re.split(r"[^A-Za-z0-9]+", endpoint.path) if w]
    return endpoint.method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def _security(endpoint: Endpoint) -> list[dict[str, list[str]]]:
    if endpoint.open:
        return []
    return [{SERVER_TOKEN: []}, {SESSION_TOKEN: []}] if endpoint.session else [{SERVER_TOKEN: []}]


def _statuses(endpoint: Endpoint) -> dict[str, str]:
    """Every status the route can give: its own, the gate's, and its declaration's checks'."""
    found = dict(_GATE)
    if not endpoint.open:
        found.update(_SIGNED)
        if not endpoint.stateful:
            found.pop("503")
    if endpoint.json is not None:
        found["413"] = "A JSON body over 64 KiB"
    found.update(endpoint.responses)
    return dict(sorted(found.items()))


def _answer(endpoint: Endpoint, status: str, meaning: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": meaning}
    if status in endpoint.answers:
        answer["content"] = {"application/json": {"schema": contract.ref(endpoint.answers[status])}}
    elif status in endpoint.media:
        media = endpoint.media[status]
        answer["content"] = {media: {"schema": {"type": "object"} if media == "application/json" else {"type": "string"}}}
    elif status.startswith(("4", "5")):
        answer["content"] = {"application/json": {"schema": contract.ref("Error")}}
    if status in _HEADERS:
        answer["headers"] = _HEADERS[status]
    if status in endpoint.links:
        answer["links"] = endpoint.links[status]
    return answer


def _request_body(endpoint: Endpoint) -> dict[str, Any] | None:
    body = dict(endpoint.body) if endpoint.body is not None else None
    if endpoint.json is not None:
        body = body or {"required": False, "content": {}}
        body["content"] = {**body["content"], "application/json": {"schema": endpoint.json()}}
    return body


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id(endpoint), "summary": endpoint.summary,
                                 "parameters": [_parameter(p) for p in endpoint.params],
                                 "security": _security(endpoint)}
    body = _request_body(endpoint)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {status: _answer(endpoint, status, meaning)
                              for status, meaning in _statuses(endpoint).items()}
    return operation


def document(endpoints: Iterable[Endpoint], title: str = "preflight serve") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {"title": title, "version": __version__,
                 "description": "Checks avatar-training media against the Tavus requirements, as `preflight check` "
                                "does, for backends in any language. Authenticate with `Authorization: Bearer "
                                "$PREFLIGHT_SERVE_TOKEN` when the server has a token; a browser's capture uses a "
                                "capture session's token. Every refusal is JSON `{\"error\": \"…\"}`."},
        "components": {"securitySchemes": SECURITY_SCHEMES,
                       "schemas": {**contract.answers(), **contract.report_schemas()}},
        "paths": paths,
        "webhooks": contract.webhooks(),
    }
