"""From a file's findings to a fix plan: what can be repaired mechanically, and what needs a new
recording or photo. Pure: facts and findings in, a plan out."""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.model.facts import ImageFacts, VideoFacts
from preflight.model.report import Finding

# Rules a re-encode to H.264 + AAC in MP4 at a constant frame rate, upright, repairs.
VIDEO_REENCODE = {"video.codec", "container.format", "video.vfr", "audio.codec", "file.extension",
                  "file.size", "video.stream_changes", "file.decodable"}
AUDIO_LEVEL = {"audio.loudness"}
IMAGE_NORMALISE = {"image.format", "image.alpha", "image.color_mode", "image.animated", "image.exif",
                   "file.extension", "file.size"}
IMAGE_REFRAME = {"face.centered", "face.head_in_frame", "face.size"}


@dataclass(frozen=True)
class Plan:
    kind: str
    steps: list[str] = field(default_factory=list)  # what will be done, for people
    fixes: set[str] = field(default_factory=set)  # the failing rules the steps address
    unfixable: list[Finding] = field(default_factory=list)  # failures no fix covers
    normalise_loudness: bool = False
    reframe: bool = False

    @property
    def empty(self) -> bool:
        return not self.steps


def output_fps(facts: VideoFacts) -> int:
    """The source's own rate, made constant. A clip under 25 fps keeps its rate: duplicating frames
    would pass video.fps without adding a single real frame, so that stays a recording problem."""
    nominal = facts.fps_nominal or facts.fps or 30.0
    return round(nominal) if round(nominal) >= 25 else round(facts.fps or nominal)


def video_plan(facts: VideoFacts, failing: list[Finding]) -> Plan:
    ids = {f.rule for f in failing}
    fixes = ids & (VIDEO_REENCODE | AUDIO_LEVEL)
    unfixable = [f for f in failing if f.rule not in fixes]
    steps: list[str] = []
    if fixes:
        steps.append(f"re-encode to H.264 + AAC in MP4 (faststart) at a constant {output_fps(facts)} fps")
        if facts.rotation:
            steps.append(f"turn the picture upright (stored rotated by {facts.rotation}°)")
        if "file.size" in ids:
            steps.append("choose a bitrate that lands under the size limit (and, if that leaves too few bits, "
                         "a smaller picture, never under 1080 px on the short side)")
        if "audio.loudness" in ids and facts.has_audio:
            steps.append("normalise loudness to -16 LUFS (two-pass loudnorm)")
    return Plan("video", steps, fixes, unfixable, normalise_loudness="audio.loudness" in fixes)


def image_plan(facts: ImageFacts, failing: list[Finding]) -> Plan:
    ids = {f.rule for f in failing}
    reframe = ids & IMAGE_REFRAME if facts.faces is not None and len(facts.faces) == 1 else set()
    fixes = (ids & IMAGE_NORMALISE) | reframe
    unfixable = [f for f in failing if f.rule not in fixes]
    steps: list[str] = []
    if fixes:
        if facts.exif_orientation not in (None, 1):
            steps.append("apply the EXIF orientation")
        if facts.animated:
            steps.append("keep the first frame only")
        if facts.has_alpha:
            steps.append("flatten transparency onto white")
        steps.append("save as 8-bit RGB JPEG (quality 95)")
        if reframe:
            steps.append("crop or pad to a centred head-and-shoulders framing around the face")
    return Plan("image", steps, fixes, unfixable, reframe=bool(reframe))
