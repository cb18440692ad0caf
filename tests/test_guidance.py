"""``/v1/guidance``'s measure: the check's own face rules on one camera frame."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from preflight.errors import UnusableInput
from preflight.judge.ruleset import load
from preflight.run.guidance import judge_frame
from tests.conftest import MEDIA, face_frame


def jpeg(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes()


def outcomes(frame: bytes, rules: str = "phoenix-4") -> dict[str, str]:
    return {f.rule: f.outcome for f in judge_frame(frame, load(rules)).findings}


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.jpg"])
def test_a_frontal_headshot_is_one_face_well_framed(name: str) -> None:
    found = judge_frame(jpeg(face_frame(name, (640, 360), face_px=110, centre=(0.5, 0.5))), load("phoenix-4"))
    by_rule = {f.rule: f.outcome for f in found.findings}
    assert by_rule["face.count"] == "pass" and len(found.faces) == 1
    assert by_rule["face.centered"] == "pass" and by_rule["face.size"] == "pass"


def test_a_portrait_frame_from_a_phone_is_judged_the_same_way() -> None:
    found = judge_frame(jpeg(face_frame("grace_hopper.jpg", (360, 640), face_px=150, centre=(0.5, 0.4))),
                        load("phoenix-4"))
    by_rule = {f.rule: f.outcome for f in found.findings}
    assert (found.width, found.height) == (360, 640) and len(found.faces) == 1
    assert by_rule["face.count"] == "pass" and by_rule["face.centered"] == "pass"


def test_a_group_is_not_one_face() -> None:
    left = face_frame("grace_hopper.jpg", (640, 360), face_px=90, centre=(0.25, 0.45))
    right = face_frame("astronaut.jpg", (640, 360), face_px=90, centre=(0.75, 0.45))
    group = np.concatenate([left[:, :320], right[:, 320:]], axis=1)
    found = judge_frame(jpeg(group), load("phoenix-4"))
    assert len(found.faces) == 2 and {f.rule: f.outcome for f in found.findings}["face.count"] == "fail"


def test_an_animal_is_not_a_face() -> None:
    cat = cv2.cvtColor(cv2.imread(str(MEDIA / "cat.jpg")), cv2.COLOR_BGR2RGB)  # CC0, tests/media/README.md
    frame = np.full((360, 640, 3), 128, np.uint8)
    scaled = cv2.resize(cat, (cat.shape[1] * 360 // cat.shape[0], 360))
    left = (640 - scaled.shape[1]) // 2
    frame[:, left:left + scaled.shape[1]] = scaled
    found = judge_frame(jpeg(frame), load("phoenix-4"))
    assert found.faces == [] and {f.rule: f.outcome for f in found.findings}["face.count"] == "fail"


def test_a_landscape_and_an_empty_room_have_no_face() -> None:
    rng = np.random.default_rng(7)
    landscape = np.zeros((360, 640, 3), np.uint8)
    landscape[:180] = (110, 160, 230)  # sky
    landscape[180:] = (60, 120, 40)  # field
    landscape = np.clip(landscape + rng.normal(0, 12, landscape.shape), 0, 255).astype(np.uint8)
    camera = cv2.cvtColor(cv2.imread(str(MEDIA / "camera.png")), cv2.COLOR_BGR2RGB)  # a cameraman, turned away
    for frame in (landscape, np.full((360, 640, 3), 90, np.uint8)):
        assert outcomes(jpeg(frame))["face.count"] == "fail"
    assert outcomes(jpeg(cv2.resize(camera, (640, 360))))["face.looking"] in ("fail", "skip")


def test_parted_lips_are_told_for_the_listening_part() -> None:
    smiling = judge_frame(jpeg(face_frame("astronaut.jpg", (640, 360), face_px=140)), load("phoenix-4"))
    closed = judge_frame(jpeg(face_frame("grace_hopper.jpg", (640, 360), face_px=140)), load("phoenix-4"))
    assert smiling.lips_closed is not None and smiling.lips_closed.outcome == "fail"
    assert closed.lips_closed is not None and closed.lips_closed.outcome == "pass"


def test_not_a_picture_is_refused_with_a_reason() -> None:
    for data in (b"", b"hello", b"\xff\xd8\xff" + b"\0" * 100):
        with pytest.raises(UnusableInput):
            judge_frame(data, load("phoenix-4"))
    with pytest.raises(UnusableInput, match="at most 1920x1080"):  # refused from its header, not decoded
        judge_frame(jpeg(np.zeros((2200, 4000, 3), np.uint8)), load("phoenix-4"))


def test_frames_judged_at_once_from_many_threads_get_the_same_answers() -> None:
    """The detectors are per thread: the recorder's guidance runs in a thread pool beside a check."""
    frames = [jpeg(face_frame(n, (640, 360), face_px=px)) for n in ("grace_hopper.jpg", "astronaut.jpg")
              for px in (90, 130)]
    rules = load("phoenix-4")
    expected = [judge_frame(f, rules).to_dict() for f in frames]
    got: list[list[dict]] = [[] for _ in range(8)]

    def work(i: int) -> None:
        for _ in range(6):
            got[i] += [judge_frame(f, rules).to_dict() for f in frames]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for answers in got:
        assert answers == expected * 6


def test_guidance_over_http(tmp_path: Path) -> None:
    from tests.support.serve_process import Server

    frame = jpeg(face_frame("grace_hopper.jpg", (640, 360), face_px=110, centre=(0.5, 0.5)))
    with Server(tmp_path / "data") as server, server.client() as http:
        reply = http.post("/v1/guidance", params={"rules": "phoenix-3"}, content=frame,
                          headers={"content-type": "image/jpeg"})
        assert reply.status_code == 200 and reply.json()["rules"] == "phoenix-3"
        assert {f["rule"]: f["outcome"] for f in reply.json()["findings"]}["face.count"] == "pass"
        assert http.post("/v1/guidance", content=b"not a picture").status_code == 400


def test_a_sequence_follows_the_face_and_searches_again_when_it_is_lost() -> None:
    """A sender's frames are a video's samples: after the first (the whole frame and the squares
    searched), the face is followed by its landmarks, with the same verdicts as a frame judged alone;
    a face that leaves is searched for over the whole frame at once, and one that comes back is found."""
    rules = load("phoenix-4")
    here = [jpeg(face_frame("grace_hopper.jpg", (640, 360), face_px=110, centre=(0.5 + 0.01 * i, 0.5)))
            for i in range(3)]
    empty = jpeg(np.full((360, 640, 3), 120, np.uint8))
    follow, t, scans = None, 50.0, []
    for frame in [*here, *here, empty, *here]:
        found = judge_frame(frame, rules, follow, t)
        follow, t = found.follow, t + 0.2
        scans.append(found.scan)
        alone = judge_frame(frame, rules)
        assert len(found.faces) == len(alone.faces)
        assert {f.rule: f.outcome for f in found.findings} == {f.rule: f.outcome for f in alone.findings}
        if found.faces:
            assert abs(found.faces[0]["x"] - alone.faces[0]["x"]) < 0.05 and abs(found.faces[0]["h"] - alone.faces[0]["h"]) < 0.08
    assert scans[0] == "deep" and scans[1:5] == ["tracked"] * 4  # followed, not searched
    assert scans[5] == "full"  # the whole frame once a second all the same (a second face, a better box)
    assert scans[6] == "full" and scans[7] == "full"  # lost: searched for on every frame, found again at once
    assert scans[8:] == ["tracked"] * 2
