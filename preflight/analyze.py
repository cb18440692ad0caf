"""The one analysis pass: a path in, its facts out. Judging happens elsewhere (engine.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from preflight.facts import Facts
from preflight.media.image import probe_image
from preflight.media.probe import probe_video
from preflight.media.scan import Progress, scan_video
from preflight.media.sniff import sniff


def analyze(path: Path, *, decode: bool = True, progress: Progress | None = None) -> Facts:
    """Measure ``path``. Raises UnusableInput (one line, no traceback) when it cannot be judged.

    ``decode=False`` skips the end-to-end decode: metadata only, in well under a second.
    """
    sniffed = sniff(path)
    size = path.stat().st_size
    if sniffed.kind == "image":
        return probe_image(path, size, sniffed.head, sniffed.image_format or "image")
    facts = probe_video(path, size, sniffed.head)  # refuses an unprobeable file before a long decode
    if not decode:
        return facts
    scan = scan_video(path, progress)
    return replace(facts, scan=scan, vfr=bool(scan.irregular_interval_share))
