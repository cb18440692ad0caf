"""Rules about the training video's structure: speaking first, then a silent, still "listening" part.

The boundary comes from the audio (``AudioFacts.segments``: the best split of the per-second speech
activity into "speech, then silence"); the mouth and head come from the sampled face.
"""

from __future__ import annotations

from preflight.checks.audio import audio_of
from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.checks.spans import (
    Span,
    aspect,
    face_speed_p90,
    listed,
    main_faces,
    median,
    sampled,
    spans_where,
    step_s,
)
from preflight.model.facts import AudioFacts, PictureSample, Segment, VideoFacts
from preflight.model.units import clock, num


def _segment(audio: AudioFacts, kind: str) -> Segment | None:
    return next((s for s in audio.segments if s.kind == kind), None)


def _frame_spans(flags: list[bool], frame_s: float, offset: int, label: str, bridge_s: float = 0.3) -> list[Span]:
    """Runs of flagged frames as time spans; gaps shorter than ``bridge_s`` are bridged."""
    spans: list[Span] = []
    for i, on in enumerate(flags):
        if not on:
            continue
        t = (offset + i) * frame_s
        if spans and t - spans[-1].end_s <= bridge_s:
            spans[-1] = Span(spans[-1].start_s, t + frame_s, label)
        else:
            spans.append(Span(t, t + frame_s, label))
    return spans


@rule("segments.structure", kind="video")
def structure(facts: VideoFacts, *, min_speaking_s: float, min_listening_s: float, min_fit: float) -> Verdict:
    """The video speaks first, then listens silently, each part long enough.

    Phoenix-4 wants about 30 s of speaking followed by about 30 s of silent listening in one take
    (Phoenix-3: a minute each). Found from speech activity per second: the boundary is where "speech
    before, silence after" fits best. Record the speaking part first, then stay silent.
    """
    audio, why = audio_of(facts)
    if audio is None:
        return skipped(why or "no audio")
    speaking, listening = _segment(audio, "speaking"), _segment(audio, "listening")
    expected = f"speaking >= {num(min_speaking_s)} s, then listening >= {num(min_listening_s)} s"
    if speaking is None and listening is None:
        return failed("no speech found: the video must start with a speaking segment", None, expected)
    fit, reverse = audio.structure_fit or 0.0, audio.reverse_fit or 0.0
    if reverse > fit + 0.05:
        return failed("the order is reversed: the video starts silent and the speech comes later; "
                      "speak first, then listen", {"fit": fit, "reverse_fit": reverse}, expected)
    if listening is None:
        return failed("speech runs to the end: there is no silent listening part after it", None, expected)
    talk = speaking.end_s - speaking.start_s if speaking else 0.0
    quiet = listening.end_s - listening.start_s if listening else 0.0
    measured = {"speaking_s": talk, "listening_s": quiet, "boundary_s": speaking.end_s if speaking else 0.0,
                "fit": fit}
    layout = (f"speaking {clock(speaking.start_s) if speaking else '–'}–{clock(talk)}, "
              f"listening {clock(talk)}–{clock(talk + quiet)}")
    if talk < min_speaking_s:
        return failed(f"the speaking part is too short: {layout}", measured, expected)
    if quiet < min_listening_s:
        return failed(f"the listening part is too short: {layout}", measured, expected)
    if fit < min_fit:
        return failed(f"speech and silence are mixed rather than one after the other ({fit:.0%} of seconds "
                      f"fit): {layout}", measured, expected)
    return passed(layout, measured, expected)


