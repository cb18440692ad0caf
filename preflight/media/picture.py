"""Measure the picture: faces, how the main face looks, brightness and change between samples.

For videos, ``PictureAnalyzer`` consumes grey frames sampled by the decode scan (``scan.py``) on a
worker thread fed through a bounded queue (``worker.py``), so memory stays flat and detection
overlaps decoding.
For images, ``analyse_still`` measures the one picture.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from preflight.facts import CountSpan, FaceBox, FaceLandmarks, FaceLook, PictureFacts, PictureSample
from preflight.media import blazeface, landmarks
from preflight.media.faces import FaceDetector
from preflight.media.settings import AnalysisSettings

Gray = np.ndarray[Any, Any]  # a 2-D uint8 array: one grey picture
_LOOK_HEIGHT = 128  # the face box is resized to this height before its sharpness is measured
_THUMB = (64, 36)  # sample-to-sample difference is measured on thumbnails this size
_FOLLOW_S = 2.0  # a face lost for longer than this is only searched for again by the next full search
_TRACK_FACE_PX = 100  # tracking scales the region around the last face so the face is this high


def face_look(gray: Gray, box: FaceBox) -> FaceLook | None:
    height, width = gray.shape[:2]
    x0, y0 = int(box.x * width), int(box.y * height)
    x1, y1 = int((box.x + box.w) * width), int((box.y + box.h) * height)
    roi = gray[y0:y1, x0:x1]
    if roi.shape[0] < 8 or roi.shape[1] < 8:
        return None
    scale = _LOOK_HEIGHT / roi.shape[0]
    roi = cv2.resize(roi, (max(8, round(roi.shape[1] * scale)), _LOOK_HEIGHT), interpolation=cv2.INTER_AREA)
    half = roi.shape[1] // 2
    left, right = float(roi[:, :half].mean()), float(roi[:, half:].mean())
    return FaceLook(
        luma=round(float(roi.mean()), 2),
        balance=round(min(left, right) / max(left, right, 1e-6), 3),
        sharpness=round(float(cv2.Laplacian(roi, cv2.CV_64F).var()), 2),
    )


@dataclass(frozen=True)
class Still:
    """What one picture (a headshot) shows."""

    faces: list[FaceBox]
    look: FaceLook | None
    landmarks: FaceLandmarks | None


def analyse_still(gray: Gray, settings: AnalysisSettings) -> Still:
    """Faces, the main face's look and its landmarks in one picture, searched at ``image_work_size``.

    HOG searches first (the most accurate count on the corpus). With landmarks on, each box it finds
    must also hold a face for the landmark model (score >= ``landmark_min_score``): that drops HOG's
    false alarms, such as a round mission patch. Where HOG finds nothing, BlazeFace searches, its
    boxes checked the same way: HOG's filters stop at about 45° of yaw, and a user with a turned head
    is better told that than "no face"."""
    scale = settings.image_work_size / max(gray.shape[:2])
    work = gray
    if scale < 1:
        size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
        work = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    faces = FaceDetector(upsample=settings.image_upsample).detect(work)
    if not settings.landmarks:
        return Still(faces, face_look(gray, faces[0]) if faces else None, None)
    checked = _with_landmarks(gray, faces, settings.landmark_min_score)
    if not faces:
        found = blazeface.detect(work, blazeface.SHORT_RANGE, settings.face_min_score)
        found += [f for f in blazeface.detect(work, blazeface.FULL_RANGE, settings.face_min_score)
                  if not any(_overlaps(f, g) for g in found)]
        checked = _with_landmarks(gray, sorted(found, key=lambda b: -b.w * b.h), settings.landmark_min_score)
    kept = [box for box, _ in checked]
    return Still(kept, face_look(gray, kept[0]) if kept else None, checked[0][1] if checked else None)


def _with_landmarks(gray: Gray, faces: list[FaceBox], min_score: float) -> list[tuple[FaceBox, FaceLandmarks]]:
    measured = [(box, landmarks.measure(gray, box)) for box in faces]
    return [(box, marks) for box, marks in measured if marks.score >= min_score]


@dataclass
class PictureAnalyzer:
    """Consumes sampled grey frames of one video; ``finish()`` returns its PictureFacts."""

    settings: AnalysisSettings
    samples: list[PictureSample] = field(default_factory=list)
    _previous: tuple[Gray, np.ndarray[Any, Any]] | None = None  # the last sample and its thumbnail
    _next_deep: float = 0.0
    _next_full: float = 0.0
    _last_face: tuple[float, FaceBox] | None = None  # when and where the largest face was last seen
    _others: list[FaceBox] = field(default_factory=list)  # the other faces of the last full search

    def _find_faces(self, t: float, gray: Gray) -> tuple[list[FaceBox], str]:
        """Three depths of search, cheapest most often (see AnalysisSettings):
        deep, every ``deep_scan_every_s``: the whole frame, faces down to ~40 px at the working size;
        full, every ``full_scan_every_s``: the whole frame, faces down to ~80 px;
        tracked, the samples in between: only around the largest face's last position, scaled so
        that face is easy to find; the other faces of the last full search are carried over."""
        if self.settings.video_detector == "blazeface":
            return self._find_faces_blazeface(t, gray)
        recent = self._last_face[1] if self._last_face and t - self._last_face[0] <= _FOLLOW_S else None
        if t >= self._next_deep:
            self._next_deep = t + self.settings.deep_scan_every_s
            self._next_full = t + self.settings.full_scan_every_s
            faces, scan = FaceDetector(upsample=1).detect(gray), "deep"
        elif t >= self._next_full:
            self._next_full = t + self.settings.full_scan_every_s
            faces, scan = FaceDetector(upsample=0).detect(gray), "full"
            if recent is not None and not any(_overlaps(f, recent) for f in faces):
                faces = sorted(faces + _search_around(gray, recent), key=lambda b: -b.w * b.h)
        else:
            main = _search_around(gray, recent) if recent is not None else []
            others = [o for o in self._others if not main or not _overlaps(o, main[0])]
            return self._remember(t, main[:1] + others, keep_others=False), "tracked"
        return self._remember(t, faces, keep_others=True), scan

    def _find_faces_blazeface(self, t: float, gray: Gray) -> tuple[list[FaceBox], str]:
        """The whole frame every sample with the short-range model (the main face, 2-3 ms); every
        ``deep_scan_every_s`` also with the full-range model and dlib's HOG at 2x (~70 ms together),
        whose faces are added where the first found none: smaller, farther faces, such as a second
        person in the background (BlazeFace sees the whole frame at 192 px at most, so a face 44 px high
        at the working size is ~13 px to it; HOG at 2x finds faces down to ~40 px). Those are carried
        over to the samples in between, as the last deep search saw them."""
        faces = blazeface.detect(gray, blazeface.SHORT_RANGE, self.settings.face_min_score)
        scan = "full"
        if t >= self._next_deep:
            self._next_deep = t + self.settings.deep_scan_every_s
            far = blazeface.detect(gray, blazeface.FULL_RANGE, self.settings.face_min_score)
            if self.settings.deep_hog:
                far += [f for f in FaceDetector(upsample=1).detect(gray) if not any(_overlaps(f, g) for g in far)]
            self._others = [f for f in far if not any(_overlaps(f, g) for g in faces)]
            scan = "deep"
        others = [o for o in self._others if not any(_overlaps(o, g) for g in faces)]
        return sorted(faces + others, key=lambda b: -b.w * b.h), scan

    def _remember(self, t: float, faces: list[FaceBox], keep_others: bool) -> list[FaceBox]:
        if faces:
            self._last_face = (t, faces[0])
        if keep_others:
            self._others = faces[1:]
        return faces

    def add(self, t: float, gray: Gray) -> None:
        faces, scan = self._find_faces(t, gray)
        thumb = cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        diff = change = None
        if self._previous is not None and self._previous[0].shape == gray.shape:
            diff = round(float(np.abs(thumb - self._previous[1]).mean()), 3)
            change = round(float(cv2.absdiff(gray, self._previous[0]).mean()), 3)
        self._previous = (gray, thumb)
        look = face_look(gray, faces[0]) if faces else None
        marks = landmarks.measure(gray, faces[0]) if faces and self.settings.landmarks else None
        if marks is not None and marks.score < self.settings.landmark_min_score:
            marks = None  # the model does not see a face in that box: no lips or pose to read
        self.samples.append(PictureSample(round(t, 3), faces, round(float(gray.mean()), 2), diff, change, look,
                                          scan, marks))

    def finish(self) -> PictureFacts:
        return PictureFacts(self.settings.sample_fps, self.settings.work_pixels, self.samples,
                            count_timeline(self.samples))


def _search_around(gray: Gray, box: FaceBox) -> list[FaceBox]:
    """Search the region around ``box`` (one face width and height on every side), scaled so the
    face there would be ~_TRACK_FACE_PX high: cheap whatever the face's size."""
    height, width = gray.shape[:2]
    x0, y0 = max(0, int((box.x - box.w) * width)), max(0, int((box.y - box.h) * height))
    x1, y1 = min(width, int((box.x + 2 * box.w) * width)), min(height, int((box.y + 2 * box.h) * height))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    scale = _TRACK_FACE_PX / max(box.h * height, 1.0)
    roi = cv2.resize(gray[y0:y1, x0:x1], (max(16, round((x1 - x0) * scale)), max(16, round((y1 - y0) * scale))),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    found = FaceDetector(upsample=0).detect(roi)[:1]
    sx, sy = (x1 - x0) / width, (y1 - y0) / height
    return [replace(f, x=round(x0 / width + f.x * sx, 4), y=round(y0 / height + f.y * sy, 4),
                    w=round(f.w * sx, 4), h=round(f.h * sy, 4)) for f in found]


def _overlaps(a: FaceBox, b: FaceBox) -> bool:
    """The two boxes share more than a third of the smaller one: the same face."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return w > 0 and h > 0 and w * h > min(a.w * a.h, b.w * b.h) / 3


def count_timeline(samples: list[PictureSample]) -> list[CountSpan]:
    spans: list[CountSpan] = []
    for i, s in enumerate(samples):
        end = samples[i + 1].t if i + 1 < len(samples) else s.t
        if spans and spans[-1].count == len(s.faces):
            spans[-1] = CountSpan(spans[-1].start_s, end, len(s.faces))
        else:
            spans.append(CountSpan(s.t, end, len(s.faces)))
    return spans


def count_summary(samples: list[PictureSample]) -> tuple[int | None, int | None]:
    """The most common face count across samples (ties: the larger) and the largest."""
    if not samples:
        return None, None
    counts = Counter(len(s.faces) for s in samples)
    mode = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return mode, max(counts)
