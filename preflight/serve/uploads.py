"""Request bodies streamed to a file in the spool, never held whole in memory, and refused with 413
as soon as they pass the limit (at once when Content-Length says so). A raw body is the file itself;
``multipart/form-data`` is parsed as it streams, and its ``file`` part is what is kept."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from preflight.errors import BadUpload, BodyTooLarge


_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def spool_name(job_id: str, name: str) -> str:
    """The spooled file's name: the job id and the caller's extension (so the file is judged by the same
    extension rules as on the command line); nothing else of a stranger's name reaches the disk."""
    match = _SUFFIX.search(name or "")
    return job_id + (match.group(0).lower() if match else "")


def declared_too_large(headers: dict[str, str], limit: int) -> bool:
    length = headers.get("content-length", "")
    return length.isdigit() and int(length) > limit


async def save_raw(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> int:
    size = 0
    try:
        with open(dest, "xb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size


class _Parts:
    """The multipart parser's callbacks: the first part named ``file`` goes to ``out``, counted."""

    def __init__(self, out: BinaryIO, limit: int) -> None:
        self.out, self.limit = out, limit
        self.field = self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.in_file = self.found = False
        self.filename = ""
        self.size = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field = self.value = b""

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.in_file = disposition.get(b"name") == b"file" and not self.found
        if self.in_file:
            self.found = True
            self.filename = disposition.get(b"filename", b"").decode("utf-8", "replace")
        self.headers = {}

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.size += end - start
            if self.size > self.limit:
                raise BodyTooLarge
            self.out.write(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("on_header_field", "on_header_value", "on_header_end",
                                                       "on_headers_finished", "on_part_data", "on_part_end")}


async def save_multipart(chunks: AsyncIterator[bytes], content_type: str, dest: Path, limit: int) -> tuple[int, str]:
    """The ``file`` part into ``dest``; (its size, its filename as sent)."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadUpload("a multipart body needs a boundary")
    try:
        with open(dest, "xb") as out:
            parts = _Parts(out, limit)
            parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
            async for chunk in chunks:
                parser.write(chunk)
            parser.finalize()
        if not parts.found:
            raise BadUpload("no part named 'file' in the multipart body")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return parts.size, parts.filename


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
