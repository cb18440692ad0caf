"""Rules about the audio track: present, AAC, loudness, clipping, noise floor."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.model.facts import AudioFacts, VideoFacts
from preflight.model.units import num


@rule("audio.present", kind="video")
def present(facts: VideoFacts) -> Verdict:
    """The video has an audio track.

    Training needs your voice: the speaking segment's audio trains lip-sync and, for new faces, the
    voice itself. Record with the camera's or computer's built-in microphone switched on.
    """
    if facts.has_audio:
        return passed(f"audio track present ({facts.audio_codec})", True, True)
    return failed("the video has no audio track", False, True)


@rule("audio.codec", kind="video")
def codec(facts: VideoFacts, *, allowed: list[str]) -> Verdict:
    """The audio track is AAC.

    Tavus documents MP4 with H.264 video and AAC audio. Re-encode the audio only:
    ``ffmpeg -i in.mp4 -c:v copy -c:a aac -b:a 192k out.mp4``.
    """
    if not facts.has_audio or facts.audio_codec is None:
        return skipped("no audio track to check (see audio.present)")
    expected = [c.upper() for c in allowed]
    shown = facts.audio_codec.upper()
    if facts.audio_codec in allowed:
        return passed(f"audio codec is {shown}", shown, expected)
    return failed(f"audio codec is {shown}; Tavus expects {' or '.join(expected)}", shown, expected)


def audio_of(facts: VideoFacts) -> tuple[AudioFacts | None, str | None]:
    if not facts.has_audio:
        return None, "no audio track (see audio.present)"
    if facts.audio is None:
        return None, "the audio was not decoded (quick mode)"
    return facts.audio, None


@rule("audio.loudness", kind="video")
def loudness(facts: VideoFacts, *, min_lufs: float, max_lufs: float) -> Verdict:
    """The voice is recorded at a healthy level (integrated loudness, ITU-R BS.1770-4).

    Too quiet and the voice drowns in noise and hiss once amplified; too loud usually means
    clipping or heavy processing. Speak at a normal volume about 1 m from the microphone; turn off
    automatic gain, noise suppression and other effects.
    """
    audio, why = audio_of(facts)
    if audio is None:
        return skipped(why or "no audio")
    expected = f"{num(min_lufs)} to {num(max_lufs)} LUFS"
    if audio.loudness_lufs is None:
        return failed("the audio track is silent (nothing above -70 LUFS)", None, expected)
    shown = f"loudness {num(audio.loudness_lufs)} LUFS"
    if audio.loudness_lufs < min_lufs:
        return failed(f"too quiet: {shown}, below {num(min_lufs)} LUFS", audio.loudness_lufs, expected)
    if audio.loudness_lufs > max_lufs:
        return failed(f"too loud: {shown}, above {num(max_lufs)} LUFS", audio.loudness_lufs, expected)
    return passed(shown, audio.loudness_lufs, expected)


@rule("audio.clipping", kind="video")
def clipping(facts: VideoFacts, *, max_clipped_share: float) -> Verdict:
    """The audio does not clip (no samples pinned at full scale).

    Clipping distorts the voice the model learns from. Lower the input gain or sit a little further
    from the microphone and record again; clipped audio cannot be repaired.
    """
    audio, why = audio_of(facts)
    if audio is None:
        return skipped(why or "no audio")
    share = audio.clipped_share
    peak = f"sample peak {num(audio.peak_dbfs)} dBFS" if audio.peak_dbfs is not None else "no signal"
    if share > max_clipped_share:
        return failed(f"the audio clips: {share:.2%} of samples at full scale ({peak})", share,
                      f"<= {max_clipped_share:.2%}")
    return passed(f"no clipping ({peak})", share, f"<= {max_clipped_share:.2%}")


@rule("audio.noise", kind="video")
def noise(facts: VideoFacts, *, max_noise_dbfs: float) -> Verdict:
    """The room is quiet: a low noise floor while nobody speaks.

    Measured as the 10th percentile of the 32 ms frame levels in the listening segment (or, without
    one, in every frame without speech). Background noise or other voices fail training
    (``background_noise_detected``). Record in a quiet room; switch off fans and air conditioning.
    """
    audio, why = audio_of(facts)
    if audio is None:
        return skipped(why or "no audio")
    listening = [s for s in audio.segments if s.kind == "listening"]
    if listening:
        start, end = int(listening[0].start_s / audio.frame_s), int(listening[0].end_s / audio.frame_s)
        levels = audio.frame_dbfs[start:end]
    else:
        levels = [d for d, talk in zip(audio.frame_dbfs, audio.speech) if not talk]
    if not levels:
        return skipped("no frames without speech to measure the noise floor on")
    floor = sorted(levels)[len(levels) // 10]
    where = "in the listening segment" if listening else "between words"
    if floor > max_noise_dbfs:
        return failed(f"noisy background: noise floor {num(floor)} dBFS {where}", floor, f"<= {num(max_noise_dbfs)} dBFS")
    return passed(f"noise floor {num(floor)} dBFS {where}", floor, f"<= {num(max_noise_dbfs)} dBFS")
