"""Rules about the audio track (the stream itself; speech and loudness come with audio analysis)."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.facts import VideoFacts


@rule("audio.present", kind="video")
def present(facts: VideoFacts) -> Verdict:
    """The video has an audio track.

    Training needs your voice: the speaking segment's audio trains lip-sync and, for new faces, the
    voice itself. Record with the camera's or computer's built-in microphone switched on.
    """
    if facts.has_audio:
        return passed(f"audio track present ({facts.audio_codec})", True, True)
    return failed("the video has no audio track", False, True)


@rule("audio.codec", kind="video")
def codec(facts: VideoFacts, *, allowed: list[str]) -> Verdict:
    """The audio track is AAC.

    Tavus documents MP4 with H.264 video and AAC audio. Re-encode the audio only:
    ``ffmpeg -i in.mp4 -c:v copy -c:a aac -b:a 192k out.mp4``.
    """
    if not facts.has_audio or facts.audio_codec is None:
        return skipped("no audio track to check (see audio.present)")
    expected = [c.upper() for c in allowed]
    shown = facts.audio_codec.upper()
    if facts.audio_codec in allowed:
        return passed(f"audio codec is {shown}", shown, expected)
    return failed(f"audio codec is {shown}; Tavus expects {' or '.join(expected)}", shown, expected)
