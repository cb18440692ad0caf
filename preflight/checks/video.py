"""Rules about the video stream: codec, duration, frame rate, resolution, timing, consistency."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.model.facts import VideoFacts
from preflight.model.units import clock, num

_CODECS = {"h264": "H.264", "hevc": "HEVC (H.265)", "vp8": "VP8", "vp9": "VP9", "av1": "AV1",
           "mpeg4": "MPEG-4 Part 2", "mpeg1video": "MPEG-1", "mpeg2video": "MPEG-2", "prores": "ProRes"}


def codec_name(codec: str) -> str:
    return _CODECS.get(codec, codec)


@rule("video.codec", kind="video")
def codec(facts: VideoFacts, *, allowed: list[str]) -> Verdict:
    """The video stream is H.264.

    Tavus requires H.264 for all uploads (``video_codec``). iPhones record HEVC by default: set
    Camera ▸ Formats ▸ Most Compatible, or re-encode:
    ``ffmpeg -i in.mov -c:v libx264 -crf 18 -c:a aac out.mp4``.
    """
    shown, expected = codec_name(facts.video_codec), [codec_name(c) for c in allowed]
    if facts.video_codec in allowed:
        return passed(f"video codec is {shown}", shown, expected)
    return failed(f"video codec is {shown}; Tavus requires {' or '.join(expected)}", shown, expected)


@rule("video.duration", kind="video")
def duration(
    facts: VideoFacts, *, min_s: float, recommended_min_s: float, recommended_max_s: float
) -> Verdict:
    """The video is long enough for the training structure.

    Below the minimum, training fails with ``video_duration``. The recommended range (when set) is
    guidance: too short for the full speaking + listening structure, or far longer than it needs.
    """
    if facts.duration_s is None:
        return skipped("the file does not state its duration")
    d, expected = facts.duration_s, f">= {num(min_s)} s"
    if d < min_s:
        return failed(f"video lasts {clock(d)}, {min_s - d:.1f} s short of the {num(min_s)} s minimum", d, expected)
    if recommended_min_s and d < recommended_min_s:
        return failed(f"video lasts {clock(d)}; {num(recommended_min_s)} s or more is recommended",
                      d, f">= {num(recommended_min_s)} s", soft=True)
    if recommended_max_s and d > recommended_max_s:
        return failed(f"video lasts {clock(d)}, far longer than the structure needs "
                      f"(about {num(recommended_max_s)} s at most)", d, f"<= {num(recommended_max_s)} s", soft=True)
    return passed(f"video lasts {clock(d)} (minimum {num(min_s)} s)", d, expected)


@rule("video.fps", kind="video")
def fps(facts: VideoFacts, *, min_fps: float) -> Verdict:
    """The average frame rate is at least 25 fps.

    Tavus rejects training and consent videos under 25 fps (``video_fps``). Record at 30 fps; a
    low-light phone or webcam may drop frames, so add light.
    """
    if facts.fps is None:
        return skipped("the stream does not state a frame rate")
    expected = f">= {num(min_fps)} fps"
    if facts.fps < min_fps:
        return failed(f"average frame rate is {num(facts.fps)} fps, below the {num(min_fps)} fps minimum",
                      facts.fps, expected)
    return passed(f"average frame rate is {num(facts.fps)} fps", facts.fps, expected)


@rule("video.resolution", kind="video")
def resolution(facts: VideoFacts, *, min_short_side: int, recommended_short_side: int) -> Verdict:
    """The picture's short side is at least the model's minimum (1080 px for Phoenix-4).

    Low resolution fails or degrades training (``quality_issue_detected``: "input video quality under
    720p"). Record in 1080p or 4K; upscaling a small video does not help.
    """
    short = min(facts.width, facts.height)
    shown = f"{facts.width}x{facts.height}"
    expected = f"short side >= {min_short_side}"
    if short < min_short_side:
        return failed(f"resolution is {shown}: the short side is {short} px, "
                      f"{min_short_side - short} px below the {min_short_side} px minimum", shown, expected)
    if recommended_short_side and short < recommended_short_side:
        return failed(f"resolution is {shown}; {recommended_short_side} px on the short side is recommended",
                      shown, f"short side >= {recommended_short_side}", soft=True)
    return passed(f"resolution is {shown} (display orientation)", shown, expected)


@rule("video.vfr", kind="video")
def vfr(facts: VideoFacts, *, max_irregular_share: float) -> Verdict:
    """Frames arrive at a constant rate (no variable frame rate).

    Phones record variable frame rate, which drifts lip-sync and can push the average under 25 fps.
    Convert to constant frame rate: ``ffmpeg -i in.mp4 -fps_mode cfr -r 30 out.mp4``.
    """
    scan = facts.scan
    if scan is None or scan.irregular_interval_share is None:
        return skipped("frame timing not measured (quick mode, or fewer than two frames)")
    share = scan.irregular_interval_share
    detail = (f"{share:.1%} of frame intervals are off the median {num(scan.interval_median_ms or 0)} ms "
              f"(range {num(scan.interval_min_ms or 0)}–{num(scan.interval_max_ms or 0)} ms)")
    expected = f"<= {max_irregular_share:.1%} irregular"
    if share > max_irregular_share:
        return failed(f"variable frame rate: {detail}", share, expected)
    return passed(f"constant frame rate: {detail}", share, expected)


@rule("video.stream_changes", kind="video")
def stream_changes(facts: VideoFacts) -> Verdict:
    """Resolution and frame rate stay the same for the whole video.

    A mid-stream change means the file was spliced or edited (``video_editing_detected``), or the
    camera switched modes. Record one continuous take.
    """
    scan = facts.scan
    if scan is None:
        return skipped("not decoded end to end (quick mode)")
    changes = [(c.at_s, f"resolution {c.before} → {c.after}") for c in scan.resolution_changes]
    changes += [(c.at_s, f"frame rate {c.before} → {c.after}") for c in scan.fps_changes]
    if not changes:
        return passed("resolution and frame rate are constant", 0, 0)
    listed = ", ".join(f"{what} at {clock(at)}" for at, what in sorted(changes)[:5])
    more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
    return failed(f"the stream changes mid-way: {listed}{more}", len(changes), 0)
