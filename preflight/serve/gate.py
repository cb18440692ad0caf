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
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from preflight.serve.bodies import error

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


class Gate:
    """ASGI middleware: Host, then Origin, then the token. ``origins`` gives further origins allowed
    for a request (a capture session's); ``open_paths`` need no token (their GET only when they end
    with ``*``, a prefix)."""

    def __init__(self, app: ASGI, *, hosts: HostPolicy, token: str | None, open_paths: Iterable[str] = (),
                 origins: Callable[[dict[str, Any]], Iterable[str]] | None = None) -> None:
        self.app, self.hosts, self.token = app, hosts, token
        self.open_exact = {p for p in open_paths if not p.endswith("*")}
        self.open_prefixes = tuple(p[:-1] for p in open_paths if p.endswith("*"))
        self.origins = origins

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: dict[str, Any]) -> JSONResponse | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if not self.hosts.allows(host):
            return error(403, "this server does not answer to that Host name (it answers its own address; "
                                "start it with --allow-host NAME to answer another name)")
        origin = headers.get("origin")
        if scope.get("method", "GET") in STATE_CHANGING and origin is not None \
                and not same_origin(origin, host) and origin.strip() not in self._other_origins(scope):
            return error(403, "a request from another site's page is refused (its Origin is not this server's)")
        if self.token is not None and not self._open(scope) and not self._authorized(headers):
            return error(401, "a valid token is needed: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"})
        return None

    def _other_origins(self, scope: dict[str, Any]) -> set[str]:
        return set(self.origins(scope)) if self.origins is not None else set()

    def _open(self, scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        if path in self.open_exact:
            return True
        return scope.get("method") in ("GET", "HEAD") and path.startswith(self.open_prefixes) \
            if self.open_prefixes else False

    def _authorized(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        given = headers.get("authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), self.token.encode())
