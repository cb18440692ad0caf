"""A deterministic generator of damaged media: mutations of small real encodes, for the fuzz suite.

Seeds are encoded on the fly (H.264/AAC MP4 and MOV, VP8 WebM, MPEG-4 in Matroska, JPEG with EXIF,
PNG) plus the real files in ``sample_media/``; each mutation is one of the ways files arrive broken:
cut short, flipped bytes in the header or the metadata, a box or chunk whose size field is huge,
a duplicated or zeroed range, two files spliced, a foreign tail, a damaged EXIF block. The same
``seed`` always gives the same bytes, so a failure found here is reproducible by name.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from tests.support.media_factory import VideoSpec, make_video

REPO = Path(__file__).resolve().parents[2]
_BOXES = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"stsz", b"stco", b"stts", b"mdat", b"udta",
          b"meta", b"ilst", b"mvhd", b"tkhd", b"hdlr", b"avcC", b"esds", b"ftyp", b"edts", b"elst", b"ctts")
_METADATA = (b"udta", b"meta", b"ilst", b"\xa9too", b"\xa9nam", b"hdlr", b"Exif", b"encoder", b"ENCODER",
             b"major_brand", b"Lavf", b"\x44\x89")


def seeds(folder: Path) -> list[Path]:
    """Small, valid files of every kind preflight reads (about 0.5 MB in all)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [
        make_video(folder / "seed.mp4", VideoSpec(width=96, height=64, seconds=1.0)),
        make_video(folder / "seed-rot.mov", VideoSpec(width=96, height=64, seconds=1.0, rotation=90)),
        make_video(folder / "seed.webm", VideoSpec(width=96, height=64, seconds=1.0, codec="libvpx",
                                                   audio="libopus")),
        make_video(folder / "seed.mkv", VideoSpec(width=96, height=64, seconds=1.0, codec="mpeg4", audio="aac")),
        _jpeg_with_exif(folder / "seed.jpg"),
        _png(folder / "seed.png"),
    ]
    real = [p for p in sorted((REPO / "sample_media").iterdir())
            if p.suffix in (".mov", ".png", ".jpg") and p.stat().st_size < 200_000]
    return made + real


def _jpeg_with_exif(path: Path) -> Path:
    rng = random.Random(7)
    im = Image.frombytes("RGB", (96, 96), bytes(rng.randrange(256) for _ in range(96 * 96 * 3)))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Phone"
    exif[0x8769] = {0x9003: "2026:01:01 10:00:00"}
    im.save(path, "JPEG", exif=exif.tobytes(), quality=80)
    return path


def _png(path: Path) -> Path:
    im = Image.new("RGBA", (80, 60), (200, 120, 40, 255))
    im.putpixel((3, 3), (0, 0, 0, 0))
    im.save(path, "PNG")
    return path


Mutation = Callable[[bytes, random.Random, bytes], bytes]


def truncate(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data[: rng.randrange(1, max(2, len(data)))]


def flip_header(data: bytes, rng: random.Random, other: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(min(len(out), 4096))] = rng.randrange(256)
    return bytes(out)


def flip_metadata(data: bytes, rng: random.Random, other: bytes) -> bytes:
    """Bytes flipped just after a metadata marker: names, encoder strings, EXIF (non-UTF-8 text)."""
    out = bytearray(data)
    places = [i for marker in _METADATA for i in _find_all(data, marker)]
    for _ in range(rng.randint(1, 6)):
        at = rng.choice(places) + rng.randrange(4, 40) if places else rng.randrange(len(out))
        if at < len(out):
            out[at] = rng.choice((0xFF, 0xC3, 0x80, 0xFE, 0x00, rng.randrange(256)))
    return bytes(out)


def huge_size(data: bytes, rng: random.Random, other: bytes) -> bytes:
    """An ISO-BMFF box, EBML element or PNG/JPEG chunk whose size field claims far more than is there."""
    out = bytearray(data)
    boxes = [i - 4 for box in _BOXES for i in _find_all(data, box) if i >= 4]
    if boxes:
        at = rng.choice(boxes)
        out[at:at + 4] = struct.pack(">I", rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 0x10000000, 1, 0, 7)))
    else:
        at = rng.randrange(max(1, len(out) - 4))
        out[at:at + 4] = b"\xff\xff\xff\xff"
    return bytes(out)


def duplicate(data: bytes, rng: random.Random, other: bytes) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start:start + rng.randint(16, 65536)]
    at = rng.randrange(len(data))
    return data[:at] + piece * rng.randint(1, 3) + data[at:]


def zero_range(data: bytes, rng: random.Random, other: bytes) -> bytes:
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 4096))
    return data[:start] + bytes(end - start) + data[end:]


def splice(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))] + other[rng.randrange(len(other)):]


def foreign_tail(data: bytes, rng: random.Random, other: bytes) -> bytes:
    tail = rng.choice((other, bytes(rng.randrange(256) for _ in range(rng.randint(1, 8192))), b"\x00" * 100_000))
    return data + tail


def damage_exif(data: bytes, rng: random.Random, other: bytes) -> bytes:
    at = data.find(b"Exif\x00\x00")
    if at < 0:
        return flip_header(data, rng, other)
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[at + 6 + rng.randrange(40)] = rng.randrange(256)
    return bytes(out)


MUTATIONS: dict[str, Mutation] = {
    "truncate": truncate, "flip-header": flip_header, "flip-metadata": flip_metadata, "huge-size": huge_size,
    "duplicate": duplicate, "zero-range": zero_range, "splice": splice, "foreign-tail": foreign_tail,
    "damage-exif": damage_exif,
}


def mutants(seed_files: list[Path], count: int, seed: int = 2026) -> Iterator[tuple[str, bytes]]:
    """``count`` (name, bytes) pairs; names say the seed file, the mutation and its number."""
    rng = random.Random(seed)
    contents = [(p, p.read_bytes()) for p in seed_files]
    names = sorted(MUTATIONS)
    for n in range(count):
        path, data = contents[n % len(contents)]
        _, other = contents[rng.randrange(len(contents))]
        kind = names[(n // len(contents)) % len(names)]
        if kind == "damage-exif" and path.suffix != ".jpg":
            kind = "flip-metadata"
        mutated = MUTATIONS[kind](data, random.Random(rng.getrandbits(64)), other)
        yield f"{n:04d}-{kind}-{path.stem}{path.suffix}", mutated or b"\x00"


def write_mutants(seed_files: list[Path], folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in mutants(seed_files, count):
        (folder / name).write_bytes(data)
        written.append(folder / name)
    return written


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0 and len(found) < 64:
        found.append(at)
        at = data.find(needle, at + 1)
    return found
