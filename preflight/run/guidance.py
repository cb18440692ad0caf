"""Live guidance: the check's own face measures and rule functions on one camera frame.

The recorder sends a downscaled frame several times a second; it is measured by the video picture
analysis (``media/picture.py``: BlazeFace over the whole frame and in squares for small faces, the
landmark mesh for pose and lips). A sender's frames are a sequence (its ``stream``): the first is
measured as a video's first sample (the whole frame and the squares searched), the next ones as the
samples after it (the face followed by its landmarks; the whole frame searched when it is lost and
once a second, the squares every few seconds), and judged by the rule
set's face rules (``face.count``, ``face.size``, ``face.centered``, ``face.head_in_frame``,
``face.looking``, ``face.sharpness``, ``face.lighting``) with their thresholds from the rule file. One
frame has no duration, so the tolerances over time (a second face for under a second, a share of
samples turned away) are zero here. Lips: the lip opening against ``listening.lips_closed``'s
``max_lips``, for the listening part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from preflight.checks import RULES
from preflight.model.report import Outcome
from preflight.judge.engine import finding
from preflight.errors import UnusableInput
from preflight.model.facts import PictureFacts, VideoFacts
from preflight.model.report import Finding
from preflight.judge.ruleset import RuleConfig, RuleSet

FRAME_RULES = ("face.count", "face.size", "face.centered", "face.head_in_frame", "face.looking", "face.sharpness",
               "face.lighting")
_OVER_TIME = ("max_other_share", "min_span_s", "max_turned_share")  # tolerances a single frame cannot have
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_FRAME_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class Guidance:
    findings: list[Finding]
    faces: list[dict[str, float]]  # boxes, 0..1 of the frame, largest first
    lips: float | None  # the largest face's lip opening (share of the mouth's width)
    lips_closed: Finding | None
    width: int
    height: int
    scan: str = "deep"  # how the face was found: deep, full (whole-frame searches), tracked (followed)
    follow: dict[str, Any] = field(default_factory=dict)  # what the sequence's next frame takes over

    def to_dict(self) -> dict[str, Any]:
        def short(f: Finding) -> dict[str, Any]:
            return {"rule": f.rule, "outcome": f.outcome, "severity": f.severity, "message": f.message, "fix": f.fix}
        return {"findings": [short(f) for f in self.findings], "faces": self.faces, "lips": self.lips,
                "lips_closed": short(self.lips_closed) if self.lips_closed is not None else None,
                "width": self.width, "height": self.height, "scan": self.scan}


def decode(jpeg: bytes) -> Any:
    """The frame as a grey picture; UnusableInput for anything that is not a JPEG or PNG of a sane size."""
    import io

    import cv2
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not jpeg or len(jpeg) > MAX_FRAME_BYTES:
        raise UnusableInput(f"a guidance frame is a JPEG of at most {MAX_FRAME_BYTES // 2**20} MiB")
    if not (jpeg[:3] == b"\xff\xd8\xff" or jpeg[:8] == b"\x89PNG\r\n\x1a\n"):
        raise UnusableInput("a guidance frame is a JPEG (or PNG) picture")
    try:  # the declared size, from the header alone: nothing larger than a frame is decoded
        with Image.open(io.BytesIO(jpeg)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError):
        raise UnusableInput("the guidance frame does not decode") from None
    if width * height > MAX_FRAME_PIXELS:
        raise UnusableInput("a guidance frame is at most 1920x1080; send a downscaled frame (640x360 is enough)")
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.size == 0:
        raise UnusableInput("the guidance frame does not decode")
    return gray


def judge_frame(jpeg: bytes, ruleset: RuleSet, follow: dict[str, Any] | None = None,
                t: float = 0.0) -> Guidance:
    """The frame judged, with what the next frame of the same sequence takes over (its ``follow``: the
    face's box and framing, the other faces, when the next whole-frame searches are due; pass None
    for a first frame). A sequence's frames are a video's samples: the face is followed by its landmarks around
    its last box, and the whole frame is searched only when it is lost, and every ``full_scan_every_s``
    (the squares every ``deep_scan_every_s``), as the video analysis does."""
    import cv2

    from preflight.media.picture import PictureAnalyzer

    gray = decode(jpeg)
    height, width = gray.shape[:2]
    settings = replace(ruleset.analysis, video_detector="blazeface")
    budget = settings.work_pixels
    if width * height > budget:  # the video analysis works at its pixel budget (640x360): so does this
        scale = (budget / (width * height)) ** 0.5
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    carried = follow if follow and follow.get("shape") == [width, height] else None
    if carried is not None and carried.get("main") is None:  # no face followed: look for one on every frame
        carried = {**carried, "next_full": t}
    analyzer = PictureAnalyzer.resumed(settings, carried, t)
    analyzer.add(t, gray)
    picture = analyzer.finish()
    facts = _frame_facts(width, height, picture)
    configs = {c.id: c for c in ruleset.rules}
    findings = [finding(facts, _one_frame(configs[rule])) for rule in FRAME_RULES if rule in configs]
    sample = picture.samples[0]
    lips = sample.landmarks.lips if sample.landmarks is not None else None
    lips_closed = _lips_finding(lips, configs.get("listening.lips_closed"))
    faces = [{k: round(v, 4) for k, v in asdict(box).items() if k in ("x", "y", "w", "h")} for box in sample.faces]
    return Guidance(findings, faces, lips, lips_closed, width, height, sample.scan,
                    {**analyzer.carried(), "shape": [width, height]})


def _one_frame(config: RuleConfig) -> RuleConfig:
    return replace(config, params={k: (0.0 if k in _OVER_TIME else v) for k, v in config.params.items()})


def _frame_facts(width: int, height: int, picture: PictureFacts) -> VideoFacts:
    """One frame as a video of one sample: what the face rules read."""
    counts = [len(s.faces) for s in picture.samples]
    return VideoFacts(kind="video", size_bytes=0, extension=".jpg", container="frame", format_name="frame",
                      major_brand=None, duration_s=None, video_duration_s=None, bit_rate=None, video_codec="frame",
                      width=width, height=height, coded_width=width, coded_height=height, rotation=0, pix_fmt=None,
                      fps=None, fps_nominal=None, frame_count=1, vfr=None, has_audio=False, audio_codec=None,
                      audio_sample_rate=None, audio_channels=None, scan=None, picture=picture,
                      face_count=counts[0] if counts else 0, face_count_max=max(counts, default=0))


def _lips_finding(lips: float | None, config: RuleConfig | None) -> Finding | None:
    if config is None:
        return None
    spec = RULES[config.id]
    max_lips = float(config.params["max_lips"])
    outcome: Outcome
    if lips is None:
        outcome, message = "skip", "no face landmarks on this frame: lips not measured"
    elif lips > max_lips:
        outcome, message = "fail", f"lips apart ({lips:.2f} of the mouth's width, over {max_lips:g})"
    else:
        outcome, message = "pass", f"lips closed ({lips:.2f})"
    return Finding(rule=config.id, severity=config.severity, outcome=outcome, message=message, fix=config.fix,
                   measured=lips, expected=f"lip opening <= {max_lips:g}", summary=spec.summary, source=config.source)


GUIDANCE_LIMIT_S = 5.0  # one frame takes ~40 ms; a frame that takes this long ends its worker


@lru_cache(maxsize=8)
def _ruleset(name: str) -> RuleSet:
    from preflight.judge.ruleset import load

    return load(name)


def judge_named(jpeg: bytes, rules: str, follow: dict[str, Any] | None = None, t: float = 0.0) -> dict[str, Any]:
    """``judge_frame`` by a built-in rule set's name: what a worker of the guidance pool runs. The
    answer's ``follow`` is the sequence's state for its next frame (kept by the server, per stream)."""
    guidance = judge_frame(jpeg, _ruleset(rules), follow, t)
    return {**guidance.to_dict(), "follow": guidance.follow}


def warm_up() -> None:
    """Load the detectors and models once per guidance worker, before the first frame."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 100, 90)).save(buf, "JPEG")
    judge_named(buf.getvalue(), "phoenix-4")
