"""Remote inputs: what ``https://…``, ``s3://bucket/key`` and ``s3://bucket/prefix/`` name, and how the
analysis reads them without a full local copy.

A video is read by FFmpeg straight from its URL (PyAV's FFmpeg speaks HTTP and HTTPS with byte
ranges): the full check streams it once, front to back, through the same single pass as a local file;
``--quick`` reads the header, the index (also at the end of a file) and a few key frames by range.
Nothing is written to disk. An image is read into memory, up to ``MAX_IMAGE_BYTES``.
An ``s3://`` object is read through a GET URL that preflight presigns for the check (1 hour) with the
caller's AWS credentials (endpoint: ``PREFLIGHT_S3_ENDPOINT`` or boto3's own settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any
from pathlib import Path
from urllib.parse import unquote, urlparse

from preflight.inputs.discover import IMAGE_EXTENSIONS, MEDIA_EXTENSIONS
from preflight.errors import UsageError
from preflight.model.facts import LinkFacts
from preflight.remote import redact

SCHEMES = ("http://", "https://", "s3://")
CHECK_URL_S = 3600  # how long the GET URL preflight signs for checking an s3:// object lives
MAX_IMAGE_BYTES = 64 * 1024 * 1024


def is_remote(text: str) -> bool:
    return text.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class Remote:
    """One remote file. ``url`` may carry a signature: print ``shown``, never ``url``."""

    url: str
    shown: str
    s3: tuple[str, str] | None = None  # (bucket, key) of an s3:// input
    link: LinkFacts | None = None  # filled in by inspect()
    head: bytes = b""  # its first bytes, from the same request
    copy: Path | None = None  # a local copy made through the URL guard: what the analysis reads

    def __str__(self) -> str:
        return self.shown

    @property
    def name(self) -> str:
        return unquote(urlparse(self.shown if self.s3 else self.url).path.rsplit("/", 1)[-1]) or "file"

    @property
    def suffix(self) -> str:
        name = self.name
        return name[name.rfind("."):].lower() if "." in name else ""

    def guessed_kind(self) -> str:
        return "image" if self.suffix in IMAGE_EXTENSIONS else "video"

    def inspected(self, timeout: float | None = None, transport: Any = None) -> Remote:
        """With its link checked the way Tavus will download it; ``transport`` (the URL guard's)
        carries every request, redirects included."""
        from preflight.remote import link

        facts, head = link.inspect(self.url, presigned_here=self.s3 is not None, timeout=timeout or link.TIMEOUT_S,
                                   transport=transport)
        if self.s3 is not None:
            facts = replace(facts, url=self.shown)
        return replace(self, link=facts, head=head)


def s3_client() -> Any:
    """The S3 client for reading s3:// inputs (endpoint: ``PREFLIGHT_S3_ENDPOINT``, else boto3's own)."""
    from preflight.upload.s3 import client

    return client(os.environ.get("PREFLIGHT_S3_ENDPOINT") or None)


def expand(text: str, client: Any = None) -> list[Remote]:
    """The remote files ``text`` names: one for a URL or an S3 key, every media object for an S3 prefix
    ending in ``/``. Raises UsageError, saying why without repeating the address, when it names none."""
    if not text.lower().startswith("s3://"):
        parts = urlparse(text)
        if not parts.hostname:
            raise UsageError("not a URL with a host name")
        return [Remote(text, redact.url(text))]
    bucket, _, key = text[5:].partition("/")
    if not bucket:
        raise UsageError("an S3 address is s3://BUCKET/KEY or s3://BUCKET/PREFIX/")
    client = client or s3_client()
    try:
        keys = _listed(client, bucket, key) if key.endswith("/") or not key else [key]
    except Exception as err:  # botocore's errors: no credentials, no bucket, access denied
        raise UsageError(f"cannot list it ({_s3_reason(err)})") from None
    if not keys:
        raise UsageError("no video or image objects under this prefix")
    return [Remote(_presign(client, bucket, k), f"s3://{bucket}/{k}", (bucket, k)) for k in keys]


def _listed(client: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            if "." in name and name[name.rfind("."):].lower() in MEDIA_EXTENSIONS and not name.startswith("."):
                keys.append(item["Key"])
    return sorted(keys)


def _presign(client: Any, bucket: str, key: str) -> str:
    return str(client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                             ExpiresIn=CHECK_URL_S))


def _s3_reason(err: Exception) -> str:
    """botocore's error code (AccessDenied, NoSuchBucket, …), or the exception's name."""
    response = getattr(err, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code or type(err).__name__)


def read_image(remote: Remote, timeout: float = 60.0) -> bytes:
    """The whole image, at most MAX_IMAGE_BYTES (more is refused, not truncated)."""
    import httpx

    from preflight.errors import UnusableInput

    if remote.copy is not None:
        if remote.copy.stat().st_size > MAX_IMAGE_BYTES:
            raise UnusableInput(f"is larger than {MAX_IMAGE_BYTES // 2**20} MiB; not a headshot")
        return remote.copy.read_bytes()
    chunks, size = [], 0
    try:
        with httpx.stream("GET", remote.url, timeout=timeout, follow_redirects=True) as reply:
            reply.raise_for_status()
            for chunk in reply.iter_bytes():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise UnusableInput(f"is larger than {MAX_IMAGE_BYTES // 2**20} MiB; not a headshot")
                chunks.append(chunk)
    except httpx.HTTPError as err:
        raise UnusableInput(f"could not be downloaded ({type(err).__name__})") from None
    return b"".join(chunks)
