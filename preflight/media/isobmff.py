"""The frame sizes an MP4 or QuickTime file declares (track headers ``tkhd`` and video sample entries
in ``stsd``), read from the box structure alone: for refusing an oversized video by what it says
before any frame is decoded."""

from __future__ import annotations

import io
import struct
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
MAX_BOXES = 10_000  # a damaged file cannot keep the walk going


def declared_sizes(path: Path) -> list[tuple[int, int]]:
    """Every (width, height) the file declares for a picture; [] when there is none or the file is not
    ISO-BMFF. Never raises for a damaged file: what could be read is returned."""
    sizes: list[tuple[int, int]] = []
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, 2)
            _walk(fh, 0, end, sizes, [0], {})
    except (OSError, struct.error, ValueError, IndexError):
        pass
    return sizes


def _walk(fh: io.BufferedReader, start: int, end: int, sizes: list[tuple[int, int]], count: list[int],
          track: dict[str, bytes]) -> None:
    offset = start
    while offset + 8 <= end and count[0] < MAX_BOXES:
        count[0] += 1
        fh.seek(offset)
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", fh.read(8))
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        body = offset + header
        if kind in _CONTAINERS:
            _walk(fh, body, offset + size, sizes, count, {} if kind == b"trak" else track)
        elif kind == b"hdlr" and "handler" not in track:  # the track's (QuickTime adds a data handler's)
            fh.seek(body + 8)  # version and flags, pre_defined (QuickTime: the component type)
            track["handler"] = fh.read(4)
        elif kind == b"tkhd":
            version = fh.read(1)[0]
            fh.seek(body + 4 + (32 if version == 1 else 20) + 16 + 36)
            width, height = struct.unpack(">II", fh.read(8))
            if width >> 16 and height >> 16:
                sizes.append((width >> 16, height >> 16))
        elif kind == b"stsd" and track.get("handler") == b"vide":
            fh.seek(body + 8 + 8 + 24)  # version/flags, entry count; the entry's header; to its width
            width, height = struct.unpack(">HH", fh.read(4))
            if width and height:
                sizes.append((width, height))
        offset += size
