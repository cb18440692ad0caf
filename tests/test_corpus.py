"""Real media from ../shared/corpus: the probe agrees with the corpus MANIFEST, and nothing real is refused.

An optional, larger check beside the tests that run anywhere (those use tests/media): marked ``corpus``
and left out of a plain ``python -m pytest``; run it with ``python -m pytest -m corpus``."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from preflight.media.analyze import analyze
from preflight.cli import main
from preflight.model.facts import ImageFacts, VideoFacts
from tests.conftest import NO_CORPUS, corpus_dir

pytestmark = pytest.mark.corpus

_CONTAINERS = {"ISO-BMFF(mp4/mov)": "mp4", "webm": "webm", "mpeg": "mpeg", "avi": "avi"}


def manifest(kind: str) -> list[dict[str, str]]:
    root = corpus_dir()
    if root is None:
        return []
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh, delimiter="\t") if row["kind"] == kind]


def cases(rows: list[dict[str, str]]) -> list:
    if not rows:
        return [pytest.param({}, id="no-corpus", marks=pytest.mark.skip(reason=NO_CORPUS))]
    return [pytest.param(r, id=r["file"]) for r in rows]


VIDEOS, IMAGES = manifest("video"), manifest("image")


@pytest.mark.parametrize("row", cases(VIDEOS))
def test_video_probe_matches_manifest(corpus: Path, row: dict[str, str]) -> None:
    facts = analyze(corpus / row["file"])
    assert isinstance(facts, VideoFacts)
    assert (facts.coded_width, facts.coded_height) == (int(row["width"]), int(row["height"]))
    assert facts.video_codec == row["video_codec"]
    assert facts.has_audio == (row["has_audio"] == "yes")
    assert facts.fps == pytest.approx(float(row["fps"]), abs=0.05)
    assert facts.duration_s == pytest.approx(float(row["duration_s"]), abs=0.1)
    container = re.search(r"container=([^\s,\]]+)", row["notes"])
    assert container and facts.container == _CONTAINERS[container.group(1)]


@pytest.mark.parametrize("row", cases(IMAGES))
def test_image_probe_matches_manifest(corpus: Path, row: dict[str, str]) -> None:
    facts = analyze(corpus / row["file"])
    assert isinstance(facts, ImageFacts)
    assert (facts.stored_width, facts.stored_height) == (int(row["width"]), int(row["height"]))
    fmt, mode = re.findall(r"\[(JPEG|PNG) (\w+)", row["notes"])[-1]
    assert (facts.format, facts.mode) == (fmt, mode)
    if "TRANSPARENT" in row["notes"]:
        assert facts.transparent_pixels is True
    if "(opaque)" in row["notes"]:
        assert facts.has_alpha and facts.transparent_pixels is False


def test_whole_corpus_is_judged_and_known_problems_are_found(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "json", str(corpus)]) == 1
    results = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert len(results) == len(VIDEOS) + len(IMAGES)
    assert all(r["verdict"] != "error" for r in results.values()), "real media must be judged, not refused"

    def outcome(name: str, rule: str) -> str:
        return {f["rule"]: f["outcome"] for f in results[name]["findings"]}[rule]

    assert outcome("openpose_video.avi", "file.extension") == "fail"  # MP4 content named .avi
    assert outcome("opencvtutorial_test.avi", "file.decodable") == "fail"  # first AC3 packet is damaged
    assert outcome("latentsync_demo1_video.mp4", "video.codec") == "fail"  # HEVC
    assert outcome("exif_Portrait_6.jpg", "image.resolution") == "pass"
    assert results["exif_Portrait_6.jpg"]["facts"]["width"] == 1200  # displayed upright
    for row in IMAGES:
        if "[PNG" in row["notes"] and row["file"].endswith(".jpg"):
            assert outcome(row["file"], "file.extension") == "fail", row["file"]
    for row in VIDEOS:
        if row["has_audio"] == "no":
            assert outcome(row["file"], "audio.present") == "fail", row["file"]


# --- real speech: lips measured by the face landmarks ----------------------------------------------

TALKING = ["liveportrait_d10.mp4", "retalking_face1.mp4", "real3dportrait_May_5s.mp4", "latentsync_demo1_video.mp4"]


@pytest.mark.parametrize("name", TALKING)
def test_real_speech_passes_articulation(tmp_path: Path, name: str) -> None:
    """A real person talking (the clip's own picture and sound), then 6 s of its last frame in silence:
    the speaking part's lips open and close enough for speaking.articulation."""
    import av
    import numpy as np

    from preflight.judge.engine import judge
    from preflight.judge.ruleset import load
    from tests.support.media_factory import decode_audio, make_clip

    root = corpus_dir()
    if root is None:
        pytest.skip(NO_CORPUS)
    with av.open(str(root / name)) as src:
        stream = src.streams.video[0]
        frames = [f.to_ndarray(format="rgb24", width=640, height=round(640 * f.height / f.width / 2) * 2)
                  for f in src.decode(stream)]
        fps = round(float(stream.average_rate or 25))
    voice = decode_audio(root / name, 16000)[: int(len(frames) / fps * 16000)]
    audio = np.concatenate([voice / max(float(np.abs(voice).max()), 1e-6) * 0.5, np.zeros(6 * 16000)]).astype(np.float32)
    size = (frames[0].shape[1], frames[0].shape[0])
    clip = make_clip(tmp_path / "talk.mp4", lambda i: frames[min(i, len(frames) - 1)], len(frames) + 6 * fps, size,
                     audio, fps=fps)
    facts = analyze(clip)
    found = {f.rule: f for f in judge(facts, load(str(Path(__file__).parent / "data" / "short-structure.toml")))}
    assert found["segments.structure"].outcome == "pass", found["segments.structure"].message
    assert found["speaking.articulation"].outcome == "pass", found["speaking.articulation"].message


@pytest.mark.parametrize("row", cases(VIDEOS))
def test_every_corpus_video_is_fixed_or_left_alone_saying_why(corpus: Path, row: dict[str, str], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``preflight fix`` on every real video: a decodable H.264/AAC MP4 where a fix applies, or nothing
    written and the reason said, and never an FFmpeg error (exit 2)."""
    import av

    out = tmp_path / "fixed.mp4"
    code = main(["fix", str(corpus / row["file"]), "-o", str(out)])
    printed = capsys.readouterr()
    assert code in (0, 1), printed.err
    assert "ffmpeg" not in printed.err.lower() and "Traceback" not in printed.err
    if out.exists():
        facts = analyze(out)
        assert isinstance(facts, VideoFacts) and (facts.container, facts.video_codec) == ("mp4", "h264")
        assert facts.audio_codec == ("aac" if row["has_audio"] == "yes" else None)
        with av.open(str(out)) as container:
            assert sum(1 for _ in container.decode(video=0)) > 0
    else:
        assert "fix plan" in printed.out or "nothing" in printed.out.lower(), printed.out
