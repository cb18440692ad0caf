"""Decode a whole video once, end to end, and record where decoding broke and how frames are timed.

One pass: the demuxer feeds every packet of the first video and audio stream to its decoder (FFmpeg's
frame threads do the work); decoded frames are timed, and only the few a FrameSampler picks are
converted to pixels. Damage is counted from what the decoders report without a log: an exception,
or a frame they flag as corrupt (the damage they concealed). FFmpeg's log is deliberately not routed
to Python during the pass: a decoder thread that logs would wait for the GIL while the main thread,
holding it, waits for that decoder thread (a deadlock, seen on damaged HEVC when the decoder closes).

The loop filter (deblocking) is skipped: every slice is still parsed and reconstructed, so damage is
still found, at about 17 % less decoding time; sampled frames are only slightly blockier, which face
detection on a downscaled grey frame does not notice.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import av
import av.error
import av.logging

from preflight.model.facts import DecodeScan, StreamChange
from preflight.media import limits
from preflight.media.frames import FrameSampler
from preflight.media.probe import Source, audio_stream, open_container, video_stream

Progress = Callable[[float, float | None], None]  # (media seconds decoded, total seconds if known)

# An interval counts as irregular when it is this far from the median. Timestamp rounding in
# millisecond time bases (33/34 ms at 30 fps) stays well inside it; a phone's VFR jitter does not.
IRREGULAR_INTERVAL = 0.10
# A frame-rate change is a run of at least this many seconds at a rate this far from the previous one.
RATE_WINDOW_S = 1.0


@dataclass
class _Timeline:
    times: list[float] = field(default_factory=list)
    size: tuple[int, int] | None = None
    resolution_changes: list[StreamChange] = field(default_factory=list)
    reached: float = 0.0  # the latest time seen: spliced files restart their timestamps

    def add(self, t: float, width: int, height: int) -> None:
        self.times.append(t)
        self.reached = max(self.reached, t)
        if self.size is not None and (width, height) != self.size:
            before, after = f"{self.size[0]}x{self.size[1]}", f"{width}x{height}"
            self.resolution_changes.append(StreamChange(round(self.reached, 3), before, after))
        self.size = (width, height)


@dataclass
class _Errors:
    count: int = 0
    first: str | None = None
    first_at_s: float | None = None

    def add(self, message: str, at_s: float, count: int = 1) -> None:
        if self.first is None:
            self.first, self.first_at_s = message.strip().rstrip("."), round(at_s, 3)
        self.count += count


class AudioSink(Protocol):
    def add(self, frame: av.AudioFrame) -> None: ...


def scan_video(path: Source, progress: Progress | None = None, sampler: FrameSampler | None = None,
               audio: AudioSink | None = None) -> DecodeScan:
    timeline, errors = _Timeline(), _Errors()
    previous_level = av.logging.get_level()
    av.logging.set_level(None)  # no Python log callback from decoder threads: see the module's docstring
    try:
        with open_container(path, whole=True) as container:
            _decode_all(container, timeline, errors, progress, sampler, audio)
    finally:
        av.logging.set_level(previous_level)
    return _summarise(timeline, errors)


def _decode_all(
    container: av.container.InputContainer,
    timeline: _Timeline,
    errors: _Errors,
    progress: Progress | None,
    sampler: FrameSampler | None,
    audio: AudioSink | None,
) -> None:
    vs = video_stream(container)
    vs.thread_type = "AUTO"
    # One decoder thread per core: FFmpeg's automatic count (cores + 1) oversubscribes a small
    # machine; measured on 2 cores, 60 s of 1080p decodes in 2.4 s instead of 2.8 s.
    vs.thread_count = limits.DECODER_THREADS
    vs.codec_context.options = {"skip_loop_filter": "all", **limits.decoder_options()}
    heard = audio_stream(container)
    streams = [vs, *([heard] if heard is not None else [])]
    now = 0.0
    total = container.duration / av.time_base if container.duration else None
    for packet in _packets(container, streams, errors, lambda: now):
        if packet.pts is not None and packet.time_base is not None:
            now = max(now, packet.pts * _seconds(packet.time_base))
        try:
            for frame in packet.decode():
                if frame.is_corrupt:
                    errors.add(f"{packet.stream.codec_context.name}: damaged data (concealed by the decoder)",
                               frame.time if frame.time is not None else now)
                if packet.stream is vs and frame.time is not None:
                    timeline.add(frame.time, frame.width, frame.height)
                    if sampler is not None:
                        sampler.offer(frame, frame.time)
                elif audio is not None and isinstance(frame, av.AudioFrame):
                    audio.add(frame)
        except av.error.FFmpegError as err:
            errors.add(f"{packet.stream.codec_context.name}: {_reason(err)}", now)
        if progress is not None:
            progress(now, total)


def _packets(
    container: av.container.InputContainer,
    streams: list[av.stream.Stream],
    errors: _Errors,
    now: Callable[[], float],
) -> Iterator[av.Packet[Any]]:
    """Demux, ending (and recording the error) where the container itself cannot be read further."""
    demux = container.demux(streams)
    while True:
        try:
            packet = next(demux)
        except StopIteration:
            return
        except av.error.FFmpegError as err:
            errors.add(f"the container cannot be read past here ({_reason(err)})", now())
            return
        yield packet  # including the empty packets at the end, which flush the decoders


def _summarise(timeline: _Timeline, errors: _Errors) -> DecodeScan:
    times = sorted(timeline.times)
    intervals = [b - a for a, b in zip(times, times[1:]) if b > a]
    median = statistics.median(intervals) if intervals else None
    until = (times[-1] + (median or 0.0)) if times else 0.0
    irregular = None
    if median:
        irregular = sum(abs(i - median) > IRREGULAR_INTERVAL * median for i in intervals) / len(intervals)
    return DecodeScan(
        ok=errors.count == 0,
        frames=len(times),
        decoded_until_s=round(until, 3),
        errors=errors.count,
        first_error=errors.first,
        first_error_at_s=errors.first_at_s,
        interval_median_ms=_ms(median),
        interval_min_ms=_ms(min(intervals)) if intervals else None,
        interval_max_ms=_ms(max(intervals)) if intervals else None,
        irregular_interval_share=None if irregular is None else round(irregular, 4),
        resolution_changes=timeline.resolution_changes,
        fps_changes=_rate_changes(times),
    )


def _rate_changes(times: list[float]) -> list[StreamChange]:
    """Frame-rate changes, from the median frame interval of each one-second window."""
    changes: list[StreamChange] = []
    current: float | None = None
    for start, rate in _window_rates(times):
        if current is not None and abs(rate - current) > IRREGULAR_INTERVAL * current:
            changes.append(StreamChange(round(start, 3), f"{current:.2f} fps", f"{rate:.2f} fps"))
            current = rate
        current = current or rate
    return changes


def _window_rates(times: list[float]) -> Iterator[tuple[float, float]]:
    i = 0
    while i < len(times) - 2:
        start, j = times[i], i
        while j < len(times) and times[j] < start + RATE_WINDOW_S:
            j += 1
        window = [b - a for a, b in zip(times[i:j], times[i + 1 : j + 1]) if b > a]
        if len(window) >= 2:
            yield start, 1.0 / statistics.median(window)
        i = max(j, i + 1)


@functools.lru_cache(maxsize=16)
def _seconds(time_base: Fraction) -> float:
    """A time base as a float, once: Fraction arithmetic on every packet cost 2 % of a 1080p scan."""
    return float(time_base)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _reason(err: av.error.FFmpegError) -> str:
    return str(getattr(err, "strerror", None) or err).rstrip(".")

