"""Crafted awkward inputs: special files, names FFmpeg or a shell could misread, a frame-size bomb, a
damaged EXIF block. Shared by test_inputs.py (one at a time) and test_fuzz.py (all in one folder)."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import av
import numpy as np
from PIL import Image

# Names that FFmpeg could read as a protocol ("concat:"), a command line as an option ("-"), a shell as
# a pipe ("|"), plus spaces and bytes that are not UTF-8.
ODD_NAMES = ["concat:real.mp4", "-i.mp4", "a|b.mp4", "two words.mp4", os.fsdecode(b"caf\xe9-latin1.mp4")]


def special_files(folder: Path) -> list[Path]:
    """A FIFO and a link to /dev/zero, both named like videos: neither may be opened for reading."""
    fifo, zero = folder / "pipe.mp4", folder / "zero.mp4"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    return [fifo, zero]


def mjpeg_bomb(path: Path, declared: tuple[int, int] = (16000, 16000), in_header: bool = True) -> Path:
    """A tiny MJPEG MOV whose frames (and, with ``in_header``, its sample description) declare
    ``declared`` pixels: 256 Mpx at 16000x16000, in under 20 kB."""
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuvj420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(path.read_bytes())
    size = struct.pack(">HH", *declared[::-1])  # JPEG SOF: height, then width
    at = data.find(b"\xff\xc0")
    while at >= 0:
        data[at + 5:at + 9] = size
        at = data.find(b"\xff\xc0", at + 2)
    if in_header:
        entry = data.find(b"jpeg", data.find(b"stsd"))
        data[entry + 28:entry + 32] = struct.pack(">HH", *declared)  # sample entry: width, height
    path.write_bytes(bytes(data))
    return path


def damaged_exif_jpeg(path: Path, size: tuple[int, int] = (600, 600)) -> Path:
    """A JPEG whose EXIF block (orientation 6) has a broken TIFF header: Pillow's exif_transpose raises
    SyntaxError on it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Phone"
    exif[0x8769] = {0x9003: "2026:01:01 10:00:00"}  # an Exif sub-IFD, as cameras write
    buf = io.BytesIO()
    Image.new("RGB", size, (150, 110, 90)).save(buf, "JPEG", exif=exif.tobytes())
    data = bytearray(buf.getvalue())
    at = data.find(b"Exif\x00\x00") + 6
    data[at:at + 4] = b"MM\xe7*"  # a TIFF header is "II*\\0" or "MM\\0*"
    path.write_bytes(bytes(data))
    return path
