"""Presigned GET URLs: long enough for Tavus (>= 24 h), within SigV4's 7 days, verified before use,
and never shown with their signature."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx

from preflight.remote.signed import expiry
from preflight.errors import UploadError

MIN_VALID_S = 24 * 3600  # Tavus: keep URLs valid for at least 24 hours after submission
MAX_VALID_S = 7 * 24 * 3600  # SigV4's limit


def parse_duration(text: str) -> int:
    """'24h', '3d', '90m', '3600' -> seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if not match:
        raise UploadError(f"cannot read the duration {text!r}; use e.g. 24h, 3d or 7d")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def credentials_expiry(credentials: Any) -> dt.datetime | None:
    """When temporary (session) credentials run out, or None for long-term keys."""
    if credentials is None or not getattr(credentials, "token", None):
        return None
    expiry = getattr(credentials, "_expiry_time", None)
    return expiry if isinstance(expiry, dt.datetime) else None


def check_credentials(credentials: Any, expires_s: int, now: dt.datetime | None = None) -> None:
    """Refuse credentials that a presigned URL would not outlive: temporary ones (a session token: SSO,
    an assumed role, CI's OIDC) whose expiry is unknown or comes before the URL's. Called before any
    upload, so nothing is sent for a URL that would die before Tavus downloads it."""
    if credentials is None or not getattr(credentials, "token", None):
        return  # long-term keys: the URL lives as long as it says
    expiry = credentials_expiry(credentials)
    instead = ("use long-term credentials of an IAM user for the upload (AWS_ACCESS_KEY_ID and "
               "AWS_SECRET_ACCESS_KEY without AWS_SESSION_TOKEN, or a profile with them)")
    if expiry is None:
        raise UploadError("the AWS credentials are temporary (they carry a session token) and their expiry is "
                          f"unknown, so a presigned URL may die with them before Tavus downloads it; {instead}")
    now = now or dt.datetime.now(dt.timezone.utc)
    if expiry < now + dt.timedelta(seconds=expires_s):
        left = max(0, int((expiry - now).total_seconds()) // 60)
        raise UploadError(f"the AWS credentials are temporary and expire in {left} min, before the presigned URL "
                          f"({expires_s // 3600} h) would; Tavus needs it for at least 24 h: {instead}")


def presign(client: Any, bucket: str, key: str, expires_s: int, credentials: Any = None,
            now: dt.datetime | None = None) -> str:
    if not MIN_VALID_S <= expires_s <= MAX_VALID_S:
        raise UploadError(f"--expires must be between 24h (Tavus) and 7d (SigV4); got {expires_s // 3600} h")
    check_credentials(credentials, expires_s, now)
    return str(client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                             ExpiresIn=expires_s))


def seconds_left(url: str, now: dt.datetime | None = None) -> int | None:
    """How long a signed URL stays valid (SigV4, SigV2, GCS, Azure SAS), or None if it is not one."""
    signed = expiry(url)
    if signed is None:
        return None
    return int((signed.at - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())


def verify(url: str, path: Path, timeout: float = 30.0) -> None:
    """Fetch the first KiB without credentials, as Tavus will, and compare it with the file."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    try:
        reply = httpx.get(url, headers={"Range": f"bytes=0-{len(head) - 1}"}, timeout=timeout)
    except httpx.HTTPError as err:
        raise UploadError(f"the presigned URL cannot be fetched: {type(err).__name__}") from None
    if reply.status_code not in (200, 206):
        raise UploadError(f"the presigned URL answers HTTP {reply.status_code}; Tavus could not download it")
    if reply.content[: len(head)] != head:
        raise UploadError("the presigned URL serves different bytes than the file")
    total = reply.headers.get("content-range", "").rpartition("/")[2]
    if total.isdigit() and int(total) != path.stat().st_size:
        raise UploadError(f"the stored object has {total} bytes, the file {path.stat().st_size}")
