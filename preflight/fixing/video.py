"""Re-encode a video with ffmpeg (the binary imageio-ffmpeg ships), the graph built with ffmpeg-python.

Upright (ffmpeg applies the display rotation while re-encoding), constant frame rate, H.264 + AAC
in MP4 with the index at the front, optional two-pass loudness normalisation.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg
import imageio_ffmpeg

from preflight.errors import FixFailed
from preflight.model.facts import VideoFacts
from preflight.media.probe import ffmpeg_url

LOUDNESS = {"I": -16.0, "TP": -1.5, "LRA": 11.0}
AUDIO_BPS = 192_000
QUIETEST_LUFS = -70.0  # loudnorm's own floor: below it (digital silence is -inf) there is no level to set
# the ranges loudnorm takes its first pass's measurements in (a hot file can measure above 0 LUFS)
MEASURED_RANGES = {"input_i": (-99.0, 0.0), "input_tp": (-99.0, 99.0), "input_lra": (0.0, 99.0),
                   "input_thresh": (-99.0, 0.0), "target_offset": (-99.0, 99.0)}


def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def time_limit(duration_s: float | None) -> float:
    """How long one ffmpeg run may take before it is taken for hung: a minute, plus 30 s per second of
    media (a slow 4K encode on two cores runs at about a third of real time)."""
    return 60.0 + 30.0 * (duration_s or 600.0)


def measure_loudness(src: Path, duration_s: float | None) -> dict[str, Any]:
    """First loudnorm pass: measure, print JSON on stderr."""
    graph = ffmpeg.input(ffmpeg_url(src)).audio.filter("loudnorm", print_format="json", **LOUDNESS)
    cmd = ffmpeg.output(graph, "-", f="null").global_args("-nostdin", "-hide_banner").compile(cmd=ffmpeg_exe())
    stderr = _run(cmd, None, time_limit(duration_s), "measuring the loudness")
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if not found:
        raise FixFailed("measuring the loudness failed: ffmpeg printed no measurement")
    return dict(json.loads(found.group(0)))


def usable_loudness(measured: dict[str, Any]) -> dict[str, float] | None:
    """The first pass's measurements as the second pass takes them (each within loudnorm's range), or
    None when the sound is silent or almost (integrated loudness under QUIETEST_LUFS, or -inf): its
    level is then left as recorded, since raising silence to speech level only raises its noise."""
    try:
        values = {k: float(measured[k]) for k in MEASURED_RANGES}
    except (KeyError, TypeError, ValueError):
        return None
    if not math.isfinite(values["input_i"]) or values["input_i"] < QUIETEST_LUFS:
        return None
    clamped = {}
    for key, (low, high) in MEASURED_RANGES.items():
        value = values[key]
        clamped[key] = min(high, max(low, value if math.isfinite(value) else (low if value < 0 else high)))
    return clamped


def video_bitrate(facts: VideoFacts, max_bytes: int | None) -> int | None:
    """A video bitrate that lands the file under ``max_bytes`` (10 % to spare for the container and
    the encoder's overshoot), or None to encode at constant quality."""
    if max_bytes is None or not facts.duration_s:
        return None
    audio = AUDIO_BPS if facts.has_audio else 0
    return max(50_000, int(max_bytes * 8 * 0.9 / facts.duration_s) - audio)


MIN_BITS_PER_PIXEL = 0.05  # below this per pixel per frame, H.264 smears; a smaller picture looks better
MIN_SHORT_SIDE = 1080  # never downscale below what the Phoenix-4 rules require


def downscaled_size(facts: VideoFacts, fps: int, bitrate: int | None) -> tuple[int, int] | None:
    """A smaller picture when the size limit leaves too few bits for this one; never under 1080 on
    the short side (display orientation), never upscaled. None: keep the size."""
    if bitrate is None:
        return None
    short = min(facts.width, facts.height)
    if short <= MIN_SHORT_SIDE or bitrate / (facts.width * facts.height * fps) >= MIN_BITS_PER_PIXEL:
        return None
    scale = max(MIN_SHORT_SIDE / short, (bitrate / (MIN_BITS_PER_PIXEL * fps * facts.width * facts.height)) ** 0.5)
    if scale >= 1:
        return None
    return (round(facts.width * scale / 2) * 2, round(facts.height * scale / 2) * 2)


def reencode(src: Path, dst: Path, facts: VideoFacts, *, fps: int, loudnorm: bool, max_bytes: int | None,
             progress: Callable[[float], None] | None = None) -> list[str]:
    """Write ``dst``; what the user should know of it (notes)."""
    notes: list[str] = []
    source = ffmpeg.input(ffmpeg_url(src))
    video = source.video.filter("fps", fps=fps)
    smaller = downscaled_size(facts, fps, video_bitrate(facts, max_bytes))
    if smaller is not None:
        video = video.filter("scale", smaller[0], smaller[1])
    elif facts.width % 2 or facts.height % 2:  # H.264 in 4:2:0 needs even sides: one row or column goes
        video = video.filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
    streams = [video]
    kwargs: dict[str, Any] = {"vcodec": "libx264", "pix_fmt": "yuv420p", "preset": "medium",
                              "movflags": "+faststart", "f": "mp4", "map_metadata": -1}
    bitrate = video_bitrate(facts, max_bytes)
    if bitrate is None:
        kwargs["crf"] = 18
    else:
        kwargs.update({"video_bitrate": bitrate, "maxrate": int(bitrate * 1.2), "bufsize": int(bitrate * 2)})
    if facts.has_audio:
        audio = source.audio
        if loudnorm:
            measured = measure_loudness(src, facts.duration_s)
            m = usable_loudness(measured)
            if m is None:
                notes.append(f"the sound is silent or almost (integrated loudness {measured.get('input_i')} LUFS): "
                             "its level was left as recorded; check that the microphone was on and not muted")
            else:
                audio = audio.filter("loudnorm", linear="true", measured_I=m["input_i"], measured_TP=m["input_tp"],
                                     measured_LRA=m["input_lra"], measured_thresh=m["input_thresh"],
                                     offset=m["target_offset"], **LOUDNESS)
        streams.append(audio)
        kwargs.update({"acodec": "aac", "audio_bitrate": AUDIO_BPS, "ar": 48000})
    out = ffmpeg.output(*streams, ffmpeg_url(dst), **kwargs).overwrite_output()
    cmd = out.global_args("-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1").compile(cmd=ffmpeg_exe())
    _run(cmd, progress, time_limit(facts.duration_s), "ffmpeg")
    return notes


def _run(cmd: list[str], progress: Callable[[float], None] | None, limit_s: float, what: str) -> str:
    """Run ffmpeg; returns its stderr. stderr goes to a temporary file, not a pipe, so however much
    ffmpeg complains it never blocks on a full pipe; a watchdog kills it after ``limit_s``; an error
    or Ctrl-C kills it too (the caller removes the partial output)."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, stdin=subprocess.DEVNULL, text=True,
                                errors="replace")
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            proc.kill()

        watchdog = threading.Timer(limit_s, expire)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("out_time_us=") and progress is not None and line.strip()[12:].isdigit():
                    progress(int(line.strip()[12:]) / 1e6)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            watchdog.cancel()
        err_file.seek(0)
        stderr = err_file.read()
    if timed_out.is_set():
        raise FixFailed(f"{what} took longer than {limit_s:.0f} s and was stopped; no output was written")
    if code != 0:
        raise FixFailed(f"{what} failed: {(stderr.strip().splitlines() or ['no message'])[-1]}")
    return stderr
