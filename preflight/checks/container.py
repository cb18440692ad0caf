"""Rules about the container format."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule
from preflight.model.facts import VideoFacts

_NAMES = {"mp4": "MP4", "mov": "QuickTime MOV", "webm": "WebM", "matroska": "Matroska (MKV)",
          "avi": "AVI", "mpeg": "MPEG program stream"}


@rule("container.format", kind="video")
def container_format(
    facts: VideoFacts, *, allowed: list[str], tolerated: list[str], tolerated_note: str
) -> Verdict:
    """The video is in a container Tavus accepts (MP4).

    The error table says training files must be .mp4 (``video_format``); the upload guide also lists
    WebM. Containers in ``tolerated`` are reported as a warning with the reason, others fail.
    Remux to MP4 without re-encoding: ``ffmpeg -i in.mov -c copy out.mp4`` (H.264/AAC only).
    """
    name = _NAMES.get(facts.container, facts.container)
    expected = [_NAMES.get(c, c) for c in allowed]
    if facts.container in allowed:
        return passed(f"container is {name}", name, expected)
    if facts.container in tolerated:
        note = f": {tolerated_note}" if tolerated_note else ""
        return failed(f"container is {name}, which Tavus may not accept{note}", name, expected, soft=True)
    return failed(f"container is {name}; Tavus accepts {' or '.join(expected)}", name, expected)
