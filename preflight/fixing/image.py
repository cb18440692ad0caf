"""Normalise and reframe a headshot with Pillow: upright, flattened, 8-bit RGB JPEG, and cropped or
padded to a centred head-and-shoulders framing around the one detected face. No pixel of the person
is invented: padding is a plain colour taken from the photo's own border."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from preflight.model.facts import FaceBox
from preflight.media.image import upright

# The framing aimed for: the face box (eyebrows to chin) this share of the height, its centre this far
# down; a square picture. Inside the image rules' accepted ranges, with room for shoulders.
FACE_SHARE, FACE_CENTER_Y = 0.32, 0.42
MAX_UPSCALE = 2.0


def normalised(src: Path, orientation: int | None) -> Image.Image:
    """The photo upright (by the EXIF ``orientation`` the check read), flattened, 8-bit RGB."""
    with Image.open(src) as im:
        im.seek(0)  # an animation: its first frame
        frame = upright(im, orientation)
        if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
            frame = frame.point(lambda v: v / 256).convert("L")
        if "A" in frame.getbands() or "transparency" in frame.info:
            rgba = frame.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return frame.convert("RGB")


def reframed(im: Image.Image, face: FaceBox) -> tuple[Image.Image, float]:
    """Crop (or pad) to a square around the face; returns the picture and the upscale factor used."""
    w, h = im.size
    side = face.h * h / FACE_SHARE
    cx, cy = face.cx * w, face.cy * h
    left, top = cx - side / 2, cy - FACE_CENTER_Y * side
    box = (round(left), round(top), round(left + side), round(top + side))
    pad = tuple(int(c) for c in np.median(np.concatenate([np.asarray(im)[0], np.asarray(im)[-1]]), axis=0))
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), pad)
    canvas.paste(im, (-box[0], -box[1]))
    scale = 1.0
    if canvas.width < 512:
        scale = min(MAX_UPSCALE, 512 / canvas.width)
        canvas = canvas.resize((round(canvas.width * scale), round(canvas.height * scale)), Image.Resampling.LANCZOS)
    return canvas, scale


def save_jpeg(im: Image.Image, dst: Path) -> None:
    im.save(dst, format="JPEG", quality=95, subsampling=0)
