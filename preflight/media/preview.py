"""Small colour pictures of a file, kept during the analysis pass for the HTML report's contact sheet.

Not facts (no rule reads them, the JSON report leaves them out): a dozen JPEG thumbnails per video,
one per image, a few kilobytes each. Picking them costs one extra colour conversion per thumbnail.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from preflight.model.report import Thumb

if TYPE_CHECKING:  # numpy is not needed to read cached results
    import numpy as np

THUMB_WIDTH = 320
VIDEO_THUMBS = 12


@dataclass
class Thumbnails:
    """Picks ``count`` sampled frames spread evenly over ``duration_s`` (the first sample at or after
    each of ``count`` evenly spaced times), or the first ``count`` samples when the duration is unknown."""

    duration_s: float | None = None
    count: int = VIDEO_THUMBS
    width: int = THUMB_WIDTH
    thumbs: list[Thumb] = field(default_factory=list)

    def wants(self, t: float) -> bool:
        if len(self.thumbs) >= self.count:
            return False
        if not self.duration_s:
            return True
        return t >= self.duration_s * (len(self.thumbs) + 0.5) / self.count - 1e-6

    def add(self, t: float | None, rgb: np.ndarray[Any, Any]) -> None:
        self.thumbs.append(Thumb(t, rgb.shape[1], rgb.shape[0], jpeg(rgb)))


def jpeg(rgb: np.ndarray[Any, Any], quality: int = 72) -> bytes:
    from PIL import Image  # only when a thumbnail is made

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()
