"""Rule tables: facts in, outcome and severity out, judged with the built-in rule sets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from preflight.judge.engine import judge
from preflight.model.facts import Facts, StreamChange, TavusCheck, TavusFacts, TavusOnlyFacts
from preflight.model.report import Finding
from preflight.judge.ruleset import load
from tests.support.facts_factory import (
    FACE,
    LOOK,
    lips,
    talking,
    audio,
    image,
    image_with,
    sample,
    structured,
    video,
    video_with,
)

SECOND = replace(FACE, x=0.8, y=0.3, w=0.06, h=0.09, score=0.4)
TURNED = replace(FACE, pose="right")


def moving(i: int):  # the face swings a face width back and forth every sample
    return sample(i / 2, [replace(FACE, x=0.3 + 0.2 * (i % 2))])


def tavus_verdict(passed: bool) -> TavusOnlyFacts:
    """Tavus's own image check, as the run layer hands it to the rules."""
    checks = (TavusCheck("resolution", "Image is at least 512x512 pixels", passed), TavusCheck("format", "JPG or PNG", True))
    return TavusOnlyFacts("image", TavusFacts("phoenix-4", passed, checks))


def finding(facts: Facts | TavusOnlyFacts, rule: str, ruleset: str) -> Finding:
    (found,) = [f for f in judge(facts, load(ruleset)) if f.rule == rule]
    return found


