"""Sampled frames for picture analysis: picked by time, scaled once to the working width, turned upright.

Only the sampled frames are converted (``VideoFrame.reformat``, FFmpeg's swscale, straight to grey at
the working size); every other frame stays in the decoder's own format and is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from preflight.media.probe import open_container

Gray = np.ndarray[Any, Any]  # a 2-D uint8 array: one grey picture
Sink = Callable[[float, Gray], None]


@dataclass
class FrameSampler:
    """Passes one frame every ``1 / fps`` seconds of video to ``sink`` as an upright grey array."""

    sink: Sink
    fps: float
    work_width: int
    rotation: int = 0  # the display rotation, degrees counter-clockwise (from the probe)
    _next: float = 0.0
    _reached: float = 0.0

    def offer(self, frame: av.VideoFrame, t: float) -> None:
        self._reached = max(self._reached, t)  # spliced files restart their timestamps
        if self._reached + 1e-6 < self._next:
            return
        while self._next <= self._reached + 1e-6:  # stay on the 1/fps grid: no drift over long videos
            self._next += 1.0 / self.fps
        self.sink(self._reached, upright_gray(frame, self.work_width, self.rotation))


def upright_gray(frame: av.VideoFrame, work_width: int, rotation: int) -> Gray:
    """The frame in grey, display orientation, ``work_width`` wide (never upscaled)."""
    sideways = rotation in (90, 270)
    shown_w, shown_h = (frame.height, frame.width) if sideways else (frame.width, frame.height)
    scale = min(1.0, work_width / shown_w)
    out_w, out_h = max(2, round(shown_w * scale)), max(2, round(shown_h * scale))
    coded = (out_h, out_w) if sideways else (out_w, out_h)
    gray: Gray = frame.reformat(width=coded[0], height=coded[1], format="gray").to_ndarray()
    return np.ascontiguousarray(np.rot90(gray, k=rotation // 90)) if rotation else gray


def sample_keyframes(path: Path, sampler: FrameSampler) -> int:
    """Quick mode: decode only the key frames (the decoder skips the rest) and sample those."""
    count = 0
    with open_container(path) as container:
        vs = container.streams.video[0]
        vs.codec_context.skip_frame = "NONKEY"
        try:
            for frame in container.decode(vs):
                if frame.time is not None:
                    sampler.offer(frame, frame.time)
                    count += 1
        except av.error.FFmpegError:
            pass  # damage is the full scan's business; quick mode samples what it can
    return count
