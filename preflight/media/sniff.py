"""Tell what a file is from its first bytes, and refuse early what is not media at all."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import NotFetched, UnusableInput
from preflight.model.facts import Kind

_HEAD = 512
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
# ISO-BMFF brands that mean a still image (HEIC from phones, AVIF), not a movie.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def image_format(head: bytes) -> str | None:
    """The image format these leading bytes announce, or None if they are not an image."""
    for magic, name in _IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "AVIF" if head[8:12] in (b"avif", b"avis") else "HEIF"
    return None


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def regular_file_kind(mode: int) -> str | None:
    """None for a regular file, else what it is instead ("a named pipe (FIFO)", "a directory", ...)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    return next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")


def read_head(path: Path) -> bytes:
    """The first bytes of ``path``; every way of not being readable becomes one clear UnusableInput.

    Only regular files are read: a FIFO would block forever and a device (``/dev/zero``) never ends,
    so they are refused from their ``stat`` (links followed) before anything is opened. The open is
    non-blocking so a file swapped for a FIFO after the ``stat`` cannot block either."""
    try:
        what = regular_file_kind(os.stat(path).st_mode)
        if what is not None:
            raise UnusableInput(f"is {what}, not a regular file; preflight reads only media files")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            what = regular_file_kind(os.fstat(fh.fileno()).st_mode)
            if what is not None:
                raise UnusableInput(f"is {what}, not a regular file; preflight reads only media files")
            return fh.read(_HEAD)
    except FileNotFoundError:
        raise UnusableInput("no such file") from None
    except PermissionError:
        raise UnusableInput("cannot be read: permission denied") from None
    except OSError as err:
        raise UnusableInput(f"cannot be read: {err.strerror or err}") from None


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    head: bytes
    image_format: str | None


def sniff(path: Path) -> Sniffed:
    """Say whether a file is worth probing as a video or an image, or raise UnusableInput saying why not."""
    return sniff_head(read_head(path))


def sniff_head(head: bytes) -> Sniffed:
    """The same, from a file's first bytes (a local file's, or a remote one's first range)."""
    if not head:
        raise UnusableInput("is empty (0 bytes); the file was not copied or downloaded completely")
    if head.startswith(_LFS_POINTER):
        raise NotFetched(
            "not fetched: this is a Git LFS pointer file, not the media itself; run `git lfs pull` to fetch it"
        )
    fmt = image_format(head)
    if fmt:
        return Sniffed("image", head, fmt)
    if _looks_like_text(head):
        raise UnusableInput("is a text file, not a video or image")
    return Sniffed("video", head, None)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut off by the read limit is still text.
        return err.start >= len(head) - 3 and len(head) == _HEAD
    return True