# (case id, facts, rule set, rule, expected outcome, expected severity, text the message must contain)
CASES = [
    ("file.size/under", video(size_bytes=749_999_999), "phoenix-4", "file.size", "pass", "error", "749,999,999 bytes"),
    ("file.size/at-limit", video(size_bytes=750_000_000), "phoenix-4", "file.size", "fail", "error", "over the 750.0 MB"),
    ("file.size/image-large", image(size_bytes=25_000_000), "image", "file.size", "fail", "warning", "25.0 MB"),
    ("file.decodable/clean", video(), "phoenix-4", "file.decodable", "pass", "error", "1830 frames decode cleanly"),
    ("file.decodable/errors", video(scan_changes=dict(ok=False, errors=3, first_error="h264: broken",
                                                      first_error_at_s=41.5)),
     "phoenix-4", "file.decodable", "fail", "error", "broke at 0:41.5: h264: broken (3 decoder errors"),
    ("file.decodable/truncated", video(scan_changes=dict(decoded_until_s=31.2)),
     "phoenix-4", "file.decodable", "fail", "error", "stop at 0:31.2"),
    ("file.decodable/quick", video(scan=None), "phoenix-4", "file.decodable", "skip", "error", "quick mode"),
    ("file.decodable/image-broken", image(decode_ok=False, decode_error="image file is truncated"),
     "image", "file.decodable", "fail", "error", "truncated"),
    ("file.extension/match", video(extension=".MP4".lower()), "phoenix-4", "file.extension", "pass", "warning", ".mp4"),
    ("file.extension/avi-named-mp4", video(extension=".avi"), "phoenix-4", "file.extension", "fail", "warning",
     "named .avi but the content is mp4"),
    ("file.extension/png-as-jpg", image(format="PNG", extension=".jpg"), "image", "file.extension", "fail",
     "warning", "content is PNG"),
    ("container.format/mp4", video(), "phoenix-4", "container.format", "pass", "error", "MP4"),
    ("container.format/webm-warns", video(container="webm"), "phoenix-4", "container.format", "fail", "warning",
     "error table says"),
    ("container.format/mov-warns", video(container="mov"), "phoenix-4", "container.format", "fail", "warning", "MOV"),
    ("container.format/avi-fails", video(container="avi"), "phoenix-4", "container.format", "fail", "error", "AVI"),
    ("video.codec/h264", video(), "phoenix-4", "video.codec", "pass", "error", "H.264"),
    ("video.codec/hevc", video(video_codec="hevc"), "phoenix-4", "video.codec", "fail", "error", "HEVC"),
    ("audio.present/yes", video(), "phoenix-4", "audio.present", "pass", "error", "aac"),
    ("audio.present/no", video(has_audio=False, audio_codec=None), "phoenix-4", "audio.present", "fail", "error",
     "no audio"),
    ("audio.codec/aac", video(), "phoenix-4", "audio.codec", "pass", "error", "AAC"),
    ("audio.codec/opus", video(audio_codec="opus"), "phoenix-4", "audio.codec", "fail", "error", "OPUS"),
    ("audio.codec/no-audio-skips", video(has_audio=False, audio_codec=None), "phoenix-4", "audio.codec", "skip",
     "error", "no audio track"),
    ("video.duration/p4-60s", video(duration_s=60.0), "phoenix-4", "video.duration", "pass", "error", "1:00.0"),
    ("video.duration/p4-59s", video(duration_s=59.0), "phoenix-4", "video.duration", "fail", "error",
     "1.0 s short of the 60 s minimum"),
    ("video.duration/p4-long-warns", video(duration_s=300.0), "phoenix-4", "video.duration", "fail", "warning",
     "longer than the structure"),
    ("video.duration/p3-90s-warns", video(duration_s=90.0), "phoenix-3", "video.duration", "fail", "warning",
     "120 s or more is recommended"),
    ("video.duration/p3-125s", video(duration_s=125.0), "phoenix-3", "video.duration", "pass", "error", "2:05.0"),
    ("video.duration/p3-59s", video(duration_s=59.0), "phoenix-3", "video.duration", "fail", "error", "short"),
    ("video.duration/unknown", video(duration_s=None), "phoenix-4", "video.duration", "skip", "error", "duration"),
    ("video.fps/25", video(fps=25.0), "phoenix-4", "video.fps", "pass", "error", "25 fps"),
    ("video.fps/23.976", video(fps=23.976), "phoenix-4", "video.fps", "fail", "error", "23.976 fps, below the 25"),
    ("video.resolution/1080p", video(), "phoenix-4", "video.resolution", "pass", "error", "1920x1080"),
    ("video.resolution/portrait-1080", video(width=1080, height=1920), "phoenix-4", "video.resolution", "pass",
     "error", "1080x1920"),
    ("video.resolution/720p-p4", video(width=1280, height=720), "phoenix-4", "video.resolution", "fail", "error",
     "360 px below the 1080 px minimum"),
    ("video.resolution/720p-p3-warns", video(width=1280, height=720), "phoenix-3", "video.resolution", "fail",
     "warning", "1080 px on the short side is recommended"),
    ("video.resolution/480p-p3", video(width=854, height=480), "phoenix-3", "video.resolution", "fail", "error",
     "240 px below the 720 px minimum"),
    ("video.vfr/constant", video(), "phoenix-4", "video.vfr", "pass", "warning", "constant frame rate"),
    ("video.vfr/phone", video(scan_changes=dict(irregular_interval_share=0.3, interval_max_ms=66.7)),
     "phoenix-4", "video.vfr", "fail", "warning", "30.0% of frame intervals"),
    ("video.vfr/quick", video(scan=None), "phoenix-4", "video.vfr", "skip", "warning", "not measured"),
    ("video.stream_changes/none", video(), "phoenix-4", "video.stream_changes", "pass", "error", "constant"),
    ("video.stream_changes/resize", video(scan_changes=dict(resolution_changes=[
        StreamChange(12.0, "1920x1080", "1280x720")])), "phoenix-4", "video.stream_changes", "fail", "error",
     "resolution 1920x1080 → 1280x720 at 0:12.0"),
    ("video.stream_changes/fps", video(scan_changes=dict(fps_changes=[StreamChange(3.0, "30.00 fps", "60.00 fps")])),
     "phoenix-4", "video.stream_changes", "fail", "error", "frame rate 30.00 fps → 60.00 fps at 0:03.0"),
    ("image.format/jpeg", image(), "image", "image.format", "pass", "error", "JPEG"),
    ("image.format/heif", image(format="HEIF", extension=".heic"), "image", "image.format", "fail", "error",
     "HEIF (named .heic)"),
    ("image.resolution/512", image(width=512, height=512), "image", "image.resolution", "pass", "error", "512x512"),
    ("image.resolution/short", image(width=600, height=400), "image", "image.resolution", "fail", "error",
     "112 px too short"),
    ("image.resolution/both", image(width=300, height=200), "image", "image.resolution", "fail", "error",
     "212 px too narrow and 312 px too short"),
    ("image.resolution/unknown", image(width=None, height=None), "image", "image.resolution", "skip", "error",
     "size is unknown"),
    ("image.alpha/none", image(), "image", "image.alpha", "pass", "warning", "no alpha"),
    ("image.alpha/transparent", image(has_alpha=True, transparent_pixels=True, mode="RGBA"), "image", "image.alpha",
     "fail", "warning", "transparent pixels"),
    ("image.color_mode/rgb", image(), "image", "image.color_mode", "pass", "warning", "RGB, 8-bit"),
    ("image.color_mode/cmyk", image(mode="CMYK"), "image", "image.color_mode", "fail", "warning", "CMYK"),
    ("image.color_mode/16-bit", image(mode="RGB", bit_depth=16), "image", "image.color_mode", "fail", "warning",
     "16 bits per channel"),
    ("image.animated/still", image(), "image", "image.animated", "pass", "error", "single"),
    ("image.animated/apng", image(animated=True, n_frames=12), "image", "image.animated", "fail", "error", "12 frames"),
    ("image.exif/readable", image(exif_orientation=6), "image", "image.exif", "pass", "warning", "readable"),
    ("image.exif/damaged", image(exif_error="SyntaxError: not a TIFF file"), "image", "image.exif", "fail",
     "warning", "orientation could not be read"),
    # --- the person in the picture -----------------------------------------------------------------
    ("face.count/image-one", image_with([FACE]), "image", "face.count", "pass", "error", "exactly 1 face"),
    ("face.count/image-two", image_with([FACE, SECOND]), "image", "face.count", "fail", "error",
     "2 faces found (at 50% across, 37% down, at 83% across, 34% down)"),
    ("face.count/image-none", image_with([]), "image", "face.count", "fail", "error", "no face found"),
    ("face.count/image-not-analysed", image(), "image", "face.count", "skip", "error", "not analysed"),
    ("face.count/video-steady", video_with(), "phoenix-4", "face.count", "pass", "error", "all 120 sampled frames"),
    ("face.count/video-second-person", video_with(lambda i: sample(i / 2, [FACE, SECOND] if 82 <= i < 88 else None)),
     "phoenix-4", "face.count", "fail", "error", "2 faces 0:41.0–0:44.0"),
    ("face.count/video-flicker-tolerated", video_with(lambda i: sample(i / 2, [] if i == 30 else None)),
     "phoenix-4", "face.count", "pass", "error", "brief misses: no face 0:15.0–0:15.5"),
    ("face.count/video-face-gone", video_with(lambda i: sample(i / 2, [] if i >= 100 else None)),
     "phoenix-4", "face.count", "fail", "error", "no face 0:50.0–1:00.0"),
    ("face.count/video-not-analysed", video(), "phoenix-4", "face.count", "skip", "error", "not analysed"),
    ("face.size/ok", video_with(), "phoenix-4", "face.size", "pass", "error", "30% of the picture's height (6.0% of its area)"),
    ("face.size/small", video_with(lambda i: sample(i / 2, [replace(FACE, w=0.06, h=0.1)])), "phoenix-4",
     "face.size", "fail", "error", "face too small"),
    ("face.size/tight-crop", image_with([replace(FACE, x=0.1, y=0.1, w=0.8, h=0.8)]), "image", "face.size", "fail",
     "error", "face too close"),
    ("face.centered/ok", image_with([FACE]), "image", "face.centered", "pass", "error", "face centre is in the middle, 37% from the top"),
    ("face.centered/left", image_with([replace(FACE, x=0.05)]), "image", "face.centered", "fail", "error",
     "off-centre: face centre is 35% left of the middle"),
    ("face.centered/video-low", video_with(lambda i: sample(i / 2, [replace(FACE, y=0.6)])), "phoenix-4",
     "face.centered", "fail", "warning", "face too low"),
    ("face.head_in_frame/ok", image_with([FACE]), "image", "face.head_in_frame", "pass", "error", "fully in frame"),
    ("face.head_in_frame/top-cut", image_with([replace(FACE, y=0.05)]), "image", "face.head_in_frame", "fail",
     "error", "top of the head is cut off"),
    ("face.head_in_frame/chin-cut", image_with([replace(FACE, y=0.72)]), "image", "face.head_in_frame", "fail",
     "error", "chin is cut off"),
    ("face.looking/front", image_with([FACE]), "image", "face.looking", "pass", "warning",
     "looks at the camera (yaw +2°, pitch -8°, roll +1°)"),
    ("face.looking/three-quarter", image_with([FACE], landmarks=lips(0.02, yaw_deg=44.0)), "image", "face.looking",
     "fail", "warning", "turned to the right (yaw +44°"),
    ("face.looking/down", image_with([FACE], landmarks=lips(0.02, pitch_deg=-48.0)), "image", "face.looking",
     "fail", "warning", "looking down"),
    ("face.looking/up", image_with([FACE], landmarks=lips(0.02, pitch_deg=31.0)), "image", "face.looking",
     "fail", "warning", "looking up"),
    ("face.looking/tilted-headshot", image_with([FACE], landmarks=lips(0.02, roll_deg=-27.0)), "image",
     "face.looking", "fail", "warning", "tilted"),
    ("face.looking/tilted-video-is-fine", video_with(lambda i: replace(sample(i / 2), landmarks=lips(0.02, roll_deg=-27.0))),
     "phoenix-4", "face.looking", "pass", "warning", "looks at the camera in 100%"),
    ("face.looking/hog-turned", image_with([TURNED], landmarks=None), "image", "face.looking", "fail", "warning",
     "turned to the right"),
    ("face.looking/yaw-small", image_with([replace(FACE, pose="keypoints", yaw_deg=-12.0)], landmarks=None), "image",
     "face.looking", "pass", "warning", "looks at the camera"),
    ("face.looking/yaw-large", image_with([replace(FACE, pose="keypoints", yaw_deg=-41.0)], landmarks=None), "image",
     "face.looking", "fail", "warning", "turned to the left"),
    ("face.looking/video-turned", video_with(lambda i: replace(sample(i / 2), landmarks=lips(0.02, yaw_deg=-38.0))
                                             if i >= 20 else sample(i / 2)), "phoenix-4",
     "face.looking", "fail", "warning", "turned away in 83% of sampled frames: turned to the left 0:10.0–1:00.0"),
    ("face.looking/video-glance", video_with(lambda i: replace(sample(i / 2), landmarks=lips(0.02, yaw_deg=-38.0))
                                             if i < 10 else sample(i / 2)), "phoenix-4",
     "face.looking", "pass", "warning", "looks at the camera in 92%"),
    ("face.expression/ok", image_with([FACE]), "image", "face.expression", "pass", "warning", "eyes open"),
    ("face.expression/eyes-closed", image_with([FACE], landmarks=replace(lips(0.02), eyes=0.05)), "image",
     "face.expression", "fail", "warning", "eyes look closed"),
    ("face.expression/laughing", image_with([FACE], landmarks=lips(0.34)), "image", "face.expression", "fail",
     "warning", "mouth is wide open"),
    ("face.expression/smile-is-fine", image_with([FACE], landmarks=lips(0.17)), "image", "face.expression", "pass",
     "warning", "mouth relaxed"),
    ("face.expression/no-landmarks", image_with([FACE], landmarks=None), "image", "face.expression", "skip",
     "warning", "landmarks were not found"),
    ("face.distance_stable/ok", video_with(), "phoenix-4", "face.distance_stable", "pass", "warning", "varies by 0.0%"),
    ("face.distance_stable/leans-in", video_with(lambda i: sample(i / 2, [replace(FACE, h=0.2 + i * 0.002)])),
     "phoenix-4", "face.distance_stable", "fail", "warning", "distance to the camera changes"),
    ("face.movement/still", video_with(), "phoenix-4", "face.movement", "pass", "warning", "moves 0 face widths"),
    ("face.movement/swinging", video_with(moving), "phoenix-4", "face.movement", "fail", "warning",
     "too much movement: the face moves 2 face widths per second"),
    ("face.sharpness/ok", image_with([FACE]), "image", "face.sharpness", "pass", "warning", "sharpness 120"),
    ("face.sharpness/blurred", image_with([FACE], replace(LOOK, sharpness=8.0)), "image", "face.sharpness", "fail",
     "warning", "blurred: sharpness 8"),
    ("face.lighting/ok", image_with([FACE]), "image", "face.lighting", "pass", "warning", "brightness 130/255"),
    ("face.lighting/dark", image_with([FACE], replace(LOOK, luma=35.0)), "image", "face.lighting", "fail", "warning",
     "too dark"),
    ("face.lighting/side-shadow", video_with(lambda i: sample(i / 2, look=replace(LOOK, balance=0.3))), "phoenix-4",
     "face.lighting", "fail", "warning", "one side of the face is in shadow"),
    ("face.lighting_stable/ok", video_with(), "phoenix-4", "face.lighting_stable", "pass", "warning", "130–130"),
    ("face.lighting_stable/sunset", video_with(lambda i: sample(i / 2, look=replace(LOOK, luma=160.0 - i))),
     "phoenix-4", "face.lighting_stable", "fail", "warning", "the lighting changes"),
    ("video.edits/none", video_with(), "phoenix-4", "video.edits", "pass", "warning", "no cuts"),
    ("video.edits/cut", video_with(lambda i: sample(i / 2, diff=60.0 if i == 40 else 2.0)), "phoenix-4",
     "video.edits", "fail", "warning", "1 cut or jump in the picture at 0:20.0"),
    ("video.black_frozen/none", video_with(), "phoenix-4", "video.black_frozen", "pass", "warning", "no black"),
    ("video.black_frozen/black", video_with(lambda i: sample(i / 2, [] if i < 6 else None, luma=4.0 if i < 6 else 110.0)),
     "phoenix-4", "video.black_frozen", "fail", "warning", "black 0:00.0–0:03.0"),
    ("video.black_frozen/frozen", video_with(lambda i: sample(i / 2, change=0.0 if 60 <= i < 70 else 2.0)),
     "phoenix-4", "video.black_frozen", "fail", "warning", "frozen 0:30.0–0:35.0"),
    # --- audio and the speaking -> listening structure ---------------------------------------------
    ("audio.loudness/ok", structured(), "phoenix-4", "audio.loudness", "pass", "warning", "-23 LUFS"),
    ("audio.loudness/quiet", structured(audio=audio([("speech", 30), ("quiet", 31)], loudness=-45.0)), "phoenix-4",
     "audio.loudness", "fail", "warning", "too quiet"),
    ("audio.loudness/silent-track", structured(audio=audio([("quiet", 61)], loudness=None)), "phoenix-4",
     "audio.loudness", "fail", "warning", "silent"),
    ("audio.loudness/quick", video(audio=None), "phoenix-4", "audio.loudness", "skip", "warning", "quick mode"),
    ("audio.clipping/ok", structured(), "phoenix-4", "audio.clipping", "pass", "warning", "no clipping"),
    ("audio.clipping/clipped", structured(audio=audio([("speech", 30), ("quiet", 31)], clipped=0.004)),
     "phoenix-4", "audio.clipping", "fail", "warning", "0.40% of samples at full scale"),
    ("audio.noise/quiet-room", structured(), "phoenix-4", "audio.noise", "pass", "warning", "noise floor -65 dBFS in the listening"),
    ("audio.noise/hum", structured(audio=audio([("speech", 30), ("quiet", 31)], quiet_db=-38.0)), "phoenix-4",
     "audio.noise", "fail", "warning", "noisy background: noise floor -38 dBFS"),
    ("segments.structure/ok", structured(), "phoenix-4", "segments.structure", "pass", "error",
     "speaking 0:00.0–0:30.0, listening 0:30.0–1:01.0"),
    ("segments.structure/reversed", structured(audio=audio([("quiet", 30), ("speech", 31)])), "phoenix-4",
     "segments.structure", "fail", "error", "order is reversed"),
    ("segments.structure/short-listening", structured(audio=audio([("speech", 50), ("quiet", 11)])), "phoenix-4",
     "segments.structure", "fail", "error", "listening part is too short"),
    ("segments.structure/no-silence", structured(audio=audio([("speech", 61)])), "phoenix-4", "segments.structure",
     "fail", "error", "no silent listening part"),
    ("segments.structure/no-speech", structured(audio=audio([("quiet", 61)])), "phoenix-4", "segments.structure",
     "fail", "error", "no speech found"),
    ("segments.structure/mixed", structured(audio=audio([("speech", 8), ("quiet", 8)] * 4)), "phoenix-4",
     "segments.structure", "fail", "error", "too short"),
    ("segments.structure/p3-needs-a-minute", structured(), "phoenix-3", "segments.structure", "fail", "error",
     "speaking part is too short"),
    ("listening.silent/ok", structured(), "phoenix-4", "listening.silent", "pass", "warning", "is silent"),
    ("listening.silent/voice", structured(audio=audio([("speech", 30), ("quiet", 14), ("speech", 1), ("quiet", 16)])),
     "phoenix-4", "listening.silent", "fail", "warning", "speech 0:44.0–0:45.0"),
    ("listening.silent/door-slam", structured(audio=audio(
        [("speech", 30), ("quiet", 31)], extra={i: (False, -20.0) for i in range(1500, 1520)})),
     "phoenix-4", "listening.silent", "fail", "warning", "noise 0:48.0–0:48.6"),
    ("listening.lips_closed/ok", structured(), "phoenix-4", "listening.lips_closed", "pass", "warning",
     "lips stay closed"),
    ("listening.lips_closed/parted", structured(lambda i: replace(talking(i, until=60),
                                                                  landmarks=lips(0.18)) if 90 <= i < 96 else talking(i, until=60)),
     "phoenix-4", "listening.lips_closed", "fail", "warning", "lips apart 0:45.0–0:48.0"),
    ("listening.lips_closed/blink-of-a-smile", structured(lambda i: replace(talking(i, until=60), landmarks=lips(0.18))
                                                          if i == 90 else talking(i, until=60)),
     "phoenix-4", "listening.lips_closed", "pass", "warning", "lips stay closed"),
    ("listening.lips_closed/no-face", structured(lambda i: sample(i / 2, [])), "phoenix-4", "listening.lips_closed",
     "skip", "warning", "lips could not be measured"),
    ("listening.lips_closed/no-landmarks", structured(lambda i: replace(sample(i / 2), landmarks=None)), "phoenix-4",
     "listening.lips_closed", "skip", "warning", "no face landmarks"),
    ("listening.still/ok", structured(), "phoenix-4", "listening.still", "pass", "warning", "0 face widths"),
    ("listening.still/nodding", structured(lambda i: sample(i / 2, [replace(FACE, y=0.22 + 0.1 * (i % 2))])),
     "phoenix-4", "listening.still", "fail", "warning", "not still"),
    ("speaking.articulation/ok", structured(), "phoenix-4", "speaking.articulation", "pass", "warning",
     "ranges 0.02–0.25"),
    ("speaking.articulation/mumbling", structured(lambda i: replace(sample(i / 2), landmarks=lips(0.03 + 0.01 * (i % 2)))),
     "phoenix-4", "speaking.articulation", "fail", "warning", "barely opens"),
    ("tavus.image_validation/passes", tavus_verdict(True), "image", "tavus.image_validation", "pass", "error",
     "Tavus's image check (phoenix-4) passes"),
    ("tavus.image_validation/fails", tavus_verdict(False), "image", "tavus.image_validation", "fail", "error",
     "fails: Image is at least 512x512 pixels (resolution)"),
]


