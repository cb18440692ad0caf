"""Measure the picture: faces, how the main face looks, brightness and change between samples.

For videos, ``PictureAnalyzer`` consumes grey frames sampled by the decode scan (``scan.py``) on a
worker thread fed through a bounded queue (``worker.py``), so memory stays flat and detection
overlaps decoding.
For images, ``analyse_still`` measures the one picture.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from preflight.model.facts import CountSpan, FaceBox, FaceLandmarks, FaceLook, PictureFacts, PictureSample
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
                  if not any(f.overlaps(g) for g in found)]
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
    _main: FaceBox | None = None  # blazeface: where the followed face was last seen
    # blazeface: the detector's box around the landmark mesh's extent when it last saw the face (x0, y0,
    # x1, y1 in mesh widths and heights from the mesh's top left): how followed boxes are framed
    _framing: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)

    def _find_faces(self, t: float, gray: Gray) -> tuple[list[FaceBox], str, FaceLandmarks | None]:
        """Three depths of search, cheapest most often (see AnalysisSettings):
        deep, every ``deep_scan_every_s``: the whole frame, faces down to ~40 px at the working size;
        full, every ``full_scan_every_s``: the whole frame, faces down to ~80 px;
        tracked, the samples in between: only around the largest face's last position, scaled so
        that face is easy to find; the other faces of the last full search are carried over."""
        if self.settings.video_detector == "blazeface":
            return self._find_faces_blazeface(t, gray)
        recent = self._last_face[1] if self._last_face and t - self._last_face[0] <= _FOLLOW_S else None
        keep_others = True
        if t >= self._next_deep:
            self._next_deep = t + self.settings.deep_scan_every_s
            self._next_full = t + self.settings.full_scan_every_s
            faces, scan = FaceDetector(upsample=1).detect(gray), "deep"
        elif t >= self._next_full:
            self._next_full = t + self.settings.full_scan_every_s
            faces, scan = FaceDetector(upsample=0).detect(gray), "full"
            if recent is not None and not any(f.overlaps(recent) for f in faces):
                faces = sorted(faces + _search_around(gray, recent), key=lambda b: -b.w * b.h)
        else:
            main = _search_around(gray, recent) if recent is not None else []
            others = [o for o in self._others if not main or not o.overlaps(main[0])]
            faces, scan, keep_others = main[:1] + others, "tracked", False
        faces = self._remember(t, faces, keep_others)
        marks = landmarks.measure(gray, faces[0]) if faces and self.settings.landmarks else None
        return faces, scan, marks

    def _find_faces_blazeface(self, t: float, gray: Gray) -> tuple[list[FaceBox], str, FaceLandmarks | None]:
        """The main face is followed from sample to sample by its landmarks: the mesh measured on the
        last sample's box gives this sample's box (MediaPipe's own design: the detector only runs when
        the face is lost). The whole frame is searched with the full-range model (~7 ms) every
        ``full_scan_every_s``, and whenever the face is lost; its other faces are carried over to the
        followed samples in between. Every ``deep_scan_every_s`` the search also looks at the frame in
        overlapping squares (``blazeface.detect_tiled``, ~20 ms), for smaller, farther faces such as a
        second person in the background (a face 40 px high at the working size is ~12 px to one
        whole-frame search, ~21 px in a square). Why the full-range model for the whole frame: the
        short-range one sees a 640x360 frame at 128 px and misses a face up to a fifth of its height,
        a waist-up landscape framing."""
        if t < self._next_full:
            if self._main is None:  # no face to follow: the last search's faces stand until the next one
                return list(self._others), "carried", None
            followed = self._follow(gray, self._main)
            if followed is not None:
                others = [o for o in self._others if not o.overlaps(followed[0])]
                return sorted([followed[0], *others], key=lambda b: -b.w * b.h), "tracked", followed[1]
            # lost (turned away, covered, moved too fast): search the whole frame now
        self._next_full = t + self.settings.full_scan_every_s
        faces = blazeface.detect(gray, blazeface.FULL_RANGE, self.settings.face_min_score)
        scan = "full"
        if t >= self._next_deep:
            self._next_deep = t + self.settings.deep_scan_every_s
            if self.settings.deep_tiles:
                faces += [f for f in blazeface.detect_tiled(gray, blazeface.FULL_RANGE, self.settings.face_min_score)
                          if not any(f.overlaps(g) for g in faces)]
                faces.sort(key=lambda b: -b.w * b.h)
            scan = "deep"
        self._main = None
        marks = None
        if faces and self.settings.landmarks:
            marks, extent = landmarks.measure_with_extent(gray, faces[0])
            if marks.score >= self.settings.landmark_min_score:
                self._main, self._framing = faces[0], _framing(faces[0], extent)
        # followed samples carry the other faces over; samples with nothing to follow carry them all
        self._others = faces[1:] if self._main is not None else faces
        return faces, scan, marks

    def _follow(self, gray: Gray, box: FaceBox) -> tuple[FaceBox, FaceLandmarks] | None:
        """The main face on this sample: the landmark mesh measured around its last box, turned back into
        a detector-like box (the mesh's extent framed as the detector framed it when it last saw it).
        None when the mesh no longer sees a face there."""
        marks, (x0, y0, x1, y1) = landmarks.measure_with_extent(gray, box)
        if marks.score < self.settings.landmark_min_score:
            return None
        w, h = x1 - x0, y1 - y0
        left, top, right, bottom = (x0 + self._framing[0] * w, y0 + self._framing[1] * h,
                                    x0 + self._framing[2] * w, y0 + self._framing[3] * h)
        cut = left < 0 or top < 0 or right > 1 or bottom > 1
        left, top, right, bottom = max(0.0, left), max(0.0, top), min(1.0, right), min(1.0, bottom)
        if right - left <= 0 or bottom - top <= 0:
            return None
        self._main = FaceBox(x=round(left, 4), y=round(top, 4), w=round(right - left, 4), h=round(bottom - top, 4),
                             score=marks.score, pose="mesh", cut=cut)
        return self._main, marks

    def _remember(self, t: float, faces: list[FaceBox], keep_others: bool) -> list[FaceBox]:
        if faces:
            self._last_face = (t, faces[0])
        if keep_others:
            self._others = faces[1:]
        return faces

    def add(self, t: float, gray: Gray) -> None:
        faces, scan, marks = self._find_faces(t, gray)
        thumb = cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        diff = change = None
        if self._previous is not None and self._previous[0].shape == gray.shape:
            diff = round(float(np.abs(thumb - self._previous[1]).mean()), 3)
            change = round(float(cv2.absdiff(gray, self._previous[0]).mean()), 3)
        self._previous = (gray, thumb)
        look = face_look(gray, faces[0]) if faces else None
        if marks is not None and marks.score < self.settings.landmark_min_score:
            marks = None  # the model does not see a face in that box: no lips or pose to read
        self.samples.append(PictureSample(round(t, 3), faces, round(float(gray.mean()), 2), diff, change, look,
                                          scan, marks))

    def carried(self) -> dict[str, Any]:
        """What the next frame of a sequence judged one frame at a time (live guidance) takes over from
        this one, JSON-ready: the followed face and its framing, the other faces, when the next
        whole-frame searches are due."""
        return {"main": asdict(self._main) if self._main else None, "framing": list(self._framing),
                "others": [asdict(o) for o in self._others], "next_full": self._next_full,
                "next_deep": self._next_deep}

    @classmethod
    def resumed(cls, settings: AnalysisSettings, carried: dict[str, Any] | None, t: float) -> PictureAnalyzer:
        """An analyzer in the state ``carried`` left (None: a video's first sample at ``t``: the whole
        frame and the squares are searched)."""
        analyzer = cls(settings)
        if carried is None:
            analyzer._next_full = analyzer._next_deep = t
            return analyzer
        analyzer._main = FaceBox(**carried["main"]) if carried.get("main") else None
        x0, y0, x1, y1 = (float(v) for v in carried["framing"])
        analyzer._framing = (x0, y0, x1, y1)
        analyzer._others = [FaceBox(**o) for o in carried["others"]]
        analyzer._next_full, analyzer._next_deep = float(carried["next_full"]), float(carried["next_deep"])
        return analyzer

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


def _framing(box: FaceBox, extent: landmarks.Extent) -> tuple[float, float, float, float]:
    """``box`` in the coordinates of the mesh's extent (0..1 across it; below 0 or above 1 outside)."""
    x0, y0, x1, y1 = extent
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    return ((box.x - x0) / w, (box.y - y0) / h, (box.x + box.w - x0) / w, (box.y + box.h - y0) / h)


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
