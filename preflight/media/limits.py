"""What preflight agrees to decode, checked from the probe before any frame is decoded.

A file can declare anything in a few bytes: 16000x16000 frames, a thousand streams, ten hours. These
limits refuse such a file (exit 2, "a possible decompression bomb") instead of letting the decoder
allocate for it, and they bound what one analysis can cost. Each is far beyond any real training
video: Tavus takes at most 750 MB, and a phone records at most 8K.

The decoder is also told the pixel limit itself (FFmpeg's ``max_pixels``), so a stream that changes
to a huge size mid-way is refused frame by frame instead of allocated.

Memory ceiling of one analysis (documented in the README): the decoder's frame threads
(``DECODER_THREADS``) each hold a few frames of at most ``MAX_FRAME_PIXELS`` (8K 4:2:0 is 50 MB a
frame), the sampled frames wait in a queue of ``PICTURE_QUEUE`` at the working size (under 1 MB
each), and FFmpeg's messages are kept as a count plus the first ``KEPT_LOG_MESSAGES``.
"""

from __future__ import annotations

import os

from preflight.errors import UnusableInput

MAX_FRAME_SIDE = 8192  # px, either side of the coded frame (8K UHD is 7680x4320)
MAX_FRAME_PIXELS = 7680 * 4320  # 33.2 Mpx: 8K UHD
MAX_DURATION_S = 3 * 3600.0  # a training video is about a minute; no real one is hours long
MAX_STREAMS = 32  # a phone clip has 2-6 (video, audio, metadata, timecode)
MAX_AUDIO_CHANNELS = 16
MAX_FILE_BYTES = 4 * 1024**3  # 4 GiB: over five times Tavus's 750 MB limit
DECODER_THREADS = max(1, min(os.cpu_count() or 1, 8))
PICTURE_QUEUE = 4
KEPT_LOG_MESSAGES = 5


def decoder_options() -> dict[str, str]:
    """FFmpeg codec options that bound what the decoder allocates."""
    return {"max_pixels": str(MAX_FRAME_PIXELS)}


def check_file_size(size_bytes: int) -> None:
    if size_bytes > MAX_FILE_BYTES:
        raise UnusableInput(
            f"is {size_bytes / 1e9:.1f} GB, over the {MAX_FILE_BYTES / 1e9:.1f} GB preflight reads "
            "(Tavus accepts under 750 MB); export a shorter or more compressed copy")


def check_declared(width: int, height: int, duration_s: float | None, streams: int,
                   audio_channels: int | None) -> None:
    """Refuse what the probe says a file holds when it is beyond any real training video."""
    if width > MAX_FRAME_SIDE or height > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
        raise UnusableInput(
            f"declares {width}x{height} frames, more than the {MAX_FRAME_PIXELS / 1e6:.1f} Mpx "
            f"(at most {MAX_FRAME_SIDE} px a side) preflight decodes; refusing a possible decompression "
            "bomb (a real camera records at most 8K)")
    if duration_s is not None and duration_s > MAX_DURATION_S:
        raise UnusableInput(
            f"declares a duration of {duration_s / 3600:.1f} h, over the {MAX_DURATION_S / 3600:.0f} h "
            "preflight decodes; a training video is about one minute: trim it")
    if streams > MAX_STREAMS:
        raise UnusableInput(f"declares {streams} streams, more than the {MAX_STREAMS} preflight reads; "
                            "it is damaged or not a camera recording")
    if audio_channels is not None and audio_channels > MAX_AUDIO_CHANNELS:
        raise UnusableInput(f"declares {audio_channels} audio channels, more than the {MAX_AUDIO_CHANNELS} "
                            "preflight decodes; export the audio as stereo or mono")
