"""Request bodies streamed to a file in the spool, never held whole in memory, and refused with 413
as soon as they pass the limit (at once when Content-Length says so; a chunked body as its bytes
arrive). A raw body is the file itself; ``multipart/form-data`` is parsed as it streams, and its
``file`` part is what is kept: every byte of the body counts against the limit (other parts too), and
a part's headers and the number of parts are bounded. Each body's bytes are reserved in the spool's
``Budget`` as they arrive, so uploads in progress count towards ``--max-spool-gb`` too. The SHA-256
of what is kept is computed on the way (for ``Idempotency-Key``)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from preflight.errors import BadUpload, BodyTooLarge, SpoolFull
from preflight.serve.blobs.spool import Budget

MAX_PART_HEADER_BYTES = 16 * 1024  # all header lines of one part
MAX_PARTS = 16


_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def spool_name(job_id: str, name: str) -> str:
    """The spooled file's name: the job id and the caller's extension (so the file is judged by the same
    extension rules as on the command line); nothing else of a stranger's name reaches the disk."""
    match = _SUFFIX.search(name or "")
    return job_id + (match.group(0).lower() if match else "")


def declared_too_large(headers: dict[str, str], limit: int) -> bool:
    length = headers.get("content-length", "")
    return length.isdigit() and int(length) > limit


class _Counted:
    """What one body has reserved, and its total: released again if the body is not kept."""

    def __init__(self, budget: Budget | None, limit: int) -> None:
        self.budget, self.limit, self.size = budget, limit, 0

    def add(self, n: int) -> None:
        self.size += n
        if self.size > self.limit:
            raise BodyTooLarge
        if self.budget is not None:
            try:
                self.budget.reserve(n)
            except SpoolFull:
                self.size -= n
                raise

    def give_back(self) -> None:
        if self.budget is not None:
            self.budget.release(self.size)
        self.size = 0


async def save_raw(chunks: AsyncIterator[bytes], dest: Path, limit: int, budget: Budget | None = None
                   ) -> tuple[int, str]:
    """The body into ``dest``; (its size, its SHA-256)."""
    import hashlib

    counted, digest = _Counted(budget, limit), hashlib.sha256()
    try:
        with open(dest, "xb") as out:
            async for chunk in chunks:
                counted.add(len(chunk))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        counted.give_back()
        raise
    return counted.size, digest.hexdigest()


class _Parts:
    """The multipart parser's callbacks: the first part named ``file`` goes to ``out``. A part's header
    bytes and the number of parts are bounded (BadUpload past them)."""

    def __init__(self, out: BinaryIO) -> None:
        import hashlib

        self.out = out
        self.field = self.value = b""
        self.header_bytes = 0
        self.parts = 0
        self.headers: dict[bytes, bytes] = {}
        self.in_file = self.found = False
        self.filename = ""
        self.digest = hashlib.sha256()

    def _header(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_PART_HEADER_BYTES:
            raise BadUpload(f"a multipart part's headers are over {MAX_PART_HEADER_BYTES // 1024} KiB")

    def on_part_begin(self) -> None:
        self.parts += 1
        self.header_bytes = 0
        if self.parts > MAX_PARTS:
            raise BadUpload(f"a multipart body has at most {MAX_PARTS} parts")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header(end - start)
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header(end - start)
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
            self.digest.update(data[start:end])
            self.out.write(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("on_part_begin", "on_header_field", "on_header_value",
                                                       "on_header_end", "on_headers_finished", "on_part_data",
                                                       "on_part_end")}


async def save_multipart(chunks: AsyncIterator[bytes], content_type: str, dest: Path, limit: int,
                         budget: Budget | None = None) -> tuple[int, str, str]:
    """The ``file`` part into ``dest``; (its size, its filename as sent, its SHA-256). Every byte of the
    body counts against ``limit``."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadUpload("a multipart body needs a boundary")
    counted = _Counted(budget, limit)
    try:
        with open(dest, "xb") as out:
            parts = _Parts(out)
            parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
            async for chunk in chunks:
                counted.add(len(chunk))
                parser.write(chunk)
            parser.finalize()
        if not parts.found:
            raise BadUpload("no part named 'file' in the multipart body")
        if dest.stat().st_size == 0:
            raise BadUpload("the multipart body's 'file' part is empty: attach the media file")
    except BaseException:
        dest.unlink(missing_ok=True)
        counted.give_back()
        raise
    kept = dest.stat().st_size
    if budget is not None:  # only the file part stays on disk
        budget.release(counted.size - kept)
    return kept, parts.filename, parts.digest.hexdigest()


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
