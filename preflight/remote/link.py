"""Fetch a link's first bytes the way Tavus will: a plain GET, no credentials, redirects followed.

One ranged request (``Range: bytes=0-65535``) answers everything the ``url.*`` rules ask: the status
after redirects, whether it is the file or a web page (a share page of Google Drive, Dropbox,
OneDrive or Box), its Content-Type and length, whether byte ranges work, and, for a signed URL, when
it expires. The first bytes also tell a video from an image, as for a local file. Signatures and
tokens never leave this module: ``shown()`` is the URL as reports print it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse, urlunparse

from preflight.facts import LinkFacts

if TYPE_CHECKING:
    import httpx

HEAD_BYTES = 65536
MAX_REDIRECTS = 5
TIMEOUT_S = 20.0
SECRET_PARAMS = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid",
            "x-goog-signature", "x-goog-credential", "sig", "token", "access_token", "key", "api_key"}
_SHARE_SITES = {"drive.google.com": "Google Drive", "docs.google.com": "Google Drive",
                "dropbox.com": "Dropbox", "www.dropbox.com": "Dropbox", "1drv.ms": "OneDrive",
                "onedrive.live.com": "OneDrive", "sharepoint.com": "OneDrive", "app.box.com": "Box",
                "box.com": "Box"}
# Words a share page's HTML carries, for pages served from elsewhere (a custom domain, a proxy).
_SHARE_MARKERS = {b"drive.google.com": "Google Drive", b"dropbox": "Dropbox", b"onedrive": "OneDrive",
                  b"app.box.com": "Box"}


def shown(url: str) -> str:
    """``url`` with every signature, credential and token value replaced by REDACTED."""
    parts = urlparse(url)
    if not parts.query:
        return url
    query = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    netloc = parts.hostname or ""
    netloc += f":{parts.port}" if parts.port else ""
    return urlunparse(parts._replace(netloc=netloc, query=urlencode(query, safe=":/")))


@dataclass(frozen=True)
class Expiry:
    scheme: str
    at: dt.datetime


def expiry(url: str) -> Expiry | None:
    """When a signed URL stops working, from its query: AWS SigV4 (X-Amz-Date + X-Amz-Expires), AWS
    SigV2 (Expires, a Unix time), Google Cloud Storage (X-Goog-Date + X-Goog-Expires), Azure SAS (se)."""
    q = {k.lower(): v for k, v in parse_qsl(urlparse(url).query, keep_blank_values=True)}
    try:
        if "x-amz-date" in q and "x-amz-expires" in q:
            return Expiry("aws-sigv4", _compact(q["x-amz-date"]) + dt.timedelta(seconds=int(q["x-amz-expires"])))
        if "x-goog-date" in q and "x-goog-expires" in q:
            return Expiry("gcs", _compact(q["x-goog-date"]) + dt.timedelta(seconds=int(q["x-goog-expires"])))
        if "expires" in q and ("signature" in q or "awsaccesskeyid" in q):
            return Expiry("aws-sigv2", dt.datetime.fromtimestamp(int(q["expires"]), dt.timezone.utc))
        if "se" in q and "sig" in q:
            return Expiry("azure-sas", _iso(q["se"]))
    except (ValueError, OverflowError):
        return None
    return None


def _compact(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


def _iso(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def share_site(url: str, body: bytes = b"") -> str | None:
    host = (urlparse(url).hostname or "").lower()
    for domain, name in _SHARE_SITES.items():
        if host == domain or host.endswith("." + domain):
            return name
    lowered = body[:HEAD_BYTES].lower()
    return next((name for marker, name in _SHARE_MARKERS.items() if marker in lowered), None) if body else None


def inspect(url: str, *, timeout: float = TIMEOUT_S, presigned_here: bool = False,
            now: dt.datetime | None = None) -> tuple[LinkFacts, bytes]:
    """The link's facts and its first bytes (empty when it did not answer with the file)."""
    import httpx  # on first use: a check of local files never loads it

    signed = expiry(url)
    now = now or dt.datetime.now(dt.timezone.utc)
    base: dict[str, Any] = dict(url=shown(url), signature=signed.scheme if signed else None,
                expires_at=signed.at.isoformat().replace("+00:00", "Z") if signed else None,
                valid_for_s=round((signed.at - now).total_seconds()) if signed else None,
                presigned_here=presigned_here)
    current, redirects = url, 0
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
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
