"""Helpers for rules over sampled video: stretches of samples where something holds, as readable spans."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from preflight.model.facts import FaceBox, PictureSample, VideoFacts
from preflight.model.units import clock

NOT_SAMPLED = "the picture was not analysed (no frames were sampled)"


def sampled(facts: VideoFacts) -> list[PictureSample] | None:
    """The video's sampled frames, or None when there are none to judge."""
    return facts.picture.samples if facts.picture is not None and facts.picture.samples else None


def aspect(facts: VideoFacts) -> float:
    """Height / width: turns a vertical share of the frame into the same units as a horizontal one."""
    return facts.height / facts.width if facts.width else 1.0


def step_s(facts: VideoFacts) -> float:
    """How many seconds of video one sample stands for."""
    return 1.0 / facts.picture.sample_fps if facts.picture is not None else 0.5


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    label: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def __str__(self) -> str:
        times = f"{clock(self.start_s)}–{clock(self.end_s)}"
        return f"{self.label} {times}" if self.label else times


def spans_where(samples: Sequence[PictureSample], step_s: float,
                label: Callable[[PictureSample], str | None]) -> list[Span]:
    """Runs of consecutive samples for which ``label`` is not None (and the same). Each sample stands
    for ``step_s`` seconds of video, so a single sample makes a span that long."""
    spans: list[Span] = []
    for s in samples:
        name = label(s)
        if name is None:
            continue
        if spans and spans[-1].label == name and s.t - spans[-1].end_s < step_s * 1.5:
            spans[-1] = Span(spans[-1].start_s, s.t + step_s, name)
        else:
            spans.append(Span(s.t, s.t + step_s, name))
    return spans


def listed(spans: Sequence[Span], most: int = 4) -> str:
    text = ", ".join(str(s) for s in spans[:most])
    return text + (f" and {len(spans) - most} more" if len(spans) > most else "")


def main_faces(samples: Sequence[PictureSample]) -> list[tuple[PictureSample, FaceBox]]:
    """The largest face of every sample that has one."""
    return [(s, s.faces[0]) for s in samples if s.faces]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def pct(x: float) -> str:
    return f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"


def face_speed_p90(faced: Sequence[tuple[PictureSample, FaceBox]], aspect: float) -> float | None:
    """How fast the main face's centre moves between samples, in face widths per second: the 90th
    percentile (a single nod does not count). ``aspect`` = frame height / width turns vertical shares
    into the same units as horizontal ones. None with fewer than 3 intervals."""
    speeds = sorted(((b2.cx - b1.cx) ** 2 + ((b2.cy - b1.cy) * aspect) ** 2) ** 0.5 / b1.w / (s2.t - s1.t)
                    for (s1, b1), (s2, b2) in zip(faced, faced[1:]) if s2.t > s1.t)
    return speeds[int(0.9 * (len(speeds) - 1))] if len(speeds) >= 3 else None