@pytest.mark.parametrize(("facts", "ruleset", "rule", "outcome", "severity", "text"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(facts: Facts, ruleset: str, rule: str, outcome: str, severity: str, text: str) -> None:
    found = finding(facts, rule, ruleset)
    assert (found.outcome, found.severity) == (outcome, severity), found.message
    assert text in found.message
    assert found.fix and found.source


def test_every_registered_rule_has_a_pass_and_a_fail_case() -> None:
    from preflight.checks import RULES

    covered = {(c[3], c[4]) for c in CASES}
    for rule_id in RULES:
        if RULES[rule_id].kind == "link":
            continue  # url.* rules: against a real web server in tests/test_remote.py
        assert (rule_id, "pass") in covered and (rule_id, "fail") in covered, rule_id


def test_good_facts_pass_every_builtin_rule() -> None:
    long = dict(duration_s=121.0, video_duration_s=121.0, scan_changes=dict(decoded_until_s=121.0),
                audio=audio([("speech", 60), ("quiet", 61)]))
    p3 = structured(lambda i: talking(i, until=120), **long)
    for ruleset, facts in (("phoenix-4", structured()), ("phoenix-4.5", structured()),
                           ("phoenix-3", replace(p3, picture=replace(p3.picture, samples=[
                               talking(i, until=120) for i in range(242)]))), ("image", image_with([FACE]))):
        bad = [f for f in judge(facts, load(ruleset)) if f.outcome != "pass"]
        assert not bad, (ruleset, bad)
