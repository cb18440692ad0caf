"""Build small videos and images on the fly, with exactly the property a test needs."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoSpec:
    width: int = 320
    height: int = 240
    fps: int = 25
    seconds: float = 2.0
    codec: str = "libx264"
    container: str | None = None  # ffmpeg muxer name; None: from the extension
    audio: str | None = "aac"
    rotation: int = 0
    faststart: bool = True
    # Frame times in seconds; overrides fps/seconds for variable frame rate tests.
    frame_times: tuple[float, ...] | None = None
    tone: float = 0.1  # amplitude of the 220 Hz test tone
    sample_rate: int = 48000
    layout: str = "mono"  # or "stereo": the same tone on both channels


def make_video(path: Path, spec: VideoSpec = VideoSpec()) -> Path:
    options = {"movflags": "+faststart"} if spec.faststart and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), "w", format=spec.container, options=options) as out:
        vs = out.add_stream(spec.codec, rate=spec.fps)
        vs.width, vs.height = spec.width, spec.height
        vs.pix_fmt = "yuv420p"
        if spec.codec == "libx264":
            vs.options = {"preset": "ultrafast"}
        elif spec.codec == "libx265":
            vs.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        if spec.rotation:
            vs.set_display_rotation(spec.rotation)
        times = spec.frame_times or tuple(i / spec.fps for i in range(round(spec.seconds * spec.fps)))
        if spec.frame_times is not None:
            vs.codec_context.time_base = Fraction(1, 1000)
            vs.time_base = Fraction(1, 1000)
        audio = _audio_stream(out, spec.audio, spec.sample_rate, spec.layout) if spec.audio else None
        _encode_video(out, vs, times, spec)
        if audio is not None:
            _encode_audio(out, audio, times[-1] + 1 / spec.fps, spec.tone, spec.sample_rate, spec.layout)
    return path


def _encode_video(out: av.container.OutputContainer, vs: av.VideoStream, times: tuple[float, ...],
                  spec: VideoSpec) -> None:
    img = np.zeros((spec.height, spec.width, 3), np.uint8)
    img[..., 1] = np.linspace(0, 255, spec.width, dtype=np.uint8)
    base = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    for i, t in enumerate(times):
        frame = base
        frame.pts = round(t * 1000) if spec.frame_times is not None else i
        if spec.frame_times is not None:
            frame.time_base = Fraction(1, 1000)
        for packet in vs.encode(frame):
            out.mux(packet)
    for packet in vs.encode():
        out.mux(packet)


AUDIO_RATE = 48000


def _audio_stream(out: av.container.OutputContainer, codec: str, rate: int = AUDIO_RATE,
                  layout: str = "mono") -> av.AudioStream:
    stream = out.add_stream(codec, rate=rate)
    stream.layout = layout
    return stream


def _encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float,
                  amplitude: float = 0.1, rate: int = AUDIO_RATE, layout: str = "mono") -> None:
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    channels = 2 if layout == "stereo" else 1
    planar = fmt.endswith("p")
    n = int(seconds * rate)
    tone = amplitude * np.sin(2 * np.pi * 220 * np.arange(n) / rate)
    samples = (tone * 32767).astype(np.int16) if fmt.startswith("s16") else tone.astype(np.float32)
    size = stream.codec_context.frame_size or 1024
    for start in range(0, n - size + 1, size):
        piece = samples[start:start + size]
        shaped = np.tile(piece, (channels, 1)) if planar else np.repeat(piece, channels).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(shaped, format=fmt, layout=layout)
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def service_media(folder: Path) -> Path:
    """What the service's tests send: the sample headshot and cutout (copied from sample_media/) and a
    2 s clip, in ``folder``."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    shutil.copy(repo / "sample_media" / "headshot.jpg", folder / "headshot.jpg")
    shutil.copy(repo / "sample_media" / "cutout-400x300.png", folder / "cutout.png")
    make_video(folder / "clip.mp4", VideoSpec(seconds=2))
    return folder


def make_image(path: Path, size: tuple[int, int] = (640, 640), mode: str = "RGB", fmt: str | None = None,
               exif_orientation: int | None = None, **save: object) -> Path:
    w, h = size
    gradient = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    im = Image.fromarray(np.stack([gradient, gradient[::-1], np.full_like(gradient, 128)], -1), "RGB")
    if mode == "RGBA":
        im = im.convert("RGBA")
        alpha = np.full((h, w), 255, np.uint8)
        alpha[: h // 4] = 0
        im.putalpha(Image.fromarray(alpha))
    elif mode != "RGB":
        im = im.convert(mode)
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        save["exif"] = exif
    im.save(path, format=fmt, **save)
    return path


def make_animated_png(path: Path, size: tuple[int, int] = (600, 600), frames: int = 3) -> Path:
    ims = [Image.new("RGB", size, (i * 60, 100, 200)) for i in range(frames)]
    ims[0].save(path, format="PNG", save_all=True, append_images=ims[1:], duration=100)
    return path


def make_png_bomb(path: Path, side: int = 40_000) -> Path:
    """A valid 1-bit PNG that declares side×side pixels but weighs a few hundred kilobytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def decode_audio(path: Path, rate: int = 16000) -> np.ndarray:
    """Any audio file as mono float32 at ``rate``."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    return np.concatenate(chunks).astype(np.float32)


def make_clip(path: Path, frame_at, n_frames: int, size: tuple[int, int], audio: np.ndarray | None,
              fps: int = 25, rate: int = 16000, noise: int = 3, gop: int | None = None) -> Path:
    """An H.264 + AAC MP4 from ``frame_at(i) -> RGB array`` (with a little camera noise) and mono samples;
    ``gop``: a key frame every that many frames exactly."""
    rng = np.random.default_rng(7)
    options = {"preset": "ultrafast", **({"g": str(gop), "keyint_min": str(gop)} if gop else {})}
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=fps, options=options)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        stream = None
        if audio is not None:
            stream = out.add_stream("aac", rate=rate)
            stream.layout = "mono"
        for i in range(n_frames):
            img = frame_at(i)
            if noise:
                img = np.clip(img.astype(np.int16) + rng.integers(-noise, noise + 1, img.shape[:2] + (1,)), 0, 255)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if stream is not None and audio is not None:
            size_ = stream.codec_context.frame_size or 1024
            for start in range(0, len(audio) - size_ + 1, size_):
                chunk = np.ascontiguousarray(audio[start:start + size_].reshape(1, -1))
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = rate, start
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return path
