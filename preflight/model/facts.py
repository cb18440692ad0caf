"""Facts: what one analysis pass measured about a file. Plain data, no thresholds, no judgement.

Rules read these; the JSON report prints them (``dataclasses.asdict``) so a user can see why a rule
passed or failed. A field that could not be measured is ``None``, and rules that need it say ``skip``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["video", "image"]


@dataclass(frozen=True)
class StreamChange:
    """A mid-stream change of resolution or frame rate, at ``at_s`` seconds."""

    at_s: float
    before: str
    after: str


@dataclass(frozen=True)
class DecodeScan:
    """What decoding the whole file end to end found (absent with ``--quick``)."""

    ok: bool
    frames: int
    decoded_until_s: float
    errors: int = 0
    first_error: str | None = None
    first_error_at_s: float | None = None
    # Frame timing: intervals between consecutive presentation timestamps.
    interval_median_ms: float | None = None
    interval_min_ms: float | None = None
    interval_max_ms: float | None = None
    irregular_interval_share: float | None = None
    resolution_changes: list[StreamChange] = field(default_factory=list)
    fps_changes: list[StreamChange] = field(default_factory=list)


@dataclass(frozen=True)
class LinkFacts:
    """What fetching a remote file's first bytes the way Tavus will (no credentials) found. ``url`` is
    shown without its signature or token; see preflight/remote/link.py."""

    url: str  # secrets redacted
    status: int | None  # the final HTTP status; None when no answer came
    redirects: int
    error: str | None  # why no answer came (timeout, refused, too many redirects, ...)
    content_type: str | None
    length: int | None  # bytes: from Content-Range's total, else Content-Length
    ranges: bool | None  # a byte-range request was answered with 206 Partial Content
    html: bool  # the answer is a web page, not a media file
    share_site: str | None  # Google Drive, Dropbox, OneDrive, Box: a share page, not the file
    signature: str | None  # aws-sigv4, aws-sigv2, gcs, azure-sas: a signed, expiring URL
    expires_at: str | None  # ISO 8601, UTC
    valid_for_s: float | None  # seconds of validity left when checked
    presigned_here: bool = False  # s3:// input: preflight signed it for this check only
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FaceBox:
    """One detected face, relative to the picture (0..1) in display orientation."""

    x: float
    y: float
    w: float
    h: float
    score: float  # the detector's confidence (dlib HOG: 0 is its default cut-off, 1+ is confident)
    pose: str  # which detector fired: front, left, right, front-tilted-left, front-tilted-right
    cut: bool = False  # the box ran past the picture's edge
    yaw_deg: float | None = None  # head yaw from keypoints (BlazeFace), + = turned to the picture's right

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: FaceBox) -> bool:
        """The two boxes share more than a third of the smaller one: the same face."""
        w = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        h = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return w > 0 and h > 0 and w * h > min(self.w * self.h, other.w * other.h) / 3


@dataclass(frozen=True)
class FaceLandmarks:
    """What the face mesh (468 landmarks) measured on the main face; see media/landmarks.py."""

    score: float  # the landmark model's confidence that its crop holds a face, 0..1
    lips: float | None  # inner-lip gap / mouth width: ~0 closed, 0.1+ apart
    eyes: float | None  # lid gap / eye width, both eyes averaged: ~0.05 closed, 0.2-0.35 open
    yaw_deg: float  # + turned to the picture's right
    pitch_deg: float  # + chin up
    roll_deg: float  # + tilted clockwise in the picture


@dataclass(frozen=True)
class FaceLook:
    """How the main face looks: measured on the face box, resized to a fixed height."""

    luma: float  # mean brightness, 0..255
    balance: float  # darker half / brighter half (left vs right), 1 = evenly lit
    sharpness: float  # variance of the Laplacian: low means blurred


@dataclass(frozen=True)
class PictureSample:
    """One sampled video frame."""

    t: float
    faces: list[FaceBox]  # largest first
    luma: float  # whole-frame mean brightness, 0..255
    diff: float | None  # mean absolute difference from the previous sample's 64x36 thumbnail, 0..255
    change: float | None  # the same at the working size: 0 means an identical (frozen) picture
    face: FaceLook | None  # the largest face, if any
    scan: str = "full"  # how faces were searched: deep (small faces too), full, or tracked (see picture.py)
    landmarks: FaceLandmarks | None = None  # the largest face's landmarks, if any face


@dataclass(frozen=True)
class Segment:
    kind: str  # speaking | listening
    start_s: float
    end_s: float


@dataclass(frozen=True)
class AudioFacts:
    """What listening to the first audio track found (decoded to mono at ``sample_rate`` on the way)."""

    sample_rate: int
    frame_s: float  # the length of one analysis frame
    duration_s: float
    loudness_lufs: float | None  # integrated, ITU-R BS.1770-4 gating, on the mono mix
    peak_dbfs: float | None  # sample peak
    clipped_share: float  # share of samples at or within 0.1 dB of full scale
    frame_dbfs: list[float]  # RMS level of every frame
    speech: list[bool]  # the voice-activity detector's decision for every frame
    speech_per_s: list[float]  # share of each second's frames with speech
    level_per_s: list[float]  # RMS level of each second, dBFS
    segments: list[Segment]  # best fit of "speaking, then listening"; empty when there is no speech
    structure_fit: float | None  # share of seconds that agree with that fit (1 = a perfect fit)
    reverse_fit: float | None  # the same for "listening, then speaking"


@dataclass(frozen=True)
class CountSpan:
    """A stretch of consecutive samples that saw the same number of faces."""

    start_s: float
    end_s: float
    count: int


@dataclass(frozen=True)
class PictureFacts:
    """What sampling the picture of a video found: faces, brightness and change over time."""

    sample_fps: float
    work_pixels: int  # the pixel budget sampled frames were scaled to (AnalysisSettings)
    samples: list[PictureSample]
    face_timeline: list[CountSpan]


@dataclass(frozen=True)
class VideoFacts:
    kind: Literal["video"]
    size_bytes: int
    extension: str
    container: str  # normalised: mp4, mov, webm, matroska, avi, mpeg, or ffmpeg's own name
    format_name: str  # ffmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    major_brand: str | None
    duration_s: float | None  # the container's duration, as ffprobe's format.duration
    video_duration_s: float | None  # the video stream's own duration (audio may run longer)
    bit_rate: int | None
    video_codec: str
    width: int  # display orientation (rotation applied)
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # degrees from the display matrix, normalised to 0/90/180/270
    pix_fmt: str | None
    fps: float | None  # average frame rate
    fps_nominal: float | None  # the stream's base (r_frame_rate) rate
    frame_count: int | None
    vfr: bool | None  # frame intervals irregular beyond timestamp rounding (None: not scanned)
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    scan: DecodeScan | None
    picture: PictureFacts | None = None  # None: not analysed (quick mode without keyframes)
    audio: AudioFacts | None = None  # None: no audio track, or not decoded (quick mode)
    face_count: int | None = None  # the most common count across samples
    face_count_max: int | None = None
    link: LinkFacts | None = None  # a remote file: what fetching it found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImageFacts:
    kind: Literal["image"]
    size_bytes: int
    extension: str
    format: str  # by content: JPEG, PNG, GIF, WEBP, HEIF, …
    width: int | None  # display orientation (EXIF orientation applied)
    height: int | None
    stored_width: int | None
    stored_height: int | None
    exif_orientation: int | None
    mode: str | None  # Pillow mode: RGB, RGBA, L, CMYK, I;16, P, …
    bit_depth: int | None  # bits per channel
    has_alpha: bool | None
    transparent_pixels: bool | None  # alpha channel present and some pixel not fully opaque
    animated: bool | None
    n_frames: int | None
    decode_ok: bool
    decode_error: str | None
    exif_error: str | None = None  # the EXIF block is damaged: orientation unknown, judged as stored
    faces: list[FaceBox] | None = None  # None: not analysed (the image did not decode)
    face: FaceLook | None = None  # the largest face, if any
    face_count: int | None = None
    face_count_max: int | None = None
    landmarks: FaceLandmarks | None = None  # the largest face's landmarks, if any
    link: LinkFacts | None = None  # a remote file: what fetching it found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LinkOnlyFacts:
    """A remote file that could not be fetched: only the link is known, so only ``url.*`` rules run."""

    kind: Literal["video", "image"]  # guessed from the name, to choose the rule set
    link: LinkFacts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TavusCheck:
    id: str
    label: str
    passed: bool


@dataclass(frozen=True)
class TavusFacts:
    """Tavus's own verdict on a headshot (``POST /v2/faces/image-validation``) for one model."""

    model: str
    passed: bool
    checks: tuple[TavusCheck, ...]


@dataclass(frozen=True)
class TavusOnlyFacts:
    """Tavus's verdict alone, judged beside preflight's own findings: only ``tavus.*`` rules run."""

    kind: Literal["image"]
    tavus: TavusFacts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Facts = VideoFacts | ImageFacts
