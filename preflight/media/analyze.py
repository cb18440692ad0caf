"""The one analysis pass: a path in, its facts out. Judging happens elsewhere (engine.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import av

from preflight.model.facts import AudioFacts, Facts, ImageFacts, Kind, PictureFacts, VideoFacts
from preflight.model.failures import StageFailed, stage
from preflight.media.audio import AudioAnalyzer
from preflight.media.frames import FrameSampler, sample_keyframes
from preflight.media.image import probe_image
from preflight.media.picture import PictureAnalyzer, count_summary
from preflight.media.probe import probe_video, probed
from preflight.media.scan import Progress, scan_video
from preflight.media.settings import AnalysisSettings
from preflight.media.sniff import sniff, sniff_head
from preflight.remote.source import Remote, read_image
from preflight.media.worker import Threaded
from preflight.media.preview import Thumbnails

SettingsFor = Callable[[Kind], AnalysisSettings | None]


def default_settings(kind: Kind) -> AnalysisSettings:
    return AnalysisSettings()


def analyze(path: Path | Remote, *, decode: bool = True, progress: Progress | None = None,
            settings_for: SettingsFor = default_settings, thumbs: Thumbnails | None = None) -> Facts:
    """Measure ``path``. Raises UnusableInput (one line, no traceback) when it cannot be judged.

    ``decode=False`` is quick mode: metadata, plus the picture of the key frames only.
    ``settings_for(kind)`` gives the analysis settings of the rule set that will judge the file;
    None skips the picture analysis (faces, brightness, change) altogether.
    ``thumbs``, if given, collects a few colour thumbnails on the way (for the HTML report).
    """
    with ExitStack() as keep:
        with stage("probe"):
            if isinstance(path, Remote):  # its first bytes came with the link check; FFmpeg reads its URL
                sniffed, size = sniff_head(path.head), (path.link.length if path.link and path.link.length else 0)
            else:
                sniffed, size = sniff(path), path.stat().st_size
            settings = settings_for(sniffed.kind)
            if sniffed.kind == "image":
                data = read_image(path) if isinstance(path, Remote) else None
                facts_i = probe_image(path, size or len(data or b""), sniffed.head, sniffed.image_format or "image",
                                      settings, thumbs, data=data)
                return _linked(facts_i, path)
            source: Path | Remote | av.container.InputContainer = path
            if decode or settings is None:
                facts = probe_video(path, size, sniffed.head)  # refuses an unprobeable file before a long decode
            else:  # quick mode reads its key frames from the probe's container: one open of the file, not two
                facts, source = keep.enter_context(probed(path, size, sniffed.head))
            facts = _linked(facts, path)
        if settings is None:  # no picture analysis: the full scan, or (quick) the metadata alone
            return _scanned(path, facts, progress, None) if decode else facts
        return _measured(source, facts, progress, settings, thumbs)


def _measured(source: Path | Remote | av.container.InputContainer, facts: VideoFacts, progress: Progress | None,
              settings: AnalysisSettings, thumbs: Thumbnails | None) -> VideoFacts:
    """The decode with the picture analysis beside it: the full scan of ``source``, a file, or in quick
    mode the key frames from ``source``, the probe's open container."""
    if isinstance(source, av.container.InputContainer):
        # Quick mode looks at a few key frames seconds apart: no face to follow from one to the next,
        # only who is there, so the whole-frame search (~7 ms) looks at each one. (The deep search in
        # squares, ~20 ms more a frame, is left to the full check.)
        settings = replace(settings, video_detector="blazeface", full_scan_every_s=0.001,
                           deep_scan_every_s=0.001, deep_tiles=False)
    analyzer = Threaded(PictureAnalyzer(settings), depth=4, name="picture")
    if thumbs is not None:
        thumbs.duration_s = facts.video_duration_s or facts.duration_s
    sampler = FrameSampler(analyzer.add, settings.sample_fps, settings.work_pixels, facts.rotation, thumbs)
    try:
        if isinstance(source, av.container.InputContainer):
            with stage("decode"):
                sample_keyframes(source, sampler, facts.video_duration_s or facts.duration_s)
        else:
            facts = _scanned(source, facts, progress, sampler)
    except BaseException:
        analyzer.abandon()
        raise
    with stage("faces"):  # the picture thread's error surfaces here
        picture = analyzer.finish()
    return _with_picture(facts, picture)


F = TypeVar("F", VideoFacts, ImageFacts)


def _linked(facts: F, path: Path | Remote) -> F:
    """A remote file's facts carry what checking its link found (for the url.* rules)."""
    return replace(facts, link=path.link) if isinstance(path, Remote) else facts


def _scanned(path: Path | Remote, facts: VideoFacts, progress: Progress | None,
             sampler: FrameSampler | None) -> VideoFacts:
    """The full decode scan, sampling frames and listening on the way."""
    # Listening runs inline: 60 s of audio costs ~0.07 s of analysis, less than handing 2,800
    # frames to a thread would (measured: 0.14 s more CPU with a worker thread).
    listener = _Listening(AudioAnalyzer()) if facts.has_audio else None
    with stage("decode"):
        scan = scan_video(path, progress, sampler, listener)
    audio = listener.finish() if listener is not None else None
    return replace(facts, scan=scan, vfr=bool(scan.irregular_interval_share), audio=audio)


class _Listening:
    """The audio analysis, its errors tagged as the audio stage's (it runs inside the decode loop)."""

    def __init__(self, analyzer: AudioAnalyzer) -> None:
        self.analyzer = analyzer

    def add(self, frame: av.AudioFrame) -> None:
        try:  # not stage(): a context manager per audio frame costs more than the check
            self.analyzer.add(frame)
        except Exception as err:
            raise StageFailed("audio", err) from err

    def finish(self) -> AudioFacts:
        with stage("audio"):
            return self.analyzer.finish()


def _with_picture(facts: VideoFacts, picture: PictureFacts) -> VideoFacts:
    mode, most = count_summary(picture.samples)
    return replace(facts, picture=picture, face_count=mode, face_count_max=most)
