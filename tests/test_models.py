"""The models shipped inside the package: the files are the ones whose provenance and licence are
recorded (preflight/models/README.md), and they find real faces."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preflight.media import blazeface

MEDIA = Path(__file__).resolve().parent / "media"
SHA256 = {
    "face_detection_short_range.tflite": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    "face_detection_full_range.tflite": "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    "face_landmark.tflite": "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
}


@pytest.mark.parametrize("name", sorted(SHA256))
def test_model_file_is_the_recorded_one(name: str) -> None:
    path = blazeface.MODELS / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[name]
    readme = (blazeface.MODELS / "README.md").read_text()
    assert name in readme and SHA256[name] in readme
    assert "Apache License" in (blazeface.MODELS / "LICENSE-Apache-2.0.txt").read_text()


def picture(name: str) -> np.ndarray:
    return np.asarray(Image.open(MEDIA / name).convert("RGB"))


@pytest.mark.parametrize("model", [blazeface.SHORT_RANGE, blazeface.FULL_RANGE], ids=["short", "full"])
def test_blazeface_finds_one_real_face_where_it_is(model: blazeface.Model) -> None:
    (face,) = blazeface.detect(picture("astronaut.jpg"), model, 0.5)
    assert 0.38 < face.cx < 0.5 and 0.2 < face.cy < 0.32 and 0.15 < face.h < 0.25
    assert face.yaw_deg is not None and abs(face.yaw_deg) < 15  # she looks into the camera


def test_blazeface_reads_a_grey_picture_and_a_turned_head() -> None:
    gray = np.asarray(Image.open(MEDIA / "camera.png").convert("L"))
    (face,) = blazeface.detect(gray, blazeface.SHORT_RANGE, 0.5)
    assert face.yaw_deg is not None and face.yaw_deg > 15  # the cameraman looks into his viewfinder


def test_an_empty_picture_has_no_face() -> None:
    assert blazeface.detect(np.full((360, 640), 90, np.uint8), blazeface.SHORT_RANGE, 0.5) == []
