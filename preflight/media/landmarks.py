"""Facial landmarks: MediaPipe's 468-point face mesh, run by OpenCV's DNN module (model in
``preflight/models/``, Apache-2.0; nothing downloaded, no new runtime).

Given a face box from either detector, the model reads a 192x192 crop around it (``_GROW`` times the
box's longer side, rotated upright when the head is tilted) and returns 468 points in 3-D, with x and
y in crop pixels and z (depth) at about the same scale, plus a score that the crop holds a face.
From the points, ``measure`` derives the facts the rules read:

- lip opening: the inner-lip gap (points 13, 14) over the mouth's width (61, 291). Measured on
  corpus photos and frames of real talking heads: 0.00-0.04 for closed lips, 0.12-0.35 for open ones
  (README, "Facial landmarks");
- eye opening: each eye's lid gap (159-145, 386-374) over its width (33-133, 362-263), averaged;
- head yaw, pitch and roll in degrees: yaw from the nose tip's offset between the outer eye corners,
  pitch from the depth difference between forehead and chin, roll from the eye line
  in the picture. A geometric estimate (README, "Facial landmarks"), good to several degrees;
  pitch reads 5-15° low (chin down) on frontal portraits, as the forehead slopes back.

Cost: 3-7 ms per face on this CPU, once per sample that has a face.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from preflight.model.facts import FaceBox, FaceLandmarks
from preflight.media.blazeface import MODELS
from preflight.media.perthread import per_thread

MODEL_FILE = "face_landmark.tflite"
_SIZE = 192  # the model's square input
_GROW = 1.6  # the crop's side, in face-box sides: room for the forehead and chin around either detector's box
_REALIGN_DEG = 12.0  # a head tilted (rolled) more than this is measured again on a crop turned upright
Picture = np.ndarray[Any, Any]


@per_thread
def _net() -> Any:
    cv2.setNumThreads(1)  # see blazeface._net
    return cv2.dnn.readNetFromTFLite(str(MODELS / MODEL_FILE))


def points(picture: Picture, centre: tuple[float, float], side: float, roll_deg: float = 0.0
           ) -> tuple[np.ndarray[Any, Any], float]:
    """468 (x, y, z) points in the picture's pixels (z at the x scale) for the square of ``side`` pixels
    around ``centre``, turned by ``roll_deg``; and the model's face score (0..1)."""
    scale = _SIZE / side
    matrix = cv2.getRotationMatrix2D(centre, roll_deg, scale)
    matrix[:, 2] += np.array([_SIZE / 2 - centre[0], _SIZE / 2 - centre[1]])
    crop = cv2.warpAffine(picture, matrix, (_SIZE, _SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if crop.ndim == 2:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)  # measured: grey in, the same points within noise
    net = _net()
    net.setInput(cv2.dnn.blobFromImage(crop.astype(np.float32), 1 / 255.0))
    first, second = net.forward(net.getUnconnectedOutLayersNames())
    mesh, flag = (first, second) if first.size > second.size else (second, first)
    raw = mesh.reshape(468, 3).astype(np.float64)
    back = cv2.invertAffineTransform(matrix)
    xy = raw[:, :2] @ back[:, :2].T + back[:, 2]
    z = raw[:, 2:3] / scale
    score = 1 / (1 + math.exp(-max(-50.0, min(50.0, float(flag.reshape(-1)[0])))))
    return np.hstack([xy, z]), score


def measure(picture: Picture, box: FaceBox) -> FaceLandmarks:
    """Landmark facts for the face in ``box`` (relative to ``picture``, grey or RGB)."""
    return measure_with_extent(picture, box)[0]


Extent = tuple[float, float, float, float]  # x0, y0, x1, y1 of the mesh's points, shares of the picture


def measure_with_extent(picture: Picture, box: FaceBox) -> tuple[FaceLandmarks, Extent]:
    """Landmark facts for the face in ``box``, and where the mesh's points lie (to follow the face to
    the next sample without a detector: see picture.py)."""
    height, width = picture.shape[:2]
    centre = ((box.x + box.w / 2) * width, (box.y + box.h / 2) * height)
    side = max(box.w * width, box.h * height) * _GROW
    mesh, score = points(picture, centre, side)
    roll = _roll(mesh)
    if abs(roll) > _REALIGN_DEG:  # the model expects an upright face: crop again, turned by the tilt
        mesh, score = points(picture, centre, side, roll)
        roll = _roll(mesh)
    low, high = mesh[:, :2].min(axis=0), mesh[:, :2].max(axis=0)
    extent = (float(low[0]) / width, float(low[1]) / height, float(high[0]) / width, float(high[1]) / height)
    return facts_of(mesh, score), extent


def facts_of(mesh: np.ndarray[Any, Any], score: float) -> FaceLandmarks:
    def gap(a: int, b: int) -> float:
        return float(np.hypot(*(mesh[a, :2] - mesh[b, :2])))

    mouth_width = gap(61, 291)
    eyes = [gap(159, 145) / gap(33, 133) if gap(33, 133) > 0 else None,
            gap(386, 374) / gap(362, 263) if gap(362, 263) > 0 else None]
    open_eyes = [e for e in eyes if e is not None]
    return FaceLandmarks(
        score=round(score, 3),
        lips=round(gap(13, 14) / mouth_width, 4) if mouth_width > 0 else None,
        eyes=round(sum(open_eyes) / len(open_eyes), 4) if open_eyes else None,
        yaw_deg=round(_yaw(mesh), 1), pitch_deg=round(_pitch(mesh), 1), roll_deg=round(_roll(mesh), 1),
    )


_NOSE_DEPTH = 0.35  # the nose tip's height above the outer eye corners, in outer-eye-corner distances


def _yaw(mesh: np.ndarray[Any, Any]) -> float:
    """+ when the face turns to the picture's right. The nose tip (1) stands about ``_NOSE_DEPTH`` outer
    eye-corner distances (33-263) in front of them (adult norms: about 3 cm ahead of corners about 9 cm
    apart), so a head turned by yaw puts it ``_NOSE_DEPTH * tan(yaw)`` of that distance off their
    midpoint. (The mesh's own depth values are compressed: a yaw read from them comes out at about
    half of this on the corpus' turned heads.)"""
    right, left, nose = mesh[33, :2], mesh[263, :2], mesh[1, :2]
    eyes = float(np.hypot(*(left - right)))
    if eyes <= 1e-6:
        return 0.0
    offset = float(nose[0] - (right[0] + left[0]) / 2) / eyes
    return math.degrees(math.atan(offset / _NOSE_DEPTH))


def _pitch(mesh: np.ndarray[Any, Any]) -> float:
    """+ when the face tilts up (chin forward): forehead (10) farther than the chin (152)."""
    up = mesh[10] - mesh[152]
    return math.degrees(math.atan2(float(up[2]), math.hypot(float(up[0]), float(up[1]))))


def _roll(mesh: np.ndarray[Any, Any]) -> float:
    """+ when the eye line falls to the picture's right (clockwise in the picture)."""
    across = mesh[263] - mesh[33]
    return math.degrees(math.atan2(float(across[1]), float(across[0])))
