"""Rules about the person in the picture: how many faces, how big, where, how they face the camera.

Sizes are shares of the picture. A face box (dlib HOG) spans roughly eyebrows to chin; the rule files
say which share each threshold is about and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.checks.spans import (
    NOT_SAMPLED,
    aspect,
    face_speed_p90,
    listed,
    main_faces,
    median,
    pct,
    sampled,
    spans_where,
    step_s,
)
from preflight.model.facts import FaceBox, FaceLandmarks, Facts, ImageFacts, PictureSample, VideoFacts
from preflight.model.units import num

_NOT_ANALYSED = "the picture was not analysed"


def _faces_word(n: int) -> str:
    return "no face" if n == 0 else "1 face" if n == 1 else f"{n} faces"


def _main_face(facts: Facts) -> tuple[FaceBox | None, str | None]:
    """Images: the largest face. Videos: a box of the median position and size of the largest face."""
    if isinstance(facts, ImageFacts):
        if facts.faces is None:
            return None, _NOT_ANALYSED if facts.decode_ok else "the image did not decode"
        return (facts.faces[0], None) if facts.faces else (None, "no face was found (see face.count)")
    samples = sampled(facts)
    if samples is None:
        return None, NOT_SAMPLED
    boxes = [b for _, b in main_faces(samples)]
    if not boxes:
        return None, "no face was found in any sampled frame (see face.count)"
    med = FaceBox(x=median([b.x for b in boxes]), y=median([b.y for b in boxes]),
                  w=median([b.w for b in boxes]), h=median([b.h for b in boxes]), score=0.0, pose="median")
    return med, None


@rule("face.count", kind="any")
def count(facts: Facts, *, max_other_share: float, min_span_s: float) -> Verdict:
    """Exactly one face is in the picture (in a video: in nearly every sampled frame).

    Tavus rejects a second person or face, even small or in the background, drawn or printed
    (``second_person_detected``, ``Phx4MultipleForegroundPeopleError``), and a face that is not visible
    all the time (``face_or_obstruction_detected``). Record alone, face the camera, keep hands and
    objects away from the face, and remove photos or posters of faces from the background.
    """
    if isinstance(facts, ImageFacts):
        if facts.faces is None:
            return skipped(_NOT_ANALYSED if facts.decode_ok else "the image did not decode")
        n = len(facts.faces)
        if n == 1:
            return passed("exactly 1 face", 1, 1)
        where = ", ".join(f"at {pct(b.cx)} across, {pct(b.cy)} down" for b in facts.faces[:4])
        return failed(f"{_faces_word(n)} found" + (f" ({where})" if n > 1 else ""), n, 1)
    samples = sampled(facts)
    if samples is None:
        return skipped(NOT_SAMPLED)
    others = spans_where(samples, step_s(facts), lambda s: None if len(s.faces) == 1 else _faces_word(len(s.faces)))
    long_ones = [s for s in others if s.duration_s >= min_span_s]
    share = sum(len(s.faces) != 1 for s in samples) / len(samples)
    measured, expected = round(1 - share, 4), f">= {1 - max_other_share:.0%} of samples with exactly 1 face"
    if not others:
        return passed(f"exactly 1 face in all {len(samples)} sampled frames", measured, expected)
    if all(not s.faces for s in samples):
        return failed(f"no face found in any of the {len(samples)} sampled frames", measured, expected)
    if long_ones or share > max_other_share:
        return failed(f"not exactly one face in {pct(share)} of sampled frames: {listed(long_ones or others)}",
                      measured, expected, spans=long_ones or others)
    return passed(f"exactly 1 face in {pct(1 - share)} of sampled frames (brief misses: {listed(others)})",
                  measured, expected)


@rule("face.size", kind="any")
def size(facts: Facts, *, min_height_share: float, max_height_share: float) -> Verdict:
    """The face is big enough in the frame, and not so big that the framing is too tight.

    Judged on the face box's height as a share of the picture's height (the area share is reported
    too). Too small fails training (``video_processing``: face too small, ``improper_distance``,
    ``ImageQualityError``); too big cuts off the head, shoulders and chest Tavus asks for.
    """
    face, why = _main_face(facts)
    if face is None:
        return skipped(why or _NOT_ANALYSED)
    h, area = face.h, face.w * face.h
    shown = f"face box is {pct(h)} of the picture's height ({pct(area)} of its area)"
    expected = f"{pct(min_height_share)}–{pct(max_height_share)} of the height"
    if h < min_height_share:
        return failed(f"face too small: {shown}; at least {pct(min_height_share)} of the height is needed "
                      "— move closer or zoom in", round(h, 4), expected)
    if h > max_height_share:
        return failed(f"face too close: {shown}; at most {pct(max_height_share)} leaves room for the head, "
                      "shoulders and chest — step back or zoom out", round(h, 4), expected)
    return passed(shown, round(h, 4), expected)


@rule("face.centered", kind="any")
def centered(facts: Facts, *, max_offset_x: float, min_center_y: float, max_center_y: float) -> Verdict:
    """The face is centred left to right, at a natural height in the frame.

    Off-centre framing fails image training (``Phx4CenterFaceNotVisibleError``) and Tavus asks for a
    centred face in videos. Put the camera straight in front of you, face at about a third from the top.
    """
    face, why = _main_face(facts)
    if face is None:
        return skipped(why or _NOT_ANALYSED)
    dx, cy = face.cx - 0.5, face.cy
    across = "in the middle" if abs(dx) < 0.005 else f"{pct(abs(dx))} {'right' if dx > 0 else 'left'} of the middle"
    where = f"face centre is {across}, {pct(cy)} from the top"
    expected = f"within {pct(max_offset_x)} of the middle, {pct(min_center_y)}–{pct(max_center_y)} from the top"
    measured = {"offset_x": round(dx, 4), "center_y": round(cy, 4)}
    if abs(dx) > max_offset_x:
        side = "left" if dx > 0 else "right"
        return failed(f"off-centre: {where}; move the camera (or yourself) to the {side}", measured, expected)
    if not min_center_y <= cy <= max_center_y:
        hint = "tilt the camera up or raise it" if cy < min_center_y else "lower the camera or sit up"
        return failed(f"face too {'high' if cy < min_center_y else 'low'}: {where}; {hint}", measured, expected)
    return passed(where, measured, expected)


@rule("face.head_in_frame", kind="any")
def head_in_frame(facts: Facts, *, headroom: float, chin_room: float) -> Verdict:
    """The whole head is in the frame, with room above the hair and below the chin.

    A face box ends at the eyebrows, so the top of the head is estimated ``headroom`` face heights
    above it, and the chin ``chin_room`` face heights below it. A cut head fails
    (``HeadNotFullyInFrameError``; videos: "full head visible"). Step back or tilt the camera.
    """
    face, why = _main_face(facts)
    if face is None:
        return skipped(why or _NOT_ANALYSED)
    top, bottom = face.y - headroom * face.h, face.y + face.h * (1 + chin_room)
    measured = {"head_top": round(top, 4), "chin_bottom": round(bottom, 4)}
    expected = "head top >= 0 and chin <= 1 (shares of the height)"
    if top < 0 or face.cut and face.y <= 0:
        return failed(f"the top of the head is cut off: the face starts {pct(face.y)} from the top edge, "
                      f"and the head needs about {pct(headroom * face.h)} above that", measured, expected)
    if bottom > 1 or face.cut:
        return failed("the chin is cut off at the bottom edge", measured, expected)
    return passed(f"head fully in frame ({pct(top)} room above the estimated top of the head)", measured, expected)


@dataclass(frozen=True)
class Limits:
    max_yaw_deg: float
    min_pitch_deg: float
    max_pitch_deg: float
    max_roll_deg: float


def turned_away(box: FaceBox, marks: FaceLandmarks | None, limits: Limits) -> str | None:
    """How the face is turned away, or None when it looks at the camera. From the landmarks' head pose
    where there are landmarks; else from BlazeFace's keypoint yaw; else from which of HOG's turned-head
    filters fired."""
    if marks is not None:
        if abs(marks.yaw_deg) > limits.max_yaw_deg:
            return f"turned to the {'right' if marks.yaw_deg > 0 else 'left'}"
        if marks.pitch_deg > limits.max_pitch_deg:
            return "looking up"
        if marks.pitch_deg < limits.min_pitch_deg:
            return "looking down"
        if abs(marks.roll_deg) > limits.max_roll_deg:
            return "tilted"
        return None
    if box.yaw_deg is not None:
        return None if abs(box.yaw_deg) <= limits.max_yaw_deg else f"turned to the {'right' if box.yaw_deg > 0 else 'left'}"
    return f"turned to the {box.pose}" if box.pose in ("left", "right") else None


def _pose(marks: FaceLandmarks | None) -> str:
    if marks is None:
        return ""
    return f" (yaw {marks.yaw_deg:+.0f}°, pitch {marks.pitch_deg:+.0f}°, roll {marks.roll_deg:+.0f}°)"


@rule("face.looking", kind="any")
def looking(facts: Facts, *, max_turned_share: float, max_yaw_deg: float,
            min_pitch_deg: float, max_pitch_deg: float, max_roll_deg: float) -> Verdict:
    """The face looks straight at the camera: not turned to a side, up or down (or, for headshots, tilted).

    Uses the head pose from the face landmarks (yaw, pitch and roll in degrees; yaw is + to the
    picture's right, pitch + chin up); where there are none, BlazeFace's keypoint yaw, else which of
    HOG's frontal or turned-head filters found the face. Turned faces fail
    (``LookingStraightAtCameraError``, ``face_turned_away``). Look into the lens, with the camera
    straight in front of you at eye level.
    """
    limits = Limits(max_yaw_deg, min_pitch_deg, max_pitch_deg, max_roll_deg)
    expected = f"|yaw| <= {num(max_yaw_deg)}°, pitch {num(min_pitch_deg)}°..{num(max_pitch_deg)}°"
    if isinstance(facts, ImageFacts):
        face, why = _main_face(facts)
        if face is None:
            return skipped(why or _NOT_ANALYSED)
        marks = facts.landmarks
        measured = None if marks is None else {"yaw_deg": marks.yaw_deg, "pitch_deg": marks.pitch_deg,
                                               "roll_deg": marks.roll_deg}
        away = turned_away(face, marks, limits)
        if away is not None:
            return failed(f"the face is {away}{_pose(marks)}", measured or face.pose, expected)
        return passed(f"the face looks at the camera{_pose(marks) or f' ({face.pose})'}", measured or face.pose,
                      expected)
    samples = sampled(facts)
    if samples is None:
        return skipped(NOT_SAMPLED)
    faced = main_faces(samples)
    if not faced:
        return skipped("no face was found in any sampled frame (see face.count)")
    turned = spans_where([s for s, _ in faced], step_s(facts), lambda s: turned_away(s.faces[0], s.landmarks, limits))
    share = sum(turned_away(b, s.landmarks, limits) is not None for s, b in faced) / len(faced)
    expected = f"<= {pct(max_turned_share)} of samples turned away ({expected})"
    if share > max_turned_share:
        return failed(f"the face is turned away in {pct(share)} of sampled frames: {listed(turned)}",
                      round(share, 4), expected, spans=turned)
    return passed(f"the face looks at the camera in {pct(1 - share)} of sampled frames", round(share, 4), expected)


@rule("face.expression", kind="image")
def expression(facts: ImageFacts, *, min_eyes: float, max_lips: float) -> Verdict:
    """A headshot's expression is neutral: eyes open, mouth closed or a gentle smile.

    Measured from the face landmarks: each eye's lid gap over its width, and the inner-lip gap over
    the mouth's width. Tavus asks for a neutral pose; closed eyes or a wide-open mouth are what the
    avatar would learn. Use a photo with open eyes and a relaxed mouth.
    """
    marks = facts.landmarks
    if marks is None:
        face, why = _main_face(facts)
        return skipped(why or "the face landmarks were not found" if face is None
                       else "the face landmarks were not found, so eyes and mouth could not be measured")
    measured = {"eyes": marks.eyes, "lips": marks.lips}
    expected = f"eyes >= {num(min_eyes)}, lips <= {num(max_lips)}"
    if marks.eyes is not None and marks.eyes < min_eyes:
        return failed(f"the eyes look closed (lid gap {num(round(marks.eyes, 2))} of the eye's width)", measured,
                      expected)
    if marks.lips is not None and marks.lips > max_lips:
        return failed(f"the mouth is wide open (lip gap {num(round(marks.lips, 2))} of the mouth's width)", measured,
                      expected)
    return passed("eyes open, mouth relaxed", measured, expected)


def face_sizes(samples: list[PictureSample]) -> list[float]:
    return [b.h for _, b in main_faces(samples)]


@rule("face.distance_stable", kind="video")
def distance_stable(facts: VideoFacts, *, max_size_variation: float) -> Verdict:
    """The distance to the camera stays the same (the face does not grow or shrink).

    Measured as the coefficient of variation of the face box's height over the sampled frames.
    Moving closer or further fails training (``inconsistent_distance``). Sit still at one distance.
    """
    samples = sampled(facts)
    if samples is None:
        return skipped(NOT_SAMPLED)
    sizes = face_sizes(samples)
    if len(sizes) < 3:
        return skipped("a face was found in fewer than 3 sampled frames")
    mean = sum(sizes) / len(sizes)
    cv = (sum((x - mean) ** 2 for x in sizes) / len(sizes)) ** 0.5 / mean
    detail = f"face height varies by {pct(cv)} (from {pct(min(sizes))} to {pct(max(sizes))} of the frame)"
    if cv > max_size_variation:
        return failed(f"the distance to the camera changes: {detail}", round(cv, 4), f"<= {pct(max_size_variation)}")
    return passed(detail, round(cv, 4), f"<= {pct(max_size_variation)}")


@rule("face.movement", kind="video")
def movement(facts: VideoFacts, *, max_speed: float) -> Verdict:
    """The head (or the camera) stays still.

    Measured as how fast the face centre moves between samples, in face widths per second (the 90th
    percentile, so a single nod does not count). Large movement fails training
    (``excessive_movement_detected``). Use a tripod; keep head and body movement small.
    """
    samples = sampled(facts)
    if samples is None:
        return skipped(NOT_SAMPLED)
    p90 = face_speed_p90(main_faces(samples), aspect(facts))
    if p90 is None:
        return skipped("a face was found in fewer than 4 sampled frames")
    detail = f"the face moves {num(round(p90, 2))} face widths per second (90th percentile)"
    if p90 > max_speed:
        return failed(f"too much movement: {detail}", round(p90, 3), f"<= {num(max_speed)}")
    return passed(detail, round(p90, 3), f"<= {num(max_speed)}")
