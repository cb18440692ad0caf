"""Find faces with MediaPipe's BlazeFace detectors, run by OpenCV's DNN module (models in
``preflight/models/``, Apache-2.0; nothing downloaded, no new runtime).

Why, and where: a whole-frame search costs 2-4 ms (short range, 128x128) or about 8 ms (full range,
192x192) whatever the frame's size, against 16 ms for dlib's HOG at 640x360 and 61 ms with one
upsampling step. Videos use the full-range model (the short-range one sees a landscape frame at
128x72 px and misses a waist-up face), once a second and in overlapping squares for small faces
(``detect_tiled``); headshots use both models where HOG finds nothing. On the corpus images it counts
40-41 of 44 right against HOG's 44 (it misses faces that are small in a large group photo), so headshot images keep
HOG, where one search per file costs nothing that matters.

Each face also comes with six keypoints (eyes, nose tip, mouth centre, ears); the nose's offset from
the eyes' midpoint gives a yaw estimate in degrees (``yaw_from_keypoints``).

Boxes are relative to the picture (0..1), largest first. On the corpus a BlazeFace box has about the
height of a HOG box (eyebrows to chin), so the face-size rules read both alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from preflight.model.facts import FaceBox
from preflight.media.perthread import per_thread

MODELS = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Model:
    file: str
    size: int  # square input, pixels
    layers: tuple[tuple[int, int], ...]  # (stride, anchors per cell) of each output grid


SHORT_RANGE = Model("face_detection_short_range.tflite", 128, ((8, 2), (16, 6)))
FULL_RANGE = Model("face_detection_full_range.tflite", 192, ((4, 1),))


@per_thread
def _net(model: Model) -> Any:
    # One thread: the search runs beside the decoder, which keeps every core busy. On 2 cores this made
    # no measurable difference (README, Performance); it keeps the model's work on the picture thread.
    # Note: cv2.setNumThreads is process-wide.
    cv2.setNumThreads(1)
    return cv2.dnn.readNetFromTFLite(str(MODELS / model.file))


@lru_cache(maxsize=None)
def _anchors(model: Model) -> np.ndarray[Any, Any]:
    """Anchor centres (x, y) in 0..1, in the order of the model's outputs (MediaPipe's SSD anchors with
    a fixed size of 1, so a box is decoded relative to its anchor centre only)."""
    centres = []
    for stride, per_cell in model.layers:
        cells = model.size // stride
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.asarray(centres, np.float32)


def detect(picture: np.ndarray[Any, Any], model: Model, min_score: float) -> list[FaceBox]:
    """Faces in ``picture`` (grey or RGB, any size), scored at least ``min_score`` (0..1)."""
    height, width = picture.shape[:2]
    scale = model.size / max(height, width)
    small = cv2.resize(picture, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
    canvas = np.zeros((model.size, model.size, 3), np.float32)  # letterboxed at the top left
    canvas[: small.shape[0], : small.shape[1]] = small
    net = _net(model)
    net.setInput(cv2.dnn.blobFromImage(canvas, 1 / 127.5, mean=(127.5, 127.5, 127.5)))
    first, second = net.forward(net.getUnconnectedOutLayersNames())
    scores_raw, boxes_raw = (first, second) if first.shape[-1] == 1 else (second, first)
    scores = 1 / (1 + np.exp(-np.clip(scores_raw.reshape(-1), -50, 50)))
    keep = np.flatnonzero(scores >= min_score)
    if not len(keep):
        return []
    raw, anchors = boxes_raw.reshape(-1, 16)[keep] / model.size, _anchors(model)[keep]
    points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    centre = raw[:, :2] + anchors
    boxes = np.concatenate([centre - raw[:, 2:4] / 2, raw[:, 2:4]], axis=1)
    to_picture = np.array([model.size / small.shape[1], model.size / small.shape[0]], np.float32)
    chosen = cv2.dnn.NMSBoxes(boxes.tolist(), scores[keep].tolist(), min_score, 0.3)
    faces = [_face(boxes[i], points[i], float(scores[keep][i]), to_picture) for i in np.asarray(chosen).reshape(-1)]
    return sorted(faces, key=lambda b: -b.w * b.h)


def _face(box: np.ndarray[Any, Any], points: np.ndarray[Any, Any], score: float,
          to_picture: np.ndarray[Any, Any]) -> FaceBox:
    x, y = float(box[0] * to_picture[0]), float(box[1] * to_picture[1])
    w, h = float(box[2] * to_picture[0]), float(box[3] * to_picture[1])
    x0, y0, x1, y1 = max(0.0, x), max(0.0, y), min(1.0, x + w), min(1.0, y + h)
    return FaceBox(x=round(x0, 4), y=round(y0, 4), w=round(x1 - x0, 4), h=round(y1 - y0, 4),
                   score=round(score, 3), pose="keypoints", cut=x < 0 or y < 0 or x + w > 1 or y + h > 1,
                   yaw_deg=yaw_from_keypoints(points))  # the square input: both axes at one scale


def yaw_from_keypoints(points: np.ndarray[Any, Any]) -> float | None:
    """Head yaw in degrees from BlazeFace's keypoints (0 right eye, 1 left eye, 2 nose tip; the
    subject's right and left): positive when the face turns to the picture's right.

    The nose tip stands about half an eye distance in front of the eyes, so a head turned by yaw puts
    it ``0.5 * tan(yaw)`` eye distances off the eyes' midpoint. A coarse estimate (about ±5°), enough to
    tell a face looking at the camera from a three-quarter view."""
    right_eye, left_eye, nose = points[0], points[1], points[2]
    eyes = math.hypot(float(left_eye[0] - right_eye[0]), float(left_eye[1] - right_eye[1]))
    if eyes <= 1e-6:
        return None
    offset = float(nose[0] - (right_eye[0] + left_eye[0]) / 2) / eyes
    return round(math.degrees(math.atan(2 * offset)), 1)


def detect_tiled(picture: np.ndarray[Any, Any], model: Model, min_score: float, overlap: float = 0.25) -> list[FaceBox]:
    """Faces in overlapping squares as high (or wide) as the picture's short side, so the model sees a
    landscape or portrait frame at about twice the scale of one whole-frame search: a face 40 px high in
    a 640x360 frame is ~21 px to the full-range model instead of ~12. Squares overlap by ``overlap`` of
    their side, so a face smaller than that is whole in one of them; boxes found twice are kept once.
    A square frame is one square (the same as ``detect``)."""
    height, width = picture.shape[:2]
    side, long = min(height, width), max(height, width)
    count = 1 if long == side else math.ceil((long - side) / (side * (1 - overlap))) + 1
    found: list[FaceBox] = []
    for i in range(count):
        offset = round(i * (long - side) / max(1, count - 1))
        square = picture[:, offset:offset + side] if width > height else picture[offset:offset + side, :]
        for f in detect(square, model, min_score):
            if width > height:
                box = replace(f, x=round((offset + f.x * side) / width, 4), w=round(f.w * side / width, 4))
            else:
                box = replace(f, y=round((offset + f.y * side) / height, 4), h=round(f.h * side / height, 4))
            if not any(box.overlaps(k) for k in found):
                found.append(box)
    return sorted(found, key=lambda b: -b.w * b.h)

