"""Rules about picture quality: sharpness and lighting of the face, edits, black or frozen stretches."""

from __future__ import annotations

import statistics

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.checks.spans import (
    NOT_SAMPLED,
    Span,
    listed,
    median,
    pct,
    sampled,
    spans_where,
    step_s,
)
from preflight.model.facts import FaceLook, Facts, ImageFacts, PictureSample, VideoFacts
from preflight.model.units import clock, num


def _looks(facts: Facts) -> tuple[list[FaceLook], str | None]:
    if isinstance(facts, ImageFacts):
        if facts.faces is None:
            return [], "the picture was not analysed"
        return ([facts.face], None) if facts.face is not None else ([], "no face was found (see face.count)")
    samples = sampled(facts)
    if samples is None:
        return [], NOT_SAMPLED
    looks = [s.face for s in samples if s.face is not None]
    return looks, None if looks else "no face was found in any sampled frame (see face.count)"


@rule("face.sharpness", kind="any")
def sharpness(facts: Facts, *, min_sharpness: float) -> Verdict:
    """The face is in focus (not blurred).

    Measured as the variance of the Laplacian over the face box resized to 128 px high (the median
    over a video's samples). Blur fails training (``quality_issue_detected``, ``ImageQualityError``).
    Focus on the face, add light (dim light means slow shutters and motion blur), clean the lens.
    """
    looks, why = _looks(facts)
    if not looks:
        return skipped(why or "no face")
    value = median([lk.sharpness for lk in looks])
    if value < min_sharpness:
        return failed(f"the face looks blurred: sharpness {num(round(value, 1))}, below {num(min_sharpness)}",
                      round(value, 2), f">= {num(min_sharpness)}")
    return passed(f"the face is sharp: sharpness {num(round(value, 1))}", round(value, 2), f">= {num(min_sharpness)}")


@rule("face.lighting", kind="any")
def lighting(facts: Facts, *, min_luma: float, max_luma: float, min_balance: float) -> Verdict:
    """The face is well and evenly lit: not too dark, not blown out, no strong shadow on one side.

    Measured on the face box: mean brightness (0–255) and the darker half's brightness over the
    brighter half's (1 = even). Poor light fails training (``poor_lighting``, ``ImageQualityError``).
    Face a window or a soft light; avoid a bright window behind you and light from one side only.
    """
    looks, why = _looks(facts)
    if not looks:
        return skipped(why or "no face")
    luma, balance = median([lk.luma for lk in looks]), median([lk.balance for lk in looks])
    measured = {"luma": round(luma, 1), "balance": round(balance, 3)}
    expected = f"brightness {num(min_luma)}–{num(max_luma)}, balance >= {num(min_balance)}"
    detail = f"face brightness {num(round(luma))}/255, left/right balance {balance:.2f}"
    if luma < min_luma:
        return failed(f"the face is too dark: {detail}", measured, expected)
    if luma > max_luma:
        return failed(f"the face is overexposed: {detail}", measured, expected)
    if balance < min_balance:
        return failed(f"one side of the face is in shadow: {detail}", measured, expected)
    return passed(detail, measured, expected)


@rule("face.lighting_stable", kind="video")
def lighting_stable(facts: VideoFacts, *, max_drift: float) -> Verdict:
    """The light on the face stays the same for the whole video.

    Measured as the spread of the face's brightness over the samples (5th to 95th percentile) relative
    to its median. Changing light fails training (``lighting_change_detected``). Use steady artificial
    light; avoid daylight from a window with passing clouds, and lights switched during the take.
    """
    looks, why = _looks(facts)
    if len(looks) < 3:
        return skipped(why or "a face was found in fewer than 3 sampled frames")
    values = sorted(lk.luma for lk in looks)
    low, high = values[int(0.05 * (len(values) - 1))], values[int(0.95 * (len(values) - 1))]
    drift = (high - low) / max(statistics.median(values), 1.0)
    detail = f"face brightness ranges {num(round(low))}–{num(round(high))} ({pct(drift)} of its median)"
    if drift > max_drift:
        return failed(f"the lighting changes: {detail}", round(drift, 4), f"<= {pct(max_drift)}")
    return passed(detail, round(drift, 4), f"<= {pct(max_drift)}")


@rule("video.edits", kind="video")
def edits(facts: VideoFacts, *, min_cut_diff: float, cut_ratio: float) -> Verdict:
    """The video is one continuous take (no cuts or edits).

    A cut shows as a jump in the picture between two samples: a difference of at least
    ``min_cut_diff`` (0–255) and ``cut_ratio`` times the typical difference. Edited videos fail
    training (``video_editing_detected``). Record in one take; do not trim the middle out.
    """
    samples = sampled(facts)
    if samples is None or len(samples) < 3:
        return skipped("too few frames were sampled to look for cuts")
    diffs = [s.diff for s in samples if s.diff is not None]
    typical = statistics.median(diffs) if diffs else 0.0
    cuts = [s.t for s in samples if s.diff is not None and s.diff >= max(min_cut_diff, cut_ratio * typical)]
    if cuts:
        times = ", ".join(clock(t) for t in cuts[:6]) + (f" and {len(cuts) - 6} more" if len(cuts) > 6 else "")
        return failed(f"{len(cuts)} cut{'s' * (len(cuts) > 1)} or jump{'s' * (len(cuts) > 1)} in the picture at {times}",
                      len(cuts), 0, spans=[Span(t - step_s(facts), t) for t in cuts])
    return passed("no cuts found", 0, 0)


@rule("video.black_frozen", kind="video")
def black_frozen(facts: VideoFacts, *, black_luma: float, frozen_diff: float, min_span_s: float) -> Verdict:
    """No black or frozen stretches.

    Black: the whole frame darker than ``black_luma`` (0–255); frozen: consecutive samples that differ
    by less than ``frozen_diff`` on average at the working size (0–255): identical pictures, which a
    live camera never gives, since its noise alone changes pixels. Either,
    lasting ``min_span_s`` or longer, means a dropped signal, a paused screen recording or an edit.
    """
    samples = sampled(facts)
    if samples is None:
        return skipped(NOT_SAMPLED)

    def label(s: PictureSample) -> str | None:
        if s.luma < black_luma:
            return "black"
        if s.change is not None and s.change < frozen_diff:
            return "frozen"
        return None

    found = [sp for sp in spans_where(samples, step_s(facts), label) if sp.duration_s >= min_span_s]
    if found:
        return failed(f"{listed(found)}", len(found), 0, spans=found)
    return passed("no black or frozen stretches", 0, 0)
