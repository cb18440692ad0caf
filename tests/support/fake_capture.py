"""Media for Chromium's fake camera and microphone (``--use-file-for-fake-video-capture`` takes a Y4M
file, ``--use-file-for-fake-audio-capture`` a WAV; both loop): a real face from tests/media framed as
a webcam would, and real (synthetic) speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from tests.conftest import MEDIA, face_frame


def fake_camera(folder: Path, name: str = "grace_hopper.jpg", size: tuple[int, int] = (640, 360),
                seconds: float = 2.0, face_px: int = 120) -> Path:
    still = folder / "camera.png"
    Image.fromarray(face_frame(name, size, face_px=face_px, centre=(0.5, 0.45))).save(still)
    out = folder / "camera.y4m"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-loop", "1", "-i", str(still),
                    "-t", str(seconds), "-r", "30", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def fake_microphone(folder: Path) -> Path:
    out = folder / "microphone.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(MEDIA / "speech.m4a"),
                    "-ar", "48000", "-ac", "1", str(out)], check=True)
    return out
