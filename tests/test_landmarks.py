"""Facial landmarks on real faces (tests/media, public domain or CC0): lips, eyes and head pose as
facts, and the rules that read them. Runs on a fresh clone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preflight.media.analyze import analyze
from preflight.judge.engine import judge
from preflight.model.facts import FaceLandmarks, ImageFacts
from preflight.media import landmarks
from preflight.media.faces import FaceDetector
from preflight.model.report import Finding
from preflight.judge.ruleset import load
from tests.conftest import MEDIA


def gray(name: str) -> np.ndarray:
    return np.asarray(Image.open(MEDIA / name).convert("L"))


def marks_of(picture: np.ndarray) -> FaceLandmarks:
    (box, *_) = FaceDetector(upsample=1).detect(picture)
    return landmarks.measure(picture, box)


def image_findings(path: Path) -> tuple[ImageFacts, dict[str, Finding]]:
    facts = analyze(path)
    assert isinstance(facts, ImageFacts)
    return facts, {f.rule: f for f in judge(facts, load("image"))}


def test_closed_lips_and_lips_apart_are_told_apart() -> None:
    closed, smiling = marks_of(gray("grace_hopper.jpg")), marks_of(gray("astronaut.jpg"))
    assert closed.score > 0.9 and smiling.score > 0.9
    assert closed.lips is not None and closed.lips < 0.06, closed  # Grace Hopper: lips closed
    assert smiling.lips is not None and smiling.lips > 0.12, smiling  # the astronaut smiles, teeth showing
    for marks in (closed, smiling):
        assert marks.eyes is not None and 0.18 < marks.eyes < 0.4, marks  # eyes open


def test_frontal_faces_measure_near_zero_yaw_and_roll() -> None:
    for name in ("grace_hopper.jpg", "astronaut.jpg"):
        marks = marks_of(gray(name))
        assert abs(marks.yaw_deg) < 10 and abs(marks.roll_deg) < 8 and -20 < marks.pitch_deg < 5, (name, marks)


def test_a_tilted_head_is_measured_upright_and_its_roll_reported() -> None:
    upright = Image.open(MEDIA / "grace_hopper.jpg").convert("L")
    for angle in (25, -25):  # PIL turns counter-clockwise: the eye line then falls to the picture's left
        tilted = np.asarray(upright.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=128))
        marks = marks_of(tilted)
        assert abs(marks.roll_deg + angle) < 6, (angle, marks)
        assert marks.lips is not None and marks.lips < 0.06, (angle, marks)


def test_a_turned_head_is_turned_and_its_mirror_image_the_other_way() -> None:
    picture = gray("camera.png")  # the cameraman looks into his viewfinder, not at us
    facts, found = image_findings(MEDIA / "camera.png")
    assert facts.landmarks is not None and facts.landmarks.yaw_deg > 35, facts.landmarks
    assert found["face.looking"].outcome == "fail" and "turned to the right" in found["face.looking"].message
    from preflight.media import blazeface

    (box,) = blazeface.detect(picture[:, ::-1].copy(), blazeface.SHORT_RANGE, 0.5)
    mirrored = landmarks.measure(picture[:, ::-1].copy(), box)
    assert mirrored.yaw_deg < -35, mirrored


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.jpg"])
def test_frontal_headshots_pass_looking_and_expression(name: str) -> None:
    facts, found = image_findings(MEDIA / name)
    assert found["face.looking"].outcome == "pass", found["face.looking"].message
    assert found["face.expression"].outcome == "pass", found["face.expression"].message
    assert facts.landmarks is not None and facts.landmarks.score > 0.9


def test_a_box_without_a_face_is_dropped_from_a_headshot() -> None:
    """HOG counts the round mission patch on the astronaut's arm as a face; the landmark model does not
    see one there, so the whole portrait has exactly one face."""
    hog = FaceDetector(upsample=1).detect(gray("astronaut.jpg"))
    assert len(hog) == 2
    scores = sorted(landmarks.measure(gray("astronaut.jpg"), box).score for box in hog)
    assert scores[0] < 0.2 < 0.9 < scores[1]
    facts, found = image_findings(MEDIA / "astronaut.jpg")
    assert facts.face_count == 1 and found["face.count"].outcome == "pass"


def test_an_empty_crop_has_a_low_score() -> None:
    flat = np.full((360, 640), 120, np.uint8)
    mesh, score = landmarks.points(flat, (320.0, 180.0), 200.0)
    assert mesh.shape == (468, 3) and score < 0.2
