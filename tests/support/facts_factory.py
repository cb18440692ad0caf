"""Facts for rule tests: a file that passes everything, changed one field at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from preflight.model.facts import DecodeScan, ImageFacts, VideoFacts

GOOD_SCAN = DecodeScan(
    ok=True, frames=1830, decoded_until_s=61.0, interval_median_ms=33.333, interval_min_ms=33.333,
    interval_max_ms=33.333, irregular_interval_share=0.0,
)

GOOD_VIDEO = VideoFacts(
    kind="video", size_bytes=120_000_000, extension=".mp4", container="mp4",
    format_name="mov,mp4,m4a,3gp,3g2,mj2", major_brand="isom", duration_s=61.0, video_duration_s=61.0, bit_rate=15_000_000,
    video_codec="h264", width=1920, height=1080, coded_width=1920, coded_height=1080, rotation=0,
    pix_fmt="yuv420p", fps=30.0, fps_nominal=30.0, frame_count=1830, vfr=False, has_audio=True,
    audio_codec="aac", audio_sample_rate=48000, audio_channels=1, scan=GOOD_SCAN,
)

GOOD_IMAGE = ImageFacts(
    kind="image", size_bytes=400_000, extension=".jpg", format="JPEG", width=1024, height=1024,
    stored_width=1024, stored_height=1024, exif_orientation=None, mode="RGB", bit_depth=8,
    has_alpha=False, transparent_pixels=None, animated=False, n_frames=1, decode_ok=True, decode_error=None,
)


def video(**changes: Any) -> VideoFacts:
    """A good video's stream facts; with no picture analysed unless ``picture=`` is given."""
    scan_changes = changes.pop("scan_changes", None)
    facts = replace(GOOD_VIDEO, **changes)
    if scan_changes is not None:
        facts = replace(facts, scan=replace(GOOD_SCAN, **scan_changes))
    return facts


def image(**changes: Any) -> ImageFacts:
    return replace(GOOD_IMAGE, **changes)


# --- picture facts -------------------------------------------------------------------------------

from preflight.model.facts import FaceBox, FaceLandmarks, FaceLook, PictureFacts, PictureSample  # noqa: E402

FACE = FaceBox(x=0.4, y=0.22, w=0.2, h=0.3, score=1.5, pose="front")
LOOK = FaceLook(luma=130.0, balance=0.9, sharpness=120.0)
MARKS = FaceLandmarks(score=1.0, lips=0.02, eyes=0.3, yaw_deg=2.0, pitch_deg=-8.0, roll_deg=1.0)


def lips(opening: float, **pose: float) -> FaceLandmarks:
    return replace(MARKS, lips=opening, **pose)


def sample(t: float, faces: list[FaceBox] | None = None, *, luma: float = 110.0, diff: float | None = 2.0,
           change: float | None = None, look: FaceLook | None = LOOK) -> PictureSample:
    faces = [FACE] if faces is None else faces
    return PictureSample(t=t, faces=faces, luma=luma, diff=None if t == 0 else diff,
                         change=None if t == 0 else (change if change is not None else diff),
                         face=look if faces else None, landmarks=MARKS if faces else None)


def picture(samples: list[PictureSample], fps: float = 2.0) -> PictureFacts:
    from preflight.media.picture import count_timeline

    return PictureFacts(sample_fps=fps, work_pixels=640 * 360, samples=samples, face_timeline=count_timeline(samples))


def video_with(make: Any = None, n: int = 120, **changes: Any) -> VideoFacts:
    """A good video whose i-th sample (at i / 2 s) is ``make(i)`` (default: one steady, well-lit face)."""
    samples = [make(i) if make else sample(i / 2) for i in range(n)]
    return video(picture=picture(samples), face_count=1, face_count_max=1, **changes)


def image_with(faces: list[FaceBox], look: FaceLook | None = LOOK, **changes: Any) -> ImageFacts:
    changes.setdefault("landmarks", MARKS if faces else None)
    return image(faces=faces, face=look if faces else None, face_count=len(faces), face_count_max=len(faces),
                 **changes)


# --- audio facts ---------------------------------------------------------------------------------

from preflight.model.facts import AudioFacts  # noqa: E402

FRAMES_PER_S = 31.25  # 32 ms frames


def audio(pattern: list[tuple[str, float]], *, speech_db: float = -24.0, quiet_db: float = -65.0,
          loudness: float | None = -23.0, clipped: float = 0.0, extra: dict[int, tuple[bool, float]] | None = None
          ) -> AudioFacts:
    """Audio facts from a pattern like [("speech", 30), ("quiet", 30)]; ``extra`` overrides frames by index."""
    from preflight.media.audio import _per_second, _structure

    speech: list[bool] = []
    dbfs: list[float] = []
    for kind, seconds in pattern:
        n = round(seconds * FRAMES_PER_S)
        speech += [kind == "speech"] * n
        dbfs += [speech_db if kind == "speech" else quiet_db] * n
    for i, (talk, level) in (extra or {}).items():
        speech[i], dbfs[i] = talk, level
    per_s, levels = _per_second(speech, dbfs)
    segments, fit, reverse = _structure(per_s)
    return AudioFacts(sample_rate=16000, frame_s=0.032, duration_s=len(speech) * 0.032, loudness_lufs=loudness,
                      peak_dbfs=-6.0, clipped_share=clipped, frame_dbfs=dbfs, speech=speech, speech_per_s=per_s,
                      level_per_s=levels, segments=segments, structure_fit=fit, reverse_fit=reverse)


GOOD_AUDIO = audio([("speech", 30), ("quiet", 31)])


def talking(i: int, until: int) -> PictureSample:
    """Sample i (at i / 2 s): lips opening and closing (0.02-0.25) before sample ``until``, closed after."""
    return replace(sample(i / 2), landmarks=lips((0.02, 0.12, 0.25)[i % 3] if i < until else 0.02))


def structured(make: Any = None, **changes: Any) -> VideoFacts:
    """A good 61 s video with one steady face, 30 s of speech then 31 s of silence; the lips open and
    close while speaking and stay closed while listening, unless ``make(i)`` gives other samples."""
    def default(i: int) -> PictureSample:
        return talking(i, until=60)
    changes.setdefault("audio", GOOD_AUDIO)
    return video_with(make or default, n=122, **changes)
