"""Read a video's metadata in-process with PyAV: container, streams, rotation. Fast on any file size."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import av.error

from preflight.remote import redact
from preflight.errors import UnusableInput
from preflight.model.facts import VideoFacts
from preflight.media import limits
from preflight.media.isobmff import declared
from preflight.remote.source import Remote

Source = Path | Remote  # a local file, or a remote one (preflight/remote/source.py)
# FFmpeg's HTTP reader: reconnect after a dropped connection (a long full check streams for minutes).
_HTTP_OPTIONS = {"reconnect": "1", "reconnect_streamed": "1", "reconnect_delay_max": "5",
                 "user_agent": "preflight"}
# Reading a few places (the probe, --quick's key frames): ask for 1 MiB at a time. Without it FFmpeg asks
# for "the rest of the file" at each seek and the server sends until the connection closes (measured on
# a 25 MB clip over loopback: 34 MB sent for 8 seeks; with it, 9.4 MB).
_RANGED = {"request_size": str(1 << 20)}

# ffmpeg's demuxer names, to the container a user knows. mov/mp4 and matroska/webm share a demuxer
# and are told apart by the brand or the EBML doctype below.
_CONTAINERS = {"avi": "avi", "mpeg": "mpeg", "mpegts": "mpegts", "flv": "flv", "asf": "asf"}


def ffmpeg_url(path: Source) -> str:
    """``path`` as FFmpeg must read it: a local file always through its ``file:`` protocol, so a name
    such as ``concat:a.mp4``, ``pipe:0`` or ``-i`` is a file's name, never a protocol or an option; a
    remote file by its http(s) URL (FFmpeg reads it by byte ranges)."""
    if isinstance(path, Remote):
        return "file:" + os.path.abspath(path.copy) if path.copy is not None else path.url
    return "file:" + os.path.abspath(path)


def open_container(path: Source, *, whole: bool = False) -> av.container.InputContainer:
    """Open ``path`` with PyAV, turning FFmpeg's errors into one readable line. Metadata in any
    encoding is read: undecodable bytes are replaced, not raised. A remote file is read in 1 MiB
    ranges, or, with ``whole`` (the full decode), as one stream."""
    remote = isinstance(path, Remote) and path.copy is None
    # FFmpeg's stream probe decodes a frame of each stream to learn its format: the decoders it opens are
    # given the pixel limit too (``options`` reach every stream, also those a format only finds while
    # probing), so a 16000x16000 frame is refused there instead of being allocated.
    try:
        if remote:
            return av.open(ffmpeg_url(path), mode="r", metadata_errors="replace", timeout=(30.0, 60.0),
                           container_options=_HTTP_OPTIONS if whole else {**_HTTP_OPTIONS, **_RANGED},
                           options=limits.decoder_options())
        return av.open(ffmpeg_url(path), mode="r", metadata_errors="replace", options=limits.decoder_options())
    except av.error.FFmpegError as err:
        reason = (getattr(err, "strerror", None) or str(err)).rstrip(".")
        if remote:
            raise UnusableInput(f"could not be read from its link ({redact.text(reason)})") from None
        raise UnusableInput(
            f"is not a readable video or image ({reason}); it may be truncated, corrupt or not media"
        ) from None
    except OSError as err:
        raise UnusableInput(f"cannot be read: {err.strerror or err}") from None


def video_stream(container: av.container.InputContainer) -> av.VideoStream:
    """The first video stream whose codec FFmpeg knows; UnusableInput when there is none."""
    usable = [s for s in container.streams.video if s.codec_context is not None]
    if usable:
        return usable[0]
    if container.streams.video:
        raise UnusableInput("its video stream's codec cannot be read (a damaged header, or a codec FFmpeg "
                            "does not know); export the recording again as H.264 MP4")
    what = "an audio-only file" if container.streams.audio else "no audio or video either"
    raise UnusableInput(f"has no video stream ({what}); expected a training video or image")


def audio_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    """The first audio stream whose codec FFmpeg knows, if any (an unreadable one counts as none)."""
    return next((s for s in container.streams.audio if s.codec_context is not None), None)


def container_name(format_name: str, major_brand: str | None, head: bytes) -> str:
    names = format_name.split(",")
    if "mp4" in names or "mov" in names:
        return "mov" if (major_brand or "qt").strip() == "qt" else "mp4"
    if "matroska" in names or "webm" in names:
        return "webm" if b"webm" in head[:64] else "matroska"
    return _CONTAINERS.get(names[0], names[0])


def probe_video(path: Source, size_bytes: int, head: bytes) -> VideoFacts:
    with probed(path, size_bytes, head) as (facts, _):
        return facts


@contextmanager
def probed(path: Source, size_bytes: int, head: bytes) -> Iterator[tuple[VideoFacts, av.container.InputContainer]]:
    """The video's facts, and its container still open for a reader that goes on (quick mode's key
    frames: one open of the file instead of two)."""
    limits.check_file_size(size_bytes)
    local = path.copy if isinstance(path, Remote) else path
    header_rotation = None
    if local is not None:  # what the MP4/MOV header declares, before FFmpeg opens (and probes) anything
        said = declared(local)
        for width, height in said.sizes:
            limits.check_declared(width, height, None, 1, None)
        header_rotation = said.rotation
    with open_container(path) as container:
        yield _facts(path, size_bytes, head, container, header_rotation), container


def _facts(path: Source, size_bytes: int, head: bytes, container: av.container.InputContainer,
           header_rotation: int | None) -> VideoFacts:
    vs = video_stream(container)
    cc = vs.codec_context
    if not cc.width or not cc.height:  # the probe's decoder refused the frame (over max_pixels) or it is damaged
        raise UnusableInput(f"its frame size cannot be read within the {limits.MAX_FRAME_PIXELS / 1e6:.1f} Mpx "
                            "limit (frames larger than 8K, or a damaged header); refused before decoding")
    audio = audio_stream(container)
    limits.check_declared(cc.width, cc.height, _container_duration(container) or _stream_duration(vs),
                          len(container.streams), audio.codec_context.channels if audio else None)
    # the header's rotation when it says it plainly (MP4, MOV: a first frame's decode less, 20-40 ms on
    # a phone's 1080x1920), else the first decoded frame's
    rotation = header_rotation if header_rotation is not None else _first_frame_rotation(container, vs)
    major_brand = container.metadata.get("major_brand")
    swap = rotation in (90, 270)
    return VideoFacts(
        kind="video",
        size_bytes=size_bytes,
        extension=path.suffix.lower(),
        container=container_name(container.format.name, major_brand, head),
        format_name=container.format.name,
        major_brand=major_brand.strip() if major_brand else None,
        duration_s=_container_duration(container) or _stream_duration(vs),
        video_duration_s=_stream_duration(vs),
        bit_rate=container.bit_rate or None,
        video_codec=cc.name,
        width=cc.height if swap else cc.width,
        height=cc.width if swap else cc.height,
        coded_width=cc.width,
        coded_height=cc.height,
        rotation=rotation,
        pix_fmt=cc.format.name if cc.format else None,
        fps=_rate(vs.average_rate),
        fps_nominal=_rate(vs.base_rate),
        frame_count=vs.frames or None,
        vfr=None,
        has_audio=audio is not None,
        audio_codec=audio.codec_context.name if audio else None,
        audio_sample_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
        scan=None,
    )


def _rate(rate: Fraction | None) -> float | None:
    return round(float(rate), 3) if rate else None


def _container_duration(container: av.container.InputContainer) -> float | None:
    return round(container.duration / av.time_base, 3) if container.duration is not None else None


def _stream_duration(vs: av.VideoStream) -> float | None:
    if vs.duration is not None and vs.time_base is not None:
        return round(float(vs.duration * vs.time_base), 3)
    return None


def _first_frame_rotation(container: av.container.InputContainer, vs: av.VideoStream) -> int:
    """The display-matrix rotation. PyAV exposes it on decoded frames, so decode the first one."""
    vs.codec_context.options = limits.decoder_options()
    try:
        for frame in container.decode(vs):
            return int(round(frame.rotation)) % 360
    except av.error.FFmpegError:
        return 0  # undecodable from the start: the decode scan reports it
    return 0
