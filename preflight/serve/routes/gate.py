"""Who may call: the checks in front of every route of ``preflight serve`` and ``preflight record``.

- **Host.** A request whose ``Host`` is not the address the server listens on (or a name given with
  ``--allow-host``) is refused with 403 and nothing done: a page on another site that points its own
  DNS name at 127.0.0.1 (DNS rebinding) cannot read or drive the server. A server bound to loopback
  also answers ``localhost`` and the other loopback literals; one bound to every interface (0.0.0.0)
  answers any IP literal (no DNS name can be rebound onto those), and names only when allowed.
- **Origin.** A state-changing request (POST, PUT, PATCH, DELETE) that carries an ``Origin`` other
  than the server's own (or one an ``origins`` function allows) is refused with 403: a browser sends
  ``Origin`` with every cross-site POST, simple requests included, so another site's page cannot
  create a take or a face even where it cannot read the answer. ``Origin: null`` is foreign too.
- **Token.** With a token, every route but the open ones needs ``Authorization: Bearer TOKEN``.
- **Capture sessions.** A route declared for sessions also takes a capture session's token
  (``sessions.py``): from the session's origin (or the server's own page, the phone's full-page
  capture) only, until it expires; the session is handed to the route in ``request.state``. CORS
  answers that origin only, its pre-flights included (a pre-flight carries no token: it is answered
  for an origin that has a live session). Open routes (the capture element's files) answer any origin.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from starlette.responses import Response

from preflight.errors import PreflightError
from preflight.serve.routes.bodies import error

ASGI = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_name(header: str) -> str:
    """The host of a Host header (or of an origin's netloc), lower case, without port or brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostPolicy:
    """The names a request's Host may carry, for a server listening on ``bind``."""

    def __init__(self, bind: str, allowed: Iterable[str] = ()) -> None:
        self.bind = host_name(bind)
        address = _literal(self.bind)
        self.loopback = self.bind == "localhost" or (address is not None and address.is_loopback)
        self.wildcard = address is not None and address.is_unspecified
        self.names = {self.bind, *(host_name(a) for a in allowed)}
        if self.loopback:
            self.names |= LOOPBACK_NAMES

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_name(header)
        if name in self.names:
            return True
        address = _literal(name)
        if address is None:
            return False
        return (self.loopback and address.is_loopback) or self.wildcard


def same_origin(origin: str, host_header: str) -> bool:
    """``origin`` is the origin the request itself was sent to (its scheme and the Host it names)."""
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    open: bool  # needs no token
    session: bool  # a capture session's token will do


def routes(declared: Iterable[Any]) -> tuple[Route, ...]:
    """The gate's view of the declared endpoints (``endpoints.Endpoint``): who may call each."""
    return tuple(Route(e.method, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(e.path)) + "$"),
                       e.open, e.session) for e in declared)


class Gate:
    """ASGI middleware: Host, then who is calling (the server's token, a capture session's token for the
    routes that take one, or none for open routes), then Origin. A capture session's routes answer its
    origin's CORS requests (pre-flights included) and no other site's."""

    def __init__(self, app: ASGI, *, hosts: HostPolicy, token: str | None, routes: tuple[Route, ...] = (),
                 sessions: Any = None) -> None:
        self.app, self.hosts, self.token = app, hosts, token
        self.routes, self.sessions = routes, sessions  # sessions: serve.sessions.Sessions

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            answer, cors = self.decide(scope, headers)
        except PreflightError as err:  # a session token looked up while the database is away
            answer, cors = error(503, f"{err}; try again in a moment", {"Retry-After": "1"}), None
        if cors is not None:
            send = _with_cors(send, cors)
        await (answer or self.app)(scope, receive, send)

    def route(self, method: str, path: str) -> Route | None:
        return next((r for r in self.routes if r.method == method and r.pattern.match(path)), None)

    def decide(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[Any, str | None]:
        """(a refusal, or None to go on; the origin the answer allows by CORS, or None)."""
        host, origin = headers.get("host", ""), headers.get("origin")
        if not self.hosts.allows(host):
            return error(403, "this server does not answer to that Host name (it answers its own address; "
                              "start it with --allow-host NAME to answer another name)"), None
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if method == "OPTIONS":
            return self._preflight(headers, path, origin), None
        route = self.route(method, path)
        if route is not None and route.open:
            return None, "*"  # public: the capture element's files, the page, health
        given = headers.get("authorization", "")
        bearer = given[7:] if given.startswith("Bearer ") else None
        if bearer is not None and self.token is not None and hmac.compare_digest(bearer.encode(), self.token.encode()):
            return self._origin_checked(method, origin, host), None
        if bearer is not None and self.sessions is not None and bearer.startswith("pfcs_"):
            return self._session(scope, route, bearer, origin, host)
        if self.token is None:
            return self._origin_checked(method, origin, host), None
        return error(401, "a valid token is needed: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"}), None

    def _origin_checked(self, method: str, origin: str | None, host: str) -> Any:
        if method in STATE_CHANGING and origin is not None and not same_origin(origin, host):
            return error(403, "a request from another site's page is refused (its Origin is not this server's)")
        return None

    def _session(self, scope: dict[str, Any], route: Route | None, token: str, origin: str | None,
                 host: str) -> tuple[Any, str | None]:
        session = self.sessions.by_token(token)
        if session is None:
            return error(401, "this capture session token is not valid; ask the product's server for a new one",
                         {"WWW-Authenticate": "Bearer"}), None
        cors = session.origin if origin is not None and origin.strip().lower() == session.origin else None
        if origin is not None and cors is None and not same_origin(origin, host):
            return error(403, "this capture session belongs to another site (the page's origin is not the "
                              "session's)"), None
        if session.expired:
            return error(401, "this capture session has expired; ask the product's server for a new one",
                         {"WWW-Authenticate": "Bearer"}), cors
        if route is None or not route.session:
            return error(403, "a capture session's token cannot use this route"), cors
        scope.setdefault("state", {})["capture_session"] = session
        return None, cors

    def _preflight(self, headers: dict[str, str], path: str, origin: str | None) -> Any:
        """A CORS pre-flight: answered for a live session's origin on a route sessions may use."""
        asked = headers.get("access-control-request-method", "").upper()
        route = self.route(asked, path)
        origin = (origin or "").strip().lower()
        if route is None or not route.session or self.sessions is None or not self.sessions.origin_live(origin):
            return error(403, "no capture session allows this origin here")
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Methods": asked, "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Headers": "authorization, content-type, x-preflight-follow"})


def _with_cors(send: Callable[[Any], Awaitable[None]], origin: str) -> Callable[[Any], Awaitable[None]]:
    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            extra = [(b"access-control-allow-origin", origin.encode("latin-1")),
                     (b"access-control-expose-headers", b"retry-after")]
            if origin != "*":
                extra.append((b"vary", b"Origin"))
            else:
                extra.append((b"cross-origin-resource-policy", b"cross-origin"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return sending
