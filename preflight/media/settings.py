"""How much to measure: sampling rates and working sizes. Set per rule set in its ``[analysis]`` table."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class AnalysisSettings:
    sample_fps: float = 2.0  # video frames analysed per second of video
    work_width: int = 640  # sampled frames are scaled to this width (display orientation) first
    full_scan_every_s: float = 1.0  # search the whole frame this often; in between, track the main face
    deep_scan_every_s: float = 8.0  # every so often, also look for faces half as small (4x the cost)
    image_work_size: int = 800  # images: longest side scaled down to this before face detection
    image_upsample: int = 1  # images: upsampling steps of the face detector

    @classmethod
    def schema(cls) -> dict[str, Any]:
        types = {int: {"type": "integer", "minimum": 0}, float: {"type": "number", "exclusiveMinimum": 0}}
        props = {f.name: types[type(f.default)] for f in fields(cls)}
        return {"type": "object", "properties": props, "additionalProperties": False}
