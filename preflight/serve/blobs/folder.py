"""Blobs in a folder on this machine (the default: under ``--data``; ``preflight record``'s takes in
``--out``). A take's chunks are appended to its recording in place: the file is first cut to the
bytes acknowledged, so bytes written by a node that died before counting them are written over, and
each chunk is on disk (fsync) before it is counted."""

from __future__ import annotations

import os
import shutil
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from preflight.serve.blobs.base import Blobs

PIECE = 1024 * 1024


class FolderBlobs(Blobs):
    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shown = str(root)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._locks = [threading.Lock() for _ in range(64)]  # one per take, of a fixed set: bounded

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key

    def keep(self, key: str, path: Path, *, leave: bool = False) -> bool:
        target = self._path(key)
        if path.resolve() != target.resolve():
            os.replace(path, target) if path.stat().st_dev == self.root.stat().st_dev else shutil.move(path, target)
        return False  # the bytes are still on this machine's disk

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)  # whole or not at all

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def local(self, key: str, scratch: Path) -> Path:
        return self._path(key)

    def path(self, key: str) -> Path | None:
        found = self._path(key)
        return found if found.is_file() else None

    def stream(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        found = self.path(key)
        if found is None:
            return None

        def pieces() -> Iterator[bytes]:
            with open(found, "rb") as fh:
                while piece := fh.read(PIECE):
                    yield piece
        return found.stat().st_size, pieces()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        self._path(prefix)  # a valid key's start
        for found in self.root.glob(f"{prefix}*"):
            if found.is_file():
                found.unlink(missing_ok=True)

    def create(self, key: str) -> None:
        self._path(key).touch(exist_ok=False)

    def append(self, key: str, seq: int, offset: int, data: bytes) -> str:
        with self._locks[zlib.crc32(key.encode()) % len(self._locks)]:
            with open(self._path(key), "r+b") as out:
                out.truncate(offset)
                out.seek(offset)
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        return key

    def assemble(self, key: str, size: int, chunks: list[str], scratch: Path) -> Path:
        path = self._path(key)
        with self._locks[zlib.crc32(key.encode()) % len(self._locks)]:
            if path.stat().st_size > size:
                os.truncate(path, size)  # bytes a node wrote but never acknowledged
        return path
