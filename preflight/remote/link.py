"""Fetch a link's first bytes the way Tavus will: a plain GET, no credentials, redirects followed.

One ranged request (``Range: bytes=0-65535``) answers everything the ``url.*`` rules ask: the status
after redirects, whether it is the file or a web page (a share page of Google Drive, Dropbox,
OneDrive or Box), its Content-Type and length, whether byte ranges work, and, for a signed URL, when
it expires. The first bytes also tell a video from an image, as for a local file. Signatures and
tokens never leave it: reports print the URL as ``redact.url`` gives it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from preflight.remote import redact
from preflight.model.facts import LinkFacts
from preflight.remote.signed import expiry

if TYPE_CHECKING:
    import httpx

HEAD_BYTES = 65536
MAX_REDIRECTS = 5
TIMEOUT_S = 20.0
_SHARE_SITES = {"drive.google.com": "Google Drive", "docs.google.com": "Google Drive",
                "dropbox.com": "Dropbox", "www.dropbox.com": "Dropbox", "1drv.ms": "OneDrive",
                "onedrive.live.com": "OneDrive", "sharepoint.com": "OneDrive", "app.box.com": "Box",
                "box.com": "Box"}
# Words a share page's HTML carries, for pages served from elsewhere (a custom domain, a proxy).
_SHARE_MARKERS = {b"drive.google.com": "Google Drive", b"dropbox": "Dropbox", b"onedrive": "OneDrive",
                  b"app.box.com": "Box"}


def share_site(url: str, body: bytes = b"") -> str | None:
    host = (urlparse(url).hostname or "").lower()
    for domain, name in _SHARE_SITES.items():
        if host == domain or host.endswith("." + domain):
            return name
    lowered = body[:HEAD_BYTES].lower()
    return next((name for marker, name in _SHARE_MARKERS.items() if marker in lowered), None) if body else None


def inspect(url: str, *, timeout: float = TIMEOUT_S, presigned_here: bool = False,
            now: dt.datetime | None = None, transport: httpx.BaseTransport | None = None) -> tuple[LinkFacts, bytes]:
    """The link's facts and its first bytes (empty when it did not answer with the file). With
    ``transport`` (remote/guard.py's), every request and redirect goes through it."""
    import httpx  # on first use: a check of local files never loads it

    signed = expiry(url)
    now = now or dt.datetime.now(dt.timezone.utc)
    base: dict[str, Any] = dict(url=redact.url(url), signature=signed.scheme if signed else None,
                expires_at=signed.at.isoformat().replace("+00:00", "Z") if signed else None,
                valid_for_s=round((signed.at - now).total_seconds()) if signed else None,
                presigned_here=presigned_here)
    current, redirects = url, 0
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport,
                          trust_env=transport is None) as client:
            while True:
                with client.stream("GET", current, headers={"Range": f"bytes=0-{HEAD_BYTES - 1}",
                                                            "User-Agent": "preflight"}) as reply:
                    if reply.is_redirect and "location" in reply.headers:
                        redirects += 1
                        if redirects > MAX_REDIRECTS:
                            return _failed(base, f"more than {MAX_REDIRECTS} redirects", reply.status_code,
                                           redirects), b""
                        current = urljoin(current, reply.headers["location"])
                        continue
                    body = _read(reply)
                    return _answered(base, current, reply, body, redirects), body if reply.status_code in (200, 206) else b""
    except httpx.TimeoutException:
        return _failed(base, f"no answer within {timeout:.0f} s (timed out)", None, redirects), b""
    except httpx.HTTPError as err:
        return _failed(base, _reason(err), None, redirects), b""


def _read(reply: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in reply.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= HEAD_BYTES:
            break
    return b"".join(chunks)[:HEAD_BYTES]


def _answered(base: dict[str, Any], final: str, reply: httpx.Response, body: bytes, redirects: int) -> LinkFacts:
    ctype = reply.headers.get("content-type")
    html = bool(ctype and ctype.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")) or \
        body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    length = None
    total = reply.headers.get("content-range", "").rpartition("/")[2]
    if reply.status_code == 206 and total.isdigit():
        length = int(total)
    elif reply.status_code == 200 and reply.headers.get("content-length", "").isdigit():
        length = int(reply.headers["content-length"])
    modified = reply.headers.get("last-modified")
    if modified:
        try:
            modified = email.utils.parsedate_to_datetime(modified).isoformat()
        except (TypeError, ValueError):
            pass
    return LinkFacts(**base, status=reply.status_code, redirects=redirects, error=None,
                     content_type=ctype, length=length, ranges=reply.status_code == 206 if reply.status_code in (200, 206) else None,
                     html=html, share_site=share_site(final, body) if html or share_site(final) else None,
                     etag=reply.headers.get("etag"), last_modified=modified)


def _failed(base: dict[str, Any], error: str, status: int | None, redirects: int) -> LinkFacts:
    return LinkFacts(**base, status=status, redirects=redirects, error=error, content_type=None,
                     length=None, ranges=None, html=False, share_site=None)


def _reason(err: httpx.HTTPError) -> str:
    text = re.sub(r"https?://\S+", "the URL", str(err)) or type(err).__name__
    return f"{type(err).__name__}: {text}"[:200]
