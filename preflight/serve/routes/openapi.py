"""The OpenAPI 3.1 document of ``preflight serve`` (served at ``/openapi.json``), made from the routes'
own declarations (``endpoints.py``): every route and parameter the server accepts, and nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from preflight.serve.routes.endpoints import Endpoint, QueryParam
from preflight.version import __version__

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_JOB = {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}
_SCHEMAS = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
    "Job": {"type": "object", "properties": {
        "id": {"type": "string"}, "kind": {"enum": ["check", "face"]},
        "status": {"enum": ["queued", "running", "done"]}, "name": {"type": "string"},
        "created": {"type": "number"}, "finished": {"type": ["number", "null"]},
        "report": {"description": "A preflight.report/1 document with one result (check jobs, when done); its "
                                  "schema ships as preflight/schemas/report-1.schema.json"},
        "face": {"description": "Face jobs: face_id, status, stage, request (secrets redacted), stopped (why no "
                                "face was made)"}},
        "required": ["id", "status"]},
}


def _parameter(param: QueryParam) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.enum is not None:
        schema["enum"] = param.enum()
    return {"name": param.name, "in": param.where, "required": param.where == "path", "schema": schema,
            "description": param.description}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": endpoint.summary,
                                 "parameters": [_parameter(p) for p in endpoint.params]}
    if endpoint.open:
        operation["security"] = []
    if endpoint.body is not None:
        operation["requestBody"] = endpoint.body
    responses: dict[str, Any] = {}
    for status, meaning in endpoint.responses.items():
        answer: dict[str, Any] = {"description": meaning}
        if status.startswith(("4", "5")):
            answer["content"] = _ERROR
        elif status in ("200", "202") and endpoint.path.startswith(("/v1/checks", "/v1/faces")) \
                and not endpoint.path.endswith(".html"):
            answer["content"] = _JOB
        responses[status] = answer
    operation["responses"] = responses
    return operation


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "preflight serve", "version": __version__,
                 "description": "Checks avatar-training media against the Tavus requirements, as `preflight check` "
                                "does, for backends in any language. Authenticate with `Authorization: Bearer "
                                "$PREFLIGHT_SERVE_TOKEN` when the server has a token."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": _SCHEMAS},
        "security": [{"bearer": []}],
        "paths": paths,
    }
