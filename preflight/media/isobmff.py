"""What an MP4 or QuickTime file declares about its pictures, read from the box structure alone, before
any frame is decoded: the frame sizes (track headers ``tkhd`` and video sample entries in ``stsd``), for
refusing an oversized video by what it says, and the video track's rotation (its ``tkhd`` matrix, as
FFmpeg turns it into the display matrix a decoded frame carries)."""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
MAX_BOXES = 10_000  # a damaged file cannot keep the walk going


@dataclass
class Declared:
    sizes: list[tuple[int, int]] = field(default_factory=list)  # every (width, height) declared for a picture
    # the one video track's rotation in degrees (0, 90, 180, 270, as PyAV's frame.rotation % 360), or None
    # when it is not known from the header alone (no such track, several, a movie matrix, a skew or a flip)
    rotation: int | None = None
    _rotations: list[int | None] = field(default_factory=list)
    _movie_matrix: bool = False
    _count: int = 0


def declared(path: Path) -> Declared:
    """What the file declares; nothing when the file is not ISO-BMFF. Never raises for a damaged file:
    what could be read is returned (and the rotation only when the walk ended cleanly)."""
    found = Declared()
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, 2)
            _walk(fh, 0, end, found, {})
    except (OSError, struct.error, ValueError, IndexError):
        return Declared(sizes=found.sizes)
    if len(found._rotations) == 1 and not found._movie_matrix and found._count < MAX_BOXES:
        found.rotation = found._rotations[0]
    return found


_IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _rotation(matrix: tuple[int, ...]) -> int | None:
    """FFmpeg's av_display_rotation_get over a tkhd matrix (a, b, u, c, d, v, x, y, w: 16.16 and 2.30),
    rounded and taken modulo 360, when the matrix is a pure quarter turn; None otherwise."""
    a, b, c, d = (v / 65536.0 for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
    if matrix[2] or matrix[5] or (a, b, c, d) not in ((1, 0, 0, 1), (0, 1, -1, 0), (-1, 0, 0, -1), (0, -1, 1, 0)):
        return None
    turned = -math.degrees(math.atan2(b / math.hypot(b, d), a / math.hypot(a, c)))
    return round(turned) % 360


def _walk(fh: io.BufferedReader, start: int, end: int, found: Declared, track: dict[str, bytes]) -> None:
    sizes = found.sizes
    offset = start
    while offset + 8 <= end and found._count < MAX_BOXES:
        found._count += 1
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
            inner: dict[str, bytes] = {} if kind == b"trak" else track
            _walk(fh, body, offset + size, found, inner)
            if kind == b"trak" and inner.get("handler") == b"vide":
                matrix = inner.get("matrix")
                found._rotations.append(_rotation(struct.unpack(">9i", matrix)) if matrix else None)
        elif kind == b"mvhd":  # the movie's own matrix, which FFmpeg applies to every track's: identity, nearly always
            version = fh.read(1)[0]
            fh.seek(body + 4 + (28 if version == 1 else 16) + 4 + 2 + 10)
            found._movie_matrix = found._movie_matrix or struct.unpack(">9i", fh.read(36)) != _IDENTITY
        elif kind == b"hdlr" and "handler" not in track:  # the track's (QuickTime adds a data handler's)
            fh.seek(body + 8)  # version and flags, pre_defined (QuickTime: the component type)
            track["handler"] = fh.read(4)
        elif kind == b"tkhd":
            version = fh.read(1)[0]
            fh.seek(body + 4 + (32 if version == 1 else 20) + 16)
            track["matrix"] = fh.read(36)
            width, height = struct.unpack(">II", fh.read(8))
            if width >> 16 and height >> 16:
                sizes.append((width >> 16, height >> 16))
        elif kind == b"stsd" and track.get("handler") == b"vide":
            fh.seek(body + 8 + 8 + 24)  # version/flags, entry count; the entry's header; to its width
            width, height = struct.unpack(">HH", fh.read(4))
            if width and height:
                sizes.append((width, height))
        offset += size
