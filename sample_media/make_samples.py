"""Regenerate the sample media in this folder (synthetic pictures and tones; no people, no licences).

    python sample_media/make_samples.py

The files are committed, so a new user never has to run this; it documents how they were made.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.media_factory import VideoSpec, make_image, make_video  # noqa: E402


def main() -> None:
    # Passes every Phoenix-4 file/stream rule: 61 s, 1080p, 25 fps, H.264 + AAC in MP4.
    make_video(HERE / "pattern-1080p-61s.mp4", VideoSpec(width=1920, height=1080, fps=25, seconds=61))
    # A typical phone export gone wrong: HEVC in a MOV, 720p, 24 fps, 8 s.
    make_video(HERE / "phone-hevc-720p.mov", VideoSpec(width=1280, height=720, fps=24, seconds=8, codec="libx265"))
    # Passes the image rules: 1024x1024 JPEG.
    make_image(HERE / "pattern-1024.jpg", size=(1024, 1024), quality=90)
    # Fails: 400x300 PNG with transparent pixels.
    make_image(HERE / "cutout-400x300.png", size=(400, 300), mode="RGBA")


if __name__ == "__main__":
    main()