@rule("listening.silent", kind="video")
def listening_silent(facts: VideoFacts, *, min_span_s: float, burst_margin_db: float) -> Verdict:
    """The listening segment is silent: no speech, no noise bursts.

    Speech is the voice-activity detector's; a burst is a stretch louder than the segment's noise
    floor by ``burst_margin_db``. Both spoil the listening half (``background_noise_detected``).
    Stay silent after speaking; close doors and mute phones.
    """
    audio, why = audio_of(facts)
    if audio is None:
        return skipped(why or "no audio")
    listening = _segment(audio, "listening")
    if listening is None:
        return skipped("no listening segment was found (see segments.structure)")
    start, end = int(listening.start_s / audio.frame_s), int(listening.end_s / audio.frame_s)
    levels = audio.frame_dbfs[start:end]
    if not levels:
        return skipped("the listening segment is empty")
    floor = sorted(levels)[len(levels) // 10]
    speech = _frame_spans(audio.speech[start:end], audio.frame_s, start, "speech")
    bursts = _frame_spans([lv > floor + burst_margin_db and not talk
                           for lv, talk in zip(levels, audio.speech[start:end])], audio.frame_s, start, "noise")
    found = sorted((s for s in speech + bursts if s.duration_s >= min_span_s), key=lambda s: s.start_s)
    if found:
        return failed(f"sound in the listening segment: {listed(found)}", len(found), 0, spans=found)
    return passed(f"the listening segment {clock(listening.start_s)}–{clock(listening.end_s)} is silent", 0, 0)


def _in(samples: list[PictureSample], segment: Segment) -> list[PictureSample]:
    return [s for s in samples if segment.start_s <= s.t < segment.end_s]


def _lips(sample: PictureSample) -> float | None:
    return sample.landmarks.lips if sample.landmarks is not None else None


def _picture_and_segment(facts: VideoFacts, kind: str) -> tuple[list[PictureSample], Segment | None, str | None]:
    """The samples of the ``kind`` segment whose face landmarks gave a lip opening."""
    samples = sampled(facts)
    if samples is None:
        return [], None, "the picture was not analysed (no frames were sampled)"
    audio, why = audio_of(facts)
    if audio is None:
        return [], None, why
    segment = _segment(audio, kind)
    if segment is None:
        return [], None, f"no {kind} segment was found (see segments.structure)"
    inside = [s for s in _in(samples, segment) if _lips(s) is not None]
    if not inside:
        return [], segment, f"no face landmarks were found in the {kind} segment, so the lips could not be measured"
    return inside, segment, None


@rule("listening.lips_closed", kind="video")
def lips_closed(facts: VideoFacts, *, max_lips: float, min_span_s: float) -> Verdict:
    """The lips stay closed while listening: no talking, open mouth, or parted lips.

    Measured from the face landmarks on every sample: the gap between the inner lips as a share of
    the mouth's width (about 0-0.04 closed, 0.1-0.35 apart). Lips apart beyond ``max_lips`` for at
    least ``min_span_s`` fail, with the spans. Keep them gently closed and relaxed the whole time.
    """
    inside, segment, why = _picture_and_segment(facts, "listening")
    if why is not None or segment is None:
        return skipped(why or "no listening segment")
    apart = spans_where(inside, step_s(facts), lambda s: "lips apart" if (_lips(s) or 0.0) > max_lips else None)
    found = [s for s in apart if s.duration_s >= min_span_s]
    openings = [_lips(s) or 0.0 for s in inside]
    value, widest = median(openings), max(openings)
    expected = f"lip opening <= {num(max_lips)}"
    if found:
        return failed(f"the lips are apart while listening (up to {num(round(widest, 2))} of the mouth's width): "
                      f"{listed(found)}", round(value, 3), expected, spans=found)
    return passed(f"the lips stay closed while listening (median opening {num(round(value, 3))})",
                  round(value, 3), expected)


@rule("listening.still", kind="video")
def listening_still(facts: VideoFacts, *, max_speed: float) -> Verdict:
    """The head stays still while listening.

    Measured like face.movement, in the listening segment only: face widths per second, 90th
    percentile. Keep your head still and your eyes on the camera; no nodding or tilting.
    """
    samples = sampled(facts)
    audio, why = audio_of(facts)
    if samples is None or audio is None:
        return skipped(why or "the picture was not analysed")
    segment = _segment(audio, "listening")
    if segment is None:
        return skipped("no listening segment was found (see segments.structure)")
    p90 = face_speed_p90(main_faces(_in(samples, segment)), aspect(facts))
    if p90 is None:
        return skipped("a face was found in fewer than 4 samples of the listening segment")
    detail = f"the head moves {num(round(p90, 2))} face widths per second while listening"
    if p90 > max_speed:
        return failed(f"not still: {detail}", round(p90, 3), f"<= {num(max_speed)}", spans=[segment])
    return passed(detail, round(p90, 3), f"<= {num(max_speed)}")


@rule("speaking.articulation", kind="video")
def articulation(facts: VideoFacts, *, min_range: float) -> Verdict:
    """The mouth clearly opens and closes while speaking (strong articulation, teeth visible).

    Measured from the face landmarks: the range of the lip opening over the speaking segment's
    samples (90th percentile minus 10th, in shares of the mouth's width). A mouth that barely opens
    trains poor lip-sync (``teeth_not_visible``). Speak clearly, open your mouth and show your teeth;
    a big smile at the start helps.
    """
    inside, segment, why = _picture_and_segment(facts, "speaking")
    if why is not None or segment is None:
        return skipped(why or "no speaking segment")
    openings = sorted(_lips(s) or 0.0 for s in inside)
    low, high = openings[len(openings) // 10], openings[min(len(openings) - 1, len(openings) * 9 // 10)]
    value = round(high - low, 3)
    shown = f"the lip opening ranges {num(round(low, 2))}–{num(round(high, 2))} of the mouth's width"
    if value < min_range:
        return failed(f"the mouth barely opens while speaking: {shown}", value, f">= {num(min_range)}")
    return passed(f"the mouth opens and closes while speaking: {shown}", value, f">= {num(min_range)}")
