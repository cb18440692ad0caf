"""Read an image's facts with Pillow: format by content, size after EXIF orientation, mode, alpha."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from preflight.errors import UnusableInput
from preflight.model.facts import ImageFacts
from preflight.model.failures import stage
from preflight.media.picture import analyse_still
from preflight.media.settings import AnalysisSettings
from preflight.media.preview import Thumbnails
from preflight.remote.source import Remote

# Pillow's own decompression-bomb guard: a header that promises more pixels than this is refused
# before any pixel is decoded. 100 Mpx is far above any camera a headshot comes from (a 50 Mpx
# sensor gives 8688x5792) and keeps a decode under ~400 MB of memory.
MAX_PIXELS = 100_000_000
_EXIF_ORIENTATION = 0x0112
_BITS = {"1": 1, "L": 8, "P": 8, "RGB": 8, "RGBA": 8, "CMYK": 8, "YCbCr": 8, "LAB": 8, "LA": 8,
         "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}


def probe_image(path: Path | Remote, size_bytes: int, head: bytes, sniffed: str,
                settings: AnalysisSettings | None = None, thumbs: Thumbnails | None = None,
                data: bytes | None = None) -> ImageFacts:
    """The image's facts; with ``settings``, its faces too (from the same decoded pixels); with
    ``thumbs``, a thumbnail of it, upright. ``data``: the image's bytes, read from a remote file."""
    previous_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's complaints about damaged metadata: see _orientation
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path if isinstance(path, Path) else io.BytesIO(data or b"")) as im:
                facts = _facts(path, im, size_bytes, head)
                if not facts.decode_ok or (settings is None and thumbs is None):
                    return facts
                with stage("decode"):
                    rgb = upright(im.convert("RGB"), facts.exif_orientation)
                if thumbs is not None:
                    thumbs.add(None, np.asarray(_shrunk(rgb, thumbs.width * 3 // 2)))
                if settings is None:
                    return facts
                with stage("faces"):
                    return _with_faces(facts, rgb, settings)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnusableInput(
            f"declares more than {MAX_PIXELS // 1_000_000} million pixels; refusing to decode "
            "a possible decompression bomb (a real headshot needs far fewer)"
        ) from None
    except UnidentifiedImageError:
        return _unreadable(path, size_bytes, sniffed, "Pillow cannot read this format")
    except OSError as err:
        raise UnusableInput(f"is a {sniffed} file that cannot be read ({err})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def _facts(path: Path | Remote, im: Image.Image, size_bytes: int, head: bytes) -> ImageFacts:
    decode_error = _decode_error(im)
    orientation, exif_error = _orientation(im) if decode_error is None else (None, None)
    stored = im.size
    shown = stored[::-1] if orientation in (5, 6, 7, 8) else stored
    has_alpha = "A" in im.getbands() or "transparency" in im.info
    return ImageFacts(
        kind="image",
        size_bytes=size_bytes,
        extension=path.suffix.lower(),
        format=im.format or "unknown",
        width=shown[0],
        height=shown[1],
        stored_width=stored[0],
        stored_height=stored[1],
        exif_orientation=orientation,
        mode=im.mode,
        bit_depth=_bit_depth(im, head),
        has_alpha=has_alpha,
        transparent_pixels=_has_transparency(im) if has_alpha and decode_error is None else None,
        animated=bool(getattr(im, "is_animated", False)),
        n_frames=int(getattr(im, "n_frames", 1)),
        decode_ok=decode_error is None,
        decode_error=decode_error,
        exif_error=exif_error,
    )


# EXIF orientation -> the transposition that turns the stored picture upright (as exif_transpose does).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def upright(im: Image.Image, orientation: int | None) -> Image.Image:
    """The picture turned by its EXIF orientation, read once by ``_orientation``; unlike Pillow's
    ``exif_transpose`` this never parses the EXIF block again, so a damaged one cannot raise here."""
    method = _UPRIGHT.get(orientation or 1)
    return im.transpose(method) if method is not None else im


def _shrunk(im: Image.Image, longest: int) -> Image.Image:
    scale = longest / max(im.size)
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                     Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else im


def _with_faces(facts: ImageFacts, upright_rgb: Image.Image, settings: AnalysisSettings) -> ImageFacts:
    gray = np.asarray(upright_rgb.convert("L"))
    still = analyse_still(gray, settings)
    n = len(still.faces)
    return replace(facts, faces=still.faces, face=still.look, face_count=n, face_count_max=n,
                   landmarks=still.landmarks)


def _decode_error(im: Image.Image) -> str | None:
    """Decode every pixel: a truncated or damaged file fails here, not at upload."""
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as err:
        return str(err).rstrip(".")
    return None


def _orientation(im: Image.Image) -> tuple[int | None, str | None]:
    """The EXIF orientation (1-8, or None), and why the EXIF block could not be read if it could not.
    A damaged block is a finding (``image.exif``), not a failure: the pixels are judged as stored.
    Pillow reads a damaged block leniently (warnings, or nothing at all), so the damage is looked for
    here: a block that is not TIFF data, or any warning while parsing it."""
    raw = im.info.get("exif")
    body = raw[6:] if isinstance(raw, bytes) and raw.startswith(b"Exif\x00\x00") else raw
    if isinstance(body, bytes) and body and body[:4] not in (b"II*\x00", b"MM\x00*"):
        return None, "not TIFF data"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception as err:  # Pillow's EXIF parser raises SyntaxError, struct.error, ValueError...
        return None, " ".join(f"{type(err).__name__}: {err}".split())[:120]
    if caught:
        return None, " ".join(str(caught[0].message).split())[:120]
    return (value if isinstance(value, int) and 1 <= value <= 8 else None), None


def _bit_depth(im: Image.Image, head: bytes) -> int | None:
    if im.format == "PNG" and head[12:16] == b"IHDR":
        return head[24]  # IHDR bit depth: Pillow reads 16-bit colour PNGs into 8-bit modes
    return _BITS.get(im.mode)


def _has_transparency(im: Image.Image) -> bool:
    extrema = im.convert("RGBA").getchannel("A").getextrema()
    return isinstance(extrema[0], (int, float)) and extrema[0] < 255


def _unreadable(path: Path | Remote, size_bytes: int, fmt: str, reason: str) -> ImageFacts:
    """An image whose container we recognise (e.g. HEIC) but cannot decode: judged, not refused."""
    return ImageFacts(
        kind="image", size_bytes=size_bytes, extension=path.suffix.lower(), format=fmt,
        width=None, height=None, stored_width=None, stored_height=None, exif_orientation=None,
        mode=None, bit_depth=None, has_alpha=None, transparent_pixels=None, animated=None,
        n_frames=None, decode_ok=False, decode_error=reason,
    )
