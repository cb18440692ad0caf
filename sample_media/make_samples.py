"""Regenerate the sample media in this folder: synthetic pictures and tones, and two headshots cut
from a public-domain NASA portrait (tests/media/astronaut.jpg; see tests/media/README.md).

    python sample_media/make_samples.py

The files are committed, so a new user never has to run this; it documents how they were made.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from PIL import Image  # noqa: E402

from tests.support.media_factory import VideoSpec, make_image, make_video  # noqa: E402

PORTRAIT = HERE.parent / "tests" / "media" / "astronaut.jpg"  # public domain (NASA), 512x512


def headshot(path: Path, box: tuple[int, int, int, int]) -> None:
    """A head-and-shoulders crop of the portrait (without the mission patch lower down), enlarged to
    640x640: the original is only 512 px, so any crop must be enlarged to reach Tavus's minimum."""
    with Image.open(PORTRAIT) as im:
        im.convert("RGB").crop(box).resize((640, 640), Image.Resampling.LANCZOS).save(path, quality=90)


def main() -> None:
    # Passes every Phoenix-4 file/stream rule: 61 s, 1080p, 25 fps, H.264 + AAC in MP4.
    make_video(HERE / "pattern-1080p-61s.mp4", VideoSpec(width=1920, height=1080, fps=25, seconds=61))
    # A typical phone export gone wrong: HEVC in a MOV, 720p, 24 fps, 8 s.
    make_video(HERE / "phone-hevc-720p.mov", VideoSpec(width=1280, height=720, fps=24, seconds=8, codec="libx265"))
    # Fails: 400x300 PNG with transparent pixels.
    make_image(HERE / "cutout-400x300.png", size=(400, 300), mode="RGBA")
    # A real headshot that passes every image rule, and the same photo framed off-centre (fails
    # face.centered; `preflight fix` reframes it).
    headshot(HERE / "headshot.jpg", (76, 0, 436, 360))
    headshot(HERE / "headshot-off-centre.jpg", (140, 0, 500, 360))


if __name__ == "__main__":
    main()
