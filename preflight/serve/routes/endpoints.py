"""A route declared once: its method, path, handler, every parameter it takes with its type, the JSON body
it takes, and what it answers. The Starlette route, the checks in front of the handler and the OpenAPI
document (``openapi.py``) are all made from the declaration, so the document cannot drift from what the
server accepts: a parameter the route does not declare, a boolean that is not ``true``/``false``, a
value outside its enum, a header over its length or a JSON body its schema refuses gets 400 (saying
which and why) before the handler runs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]
Schema = dict[str, Any]


@dataclass(frozen=True)
class QueryParam:
    """One parameter a route takes (in the query, a header or the path)."""

    name: str
    type: str  # "string" | "boolean" | "integer"
    description: str
    where: str = "query"  # "query" | "header" | "path"
    enum: Callable[[], list[str]] | None = None  # the allowed values, read when checked or documented
    max_length: int | None = None
    minimum: int | None = None  # integers
    maximum: int | None = None
    pattern: str | None = None  # strings: a regular expression the value matches (from its start)
    required: bool = False  # path parameters always are

    def schema(self) -> Schema:
        schema: Schema = {"type": self.type}
        if self.enum is not None:
            schema["enum"] = self.enum()
        if self.type == "string" and self.where == "header":
            schema["minLength"] = 1
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        return schema

    def problem(self, value: str) -> str | None:
        """Why ``value`` (as sent: a string) is not what this parameter takes, or None."""
        if self.type == "boolean" and value not in ("true", "false"):
            return f"{self.name} is true or false (not {value[:40]!r})"
        if self.type == "integer":
            if not re.fullmatch(r"-?[0-9]{1,15}", value):
                return f"{self.name} is a whole number (not {value[:40]!r})"
            if self.minimum is not None and int(value) < self.minimum:
                return f"{self.name} is at least {self.minimum}"
            if self.maximum is not None and int(value) > self.maximum:
                return f"{self.name} is at most {self.maximum}"
        if self.type == "string" and self.where == "header" and not value:
            return f"{self.name} is not empty"
        if self.max_length is not None and len(value) > self.max_length:
            return f"{self.name} is at most {self.max_length} characters"
        if self.pattern is not None and re.search(self.pattern, value) is None:
            return f"{self.name} does not match {self.pattern} (not {value[:40]!r})"
        if self.enum is not None and value not in (allowed := self.enum()):
            return f"{self.name} is one of {', '.join(allowed)} (not {value[:40]!r}): {self.description}"
        return None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    params: tuple[QueryParam, ...] = ()
    body: dict[str, Any] | None = None  # the OpenAPI requestBody (media types); a JSON one from ``json``
    responses: dict[str, str] = field(default_factory=dict)  # status -> what it means
    open: bool = False  # needs no token
    session: bool = False  # a capture session's token will do (its own takes, from its origin)
    json: Callable[[], Schema] | None = None  # the JSON body's schema: enforced, and documented
    answers: dict[str, str] = field(default_factory=dict)  # status -> the JSON answer's schema (contract.py)
    media: dict[str, str] = field(default_factory=dict)  # status -> a non-JSON answer's media type
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # status -> OpenAPI links
    name: str = ""  # the operationId
    stateful: bool = True  # reads the database or the blobs: 503 while they are away

    def route(self) -> Route:
        return Route(self.path, checked(self), methods=[self.method])

    @property
    def query_names(self) -> set[str]:
        return {p.name for p in self.params if p.where == "query"}

    def refusal(self, request: Request) -> str | None:
        """Why the request's query and headers are not what this route takes, or None. Open routes (the
        element's files and pages) take any query: a page's address may carry its own."""
        if not self.open:
            unknown = sorted(set(request.query_params) - self.query_names)
            if unknown:
                taken = ", ".join(sorted(self.query_names)) or "none"
                return f"{self.method} {self.path} takes no parameter {unknown[0]!r}; it takes: {taken}"
            for name in self.query_names:
                if len(request.query_params.getlist(name)) > 1:
                    return f"{name} is given once"
        for param in self.params:
            value = (request.query_params.get(param.name) if param.where == "query"
                     else request.headers.get(param.name) if param.where == "header" else None)
            if value is None and param.required and param.where != "path":
                return f"{param.name} is required: {param.description}"
            if value is not None and (problem := param.problem(value)) is not None:
                return problem
        return None


def checked(endpoint: Endpoint) -> Handler:
    """The endpoint's handler behind its declaration: the query and headers checked, and a JSON body read
    (bounded as it streams), checked against the route's schema and handed over in ``request.state``."""
    from preflight.serve.routes.bodies import error, read_json

    async def handle(request: Request) -> Response:
        problem = endpoint.refusal(request)
        if problem is not None:
            return error(400, problem)
        if endpoint.json is not None and is_json(request):
            body = await read_json(request)
            if isinstance(body, Response):
                return body
            problem = schema_problem(endpoint.json(), body)
            if problem is not None:
                return error(400, problem)
            request.state.json_body = body
        return await endpoint.handler(request)

    return handle


def is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def schema_problem(schema: Schema, value: Any) -> str | None:
    """The first thing in ``value`` the JSON Schema refuses, in one line, or None."""
    from jsonschema import Draft202012Validator

    found = next(iter(sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))), None)
    if found is None:
        return None
    where = ".".join(str(p) for p in found.absolute_path)
    message = found.message if len(found.message) <= 200 else found.message[:200] + "…"
    meaning = found.schema.get("description") if isinstance(found.schema, dict) else None
    if meaning:
        message += f" ({where}: {meaning})"
    return f"the JSON body's {where}: {message}" if where else f"the JSON body: {message}"


def unknown_rules(name: object) -> str | None:
    """Why ``name`` is not a rule set the service takes (only built-in ones: never a path), or None."""
    from preflight.judge.ruleset import builtin_names

    if name is None or name in builtin_names():
        return None
    return f"unknown rule set {name!r}; the service takes a built-in one: {', '.join(builtin_names())}"


def flag(value: object) -> bool:
    """A boolean as checked (``true``/``false`` in a query, a JSON boolean in a body)."""
    return value is True or str(value or "").lower() == "true"


def options(request: Request, endpoint: Endpoint, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The query's parameters (checked before the handler), overridden by a JSON body's fields (checked
    against the route's schema)."""
    merged: dict[str, Any] = dict(request.query_params)
    merged.update({k: v for k, v in (body or {}).items() if v is not None})
    return merged
