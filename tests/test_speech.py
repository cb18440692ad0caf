"""The speaking → listening structure, end to end: clips built from speech and real faces (tests/media:
espeak-ng's reading of a public-domain text; Grace Hopper's portrait, lips closed, and the NASA
astronaut's, smiling with her lips apart, both public domain), with synthetic silence, noise and
clipping. Runs on a fresh clone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from preflight.media.analyze import analyze
from preflight.judge.engine import judge
from preflight.model.facts import VideoFacts
from preflight.model.report import Finding
from preflight.judge.ruleset import load
from tests.conftest import face_frame
from tests.support.media_factory import decode_audio, make_clip

RATE, FPS, SIZE = 16000, 25, (640, 360)
SHORT = str(Path(__file__).resolve().parent / "data" / "short-structure.toml")
MEDIA = Path(__file__).resolve().parent / "media"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 14 s of speech, peaking at -6 dBFS."""
    voice = decode_audio(MEDIA / "speech.m4a", RATE)[: 14 * RATE]
    return (voice / np.abs(voice).max() * 0.5).astype(np.float32)


@pytest.fixture(scope="module")
def face():
    """Two real faces at the same place and size: lips closed (Grace Hopper) and lips apart (the
    astronaut's smile). Alternating them is a mouth that opens and closes, measured on real lips."""
    return face_frame("grace_hopper.jpg", SIZE), face_frame("astronaut.jpg", SIZE)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def clip(tmp_path: Path, face, audio: np.ndarray | None, talking_until: float, name: str = "clip.mp4",
         seconds: float | None = None, open_from: float | None = None) -> VideoFacts:
    """A clip whose lips open and close (every 5 frames) until ``talking_until``, then stay closed; or
    from ``open_from`` on, stay apart."""
    closed, opened = face
    seconds = seconds or len(audio) / RATE

    def frame_at(i: int) -> np.ndarray:
        t = i / FPS
        if open_from is not None and t >= open_from:
            return opened
        return opened if t < talking_until and (i // 5) % 2 else closed

    path = make_clip(tmp_path / name, frame_at, int(seconds * FPS), SIZE, audio, fps=FPS, rate=RATE)
    facts = analyze(path)
    assert isinstance(facts, VideoFacts)
    return facts


def findings(facts: VideoFacts) -> dict[str, Finding]:
    return {f.rule: f for f in judge(facts, load(SHORT))}


def test_speech_then_silence_passes_and_finds_the_boundary(tmp_path: Path, speech: np.ndarray, face) -> None:
    talk = len(speech) / RATE
    facts = clip(tmp_path, face, np.concatenate([speech, silence(12)]), talking_until=talk)
    found = findings(facts)
    for rule in ("segments.structure", "listening.silent", "listening.lips_closed", "listening.still",
                 "speaking.articulation", "audio.clipping", "audio.noise", "audio.loudness"):
        assert found[rule].outcome == "pass", (rule, found[rule].message)
    assert facts.audio is not None
    boundary = found["segments.structure"].measured["boundary_s"]
    assert abs(boundary - talk) <= 1.5, (boundary, talk)
    assert [s.kind for s in facts.audio.segments] == ["speaking", "listening"]


def test_silence_then_speech_fails_on_order(tmp_path: Path, speech: np.ndarray, face) -> None:
    facts = clip(tmp_path, face, np.concatenate([silence(12), speech]), talking_until=0)
    assert "order is reversed" in findings(facts)["segments.structure"].message


def test_too_short_listening_part(tmp_path: Path, speech: np.ndarray, face) -> None:
    facts = clip(tmp_path, face, np.concatenate([speech, silence(2)]), talking_until=len(speech) / RATE)
    structure = findings(facts)["segments.structure"]
    assert structure.outcome == "fail" and "listening part is too short" in structure.message


def test_a_voice_in_the_listening_part_is_found_with_its_time(tmp_path: Path, speech: np.ndarray, face) -> None:
    talk = len(speech) / RATE
    intrusion = speech[: 2 * RATE]  # 2 s of someone talking, 6 s into the listening part
    audio = np.concatenate([speech, silence(6), intrusion, silence(6)])
    found = findings(clip(tmp_path, face, audio, talking_until=talk))
    silent = found["listening.silent"]
    assert silent.outcome == "fail"
    match = re.search(r"speech (\d+):(\d+\.\d)", silent.message)
    assert match, silent.message
    assert abs(int(match.group(1)) * 60 + float(match.group(2)) - (talk + 6)) <= 1.0, silent.message


def test_noise_in_the_listening_part_fails_the_noise_floor(tmp_path: Path, speech: np.ndarray, face) -> None:
    hum = (0.03 * np.random.default_rng(3).standard_normal(12 * RATE)).astype(np.float32)
    facts = clip(tmp_path, face, np.concatenate([speech, hum]), talking_until=len(speech) / RATE)
    noise = findings(facts)["audio.noise"]
    assert noise.outcome == "fail" and "noisy background" in noise.message


def test_clipped_audio(tmp_path: Path, speech: np.ndarray, face) -> None:
    loud = np.clip(speech * 30, -1, 1)  # the gain far too high
    facts = clip(tmp_path, face, np.concatenate([loud, silence(12)]), talking_until=len(speech) / RATE)
    clipping = findings(facts)["audio.clipping"]
    assert clipping.outcome == "fail" and "clips" in clipping.message


def test_no_audio_track_skips_with_a_reason(tmp_path: Path, face) -> None:
    facts = clip(tmp_path, face, None, talking_until=0, seconds=4)
    found = findings(facts)
    assert found["audio.present"].outcome == "fail"
    for rule in ("audio.loudness", "segments.structure", "listening.silent", "speaking.articulation"):
        assert found[rule].outcome == "skip" and "no audio track" in found[rule].message, rule


def test_a_still_mouth_while_speaking_is_weak_articulation(tmp_path: Path, speech: np.ndarray, face) -> None:
    facts = clip(tmp_path, face, np.concatenate([speech, silence(12)]), talking_until=0)
    assert findings(facts)["speaking.articulation"].outcome == "fail"


def test_lips_held_apart_while_listening_fail_over_that_part(tmp_path: Path, speech: np.ndarray, face) -> None:
    talk = len(speech) / RATE
    facts = clip(tmp_path, face, np.concatenate([speech, silence(12)]), talking_until=talk, open_from=talk)
    lips = findings(facts)["listening.lips_closed"]
    assert lips.outcome == "fail" and "lips are apart while listening" in lips.message
    assert facts.audio is not None
    listening = next(s for s in facts.audio.segments if s.kind == "listening")
    covered = sum(min(b, listening.end_s) - max(a, listening.start_s) for a, b in lips.spans)
    assert covered >= 0.85 * (listening.end_s - listening.start_s), (lips.spans, listening)


def test_a_smile_in_part_of_the_listening_part_is_found_with_its_time(tmp_path: Path, speech: np.ndarray,
                                                                      face) -> None:
    talk = len(speech) / RATE
    facts = clip(tmp_path, face, np.concatenate([speech, silence(12)]), talking_until=talk, open_from=talk + 8)
    lips = findings(facts)["listening.lips_closed"]
    assert lips.outcome == "fail"
    (start, end), = lips.spans
    assert abs(start - (talk + 8)) <= 0.75 and end >= talk + 11, lips.spans
