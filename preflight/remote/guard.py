"""Links from strangers: refuse any whose host is on this machine or its private networks (SSRF).

A service that fetches URLs its callers name must not become their way into the network it runs in:
``http://127.0.0.1:6379/``, ``http://169.254.169.254/`` (a cloud's metadata service) or
``http://10.0.0.5/admin`` are refused **before connecting**. The host name is resolved here, every
address it resolves to is checked (loopback, private, link-local, multicast, reserved, unspecified,
carrier-grade NAT and the IPv4-mapped forms of all of them), and the connection is then made to the
checked address itself (pinned: a second DNS answer cannot swap it), with the original name kept for
the Host header and for TLS (SNI and certificate checks). Every redirect goes through the same
transport, so each hop is checked the same way. Only ``http`` and ``https`` are fetched.

FFmpeg follows redirects to any host and honours proxy variables, so it never gets such a URL: the
file is downloaded through this transport into a local copy, which is what FFmpeg reads.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from preflight.errors import UnusableInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class Refused(httpx.ConnectError):
    """A URL the guard will not fetch; ``str()`` says why, in one line, without the URL's query."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def forbidden(address: Address) -> str | None:
    """Why ``address`` may not be fetched from, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden(address.ipv4_mapped)
    checks = (("loopback", address.is_loopback), ("link-local", address.is_link_local),
              ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
              ("private", address.is_private), ("reserved", address.is_reserved),
              ("shared (carrier-grade NAT)", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT))
    return next((what for what, hit in checks if hit), None)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that checks each request's host before connecting and pins the address.

    ``allow`` lists networks that are fetched although they are not public (a trusted network, or a
    test's own loopback server); ``resolver`` replaces DNS (tests)."""

    def __init__(self, *, allow: Iterable[str] = (), resolver: Resolver | None = None, **kwargs: Any) -> None:
        super().__init__(trust_env=False, **kwargs)  # proxies from the environment would bypass the check
        self.allow = [ipaddress.ip_network(n) for n in allow]
        self.resolver = resolver or _resolve

    def pinned(self, host: str, port: int) -> str:
        """The checked address to connect to for ``host``; raises Refused."""
        try:
            literal: Address | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        try:
            found = [str(literal)] if literal is not None else self.resolver(host, port)
        except OSError as err:
            raise Refused(f"the host name {host} does not resolve ({type(err).__name__})") from None
        if not found:
            raise Refused(f"the host name {host} does not resolve")
        for text in found:
            address = ipaddress.ip_address(text)
            why = forbidden(address)
            if why is not None and not any(address in net for net in self.allow):
                raise Refused(f"{host} is a {why} address ({address}), not fetched: links must point to public "
                              "hosts (a service started with --allow-private-urls fetches these)")
        return found[0]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise Refused(f"only http and https links are fetched, not {url.scheme}")
        host = url.host
        address = self.pinned(host, url.port or (443 if url.scheme == "https" else 80))
        if address != host:
            request.url = url.copy_with(host=address)
            request.headers["Host"] = url.netloc.decode("ascii")
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return super().handle_request(request)


def client(*, allow: Iterable[str] = (), timeout: float = 20.0, **kwargs: Any) -> httpx.Client:
    """An httpx client whose every request, redirects included, goes through the guard."""
    return httpx.Client(transport=GuardedTransport(allow=allow, **kwargs), timeout=timeout, trust_env=False)


def download(url: str, dest: Path, *, max_bytes: int, allow: Iterable[str] = (), timeout: float = 60.0,
             max_redirects: int = 5) -> int:
    """Copy ``url`` into ``dest`` through the guard, at most ``max_bytes`` (more is refused, not cut);
    the number of bytes written. Raises UnusableInput with the reason."""
    size = 0
    try:
        with client(allow=allow, timeout=timeout) as http:
            http.max_redirects = max_redirects
            with http.stream("GET", url, follow_redirects=True) as reply, open(dest, "wb") as out:
                if reply.status_code != 200:
                    raise UnusableInput(f"could not be downloaded (HTTP {reply.status_code})")
                for chunk in reply.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise UnusableInput(f"is larger than {max_bytes // 1_000_000} MB; not downloaded")
                    out.write(chunk)
    except Refused as err:
        raise UnusableInput(str(err)) from None
    except httpx.HTTPError as err:
        raise UnusableInput(f"could not be downloaded ({type(err).__name__})") from None
    return size


@dataclass(frozen=True, kw_only=True)
class UrlGuard:
    """The guard as an option of a check: links to non-public hosts are refused (``allow`` lists
    networks to fetch anyway), and a link that passes is copied to a local file for the analysis."""

    allow: tuple[str, ...] = ()
    max_bytes: int  # the most a link's copy may be: Tavus's size limit (judge.ruleset.max_upload_bytes)
    s3_buckets: tuple[str, ...] = ()  # the only buckets an s3:// address from a caller may name

    def s3_refusal(self, address: str) -> str | None:
        return s3_refusal(address, self.s3_buckets)

    def transport(self) -> GuardedTransport:
        return GuardedTransport(allow=self.allow)

    def copy(self, url: str, dest: Path) -> Path:
        download(url, dest, max_bytes=self.max_bytes, allow=self.allow)
        return dest


def s3_refusal(address: str, allowed: tuple[str, ...]) -> str | None:
    """Why an ``s3://`` address may not be read or listed with a server's own credentials, or None when
    its bucket is ``allowed``. Said before any S3 request."""
    bucket = address[5:].partition("/")[0]
    if bucket and bucket in allowed:
        return None
    return (f"the S3 bucket {bucket!r} is not one this server reads for its callers (it is started with "
            "--allow-s3-bucket NAME for each bucket it may read); send an https:// link or the file itself")
