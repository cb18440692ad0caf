"""The blobs' interface.

A key is a name the service made (a job's or a take's id and an extension), never a caller's. A
local file handed to ``keep`` becomes the blob: in a folder it is moved there (or already is), in
S3 it is uploaded and the local file removed. ``local`` gives a readable file with a blob's bytes:
the folder's own file, or a copy downloaded into the caller's scratch folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path


class Blobs(ABC):
    shared: bool  # every node reads the same bytes
    shown: str  # where, for messages

    @abstractmethod
    def keep(self, key: str, path: Path, *, leave: bool = False) -> bool:
        """The file at ``path`` becomes blob ``key``; True when the local file is gone (moved away).
        With ``leave``, a copy elsewhere leaves the local file too (a node's own copy of an upload)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """A small blob's bytes (a report), or None when there is none."""

    @abstractmethod
    def local(self, key: str, scratch: Path) -> Path:
        """A readable local file with blob ``key``'s bytes: its own file, or a copy put in ``scratch``."""

    @abstractmethod
    def path(self, key: str) -> Path | None:
        """The blob's own file when it is one on this machine (served as a file), else None."""

    @abstractmethod
    def stream(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        """(size, its bytes in pieces) of a blob to serve, or None when there is none."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Every blob whose key starts with ``prefix`` (a take's: its recording, chunks, fixed file, reports)."""

    @abstractmethod
    def create(self, key: str) -> None:
        """An empty blob that chunks are appended to (a take's recording)."""

    @abstractmethod
    def append(self, key: str, seq: int, offset: int, data: bytes) -> str:
        """Chunk ``seq`` of blob ``key``, whose first ``offset`` bytes are acknowledged: kept where any
        node can find it, and where it went (the blob itself, or a chunk of its own)."""

    @abstractmethod
    def assemble(self, key: str, size: int, chunks: list[str], scratch: Path) -> Path:
        """Blob ``key`` whole, ``size`` bytes (its chunks, at ``chunks``, in order), as a local file;
        written piece by piece, never held in memory."""
