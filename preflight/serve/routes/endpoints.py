"""A route declared once: its method, path, handler, and every parameter it takes. The Starlette route
and the OpenAPI document (``openapi.py``) are both made from the declaration, so the document cannot
drift from what the server accepts: a query parameter (or JSON body field) a route does not declare
is refused with 400, naming the ones it takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class QueryParam:
    """One parameter a route takes (in the query, a header or the path)."""

    name: str
    type: str  # "string" | "boolean"
    description: str
    where: str = "query"  # "query" | "header" | "path"
    enum: Callable[[], list[str]] | None = None  # the allowed values, read when the document is made


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    params: tuple[QueryParam, ...] = ()
    body: dict[str, Any] | None = None  # the OpenAPI requestBody
    responses: dict[str, str] = field(default_factory=dict)  # status -> what it means
    open: bool = False  # needs no token
    session: bool = False  # a capture session's token will do (its own takes, from its origin)

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=[self.method])

    @property
    def query_names(self) -> set[str]:
        return {p.name for p in self.params if p.where == "query"}


def unknown_rules(name: object) -> str | None:
    """Why ``name`` is not a rule set the service takes (only built-in ones: never a path), or None."""
    from preflight.judge.ruleset import builtin_names

    if name is None or name in builtin_names():
        return None
    return f"unknown rule set {name!r}; the service takes a built-in one: {', '.join(builtin_names())}"


def flag(value: object) -> bool:
    return str(value or "").lower() in ("1", "true", "yes", "on")


def options(request: Request, endpoint: Endpoint, body: dict[str, Any] | None = None,
            extra: tuple[str, ...] = ()) -> dict[str, Any] | str:
    """The query's parameters, overridden by a JSON body's fields; a one-line problem (str) when one
    is not among the route's (``extra`` names body fields that are not query parameters)."""
    merged: dict[str, Any] = dict(request.query_params)
    merged.update({k: v for k, v in (body or {}).items() if v is not None})
    allowed = endpoint.query_names | set(extra)
    unknown = sorted(set(merged) - allowed)
    if unknown:
        return (f"{request.method} {endpoint.path} takes no parameter {unknown[0]!r}; it takes: "
                f"{', '.join(sorted(allowed))}")
    return merged
