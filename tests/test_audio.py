"""The audio measurements against references: loudness vs pyloudnorm, clipping, speech detection."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from preflight.media.audio import RATE, AudioAnalyzer


def measure(x: np.ndarray, chunk: int = 3000):
    analyzer = AudioAnalyzer()
    for start in range(0, len(x), chunk):  # odd-sized chunks: block boundaries never line up
        analyzer._feed(x[start:start + chunk].astype(np.float32))
    return analyzer.finish()


@pytest.mark.parametrize("kind", ["noise", "tone", "quiet-half", "rumble"])
def test_loudness_matches_pyloudnorm(kind: str) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(RATE * 12) / RATE
    x = {"noise": 0.1 * rng.standard_normal(len(t)),
         "tone": 0.3 * np.sin(2 * np.pi * 997 * t),
         "quiet-half": np.concatenate([0.2 * rng.standard_normal(len(t) // 2), 0.002 * rng.standard_normal(len(t) // 2)]),
         "rumble": 0.3 * np.sin(2 * np.pi * 40 * t) + 0.02 * rng.standard_normal(len(t))}[kind]
    reference = pyloudnorm.Meter(RATE).integrated_loudness(x.astype(np.float64))
    assert measure(x).loudness_lufs == pytest.approx(reference, abs=0.2)


def test_digital_silence_has_no_loudness_and_clipping_is_counted() -> None:
    silent = measure(np.zeros(RATE * 3))
    assert silent.loudness_lufs is None and silent.peak_dbfs is None
    t = np.arange(RATE * 3) / RATE
    clipped = measure(np.clip(3 * np.sin(2 * np.pi * 220 * t), -1, 1))
    assert clipped.clipped_share > 0.3 and clipped.peak_dbfs == pytest.approx(0.0, abs=0.01)
