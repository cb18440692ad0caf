"""How much to measure: sampling rates and working sizes. Set per rule set in its ``[analysis]`` table."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class AnalysisSettings:
    sample_fps: float = 2.0  # video frames analysed per second of video
    # Sampled frames are scaled down (never up) to about this many pixels, whatever their shape:
    # 640x360 landscape, 360x640 portrait, 429x536 at 4:5, 480x480 square cost the same per sample,
    # and a face that fills the same share of the frame has the same size in pixels.
    work_pixels: int = 640 * 360
    # Videos: "blazeface" searches the whole frame every full_scan_every_s with MediaPipe's full-range
    # model (~7 ms) and follows the main face by its landmarks in between; every deep_scan_every_s it
    # also searches overlapping squares of the frame for smaller faces. "hog" is dlib's HOG with tracking
    # between whole-frame searches (the same corpus verdicts, slower; images always use HOG, which
    # counts faces best).
    video_detector: str = "blazeface"
    face_min_score: float = 0.5  # BlazeFace's score cut-off (0..1)
    deep_tiles: bool = True  # blazeface: deep searches also look at the frame in overlapping squares (~20 ms)
    full_scan_every_s: float = 1.0  # search the whole frame this often; in between, follow the main face
    deep_scan_every_s: float = 8.0  # search for small faces this often (hog: at 2x; blazeface: in squares)
    landmarks: bool = True  # measure the main face's 468 landmarks (lips, eyes, head pose) on every sample
    landmark_min_score: float = 0.5  # the landmark model's face score below which its points are not used
    image_work_size: int = 800  # images: longest side scaled down to this before face detection
    image_upsample: int = 1  # images: upsampling steps of the face detector

    @classmethod
    def schema(cls) -> dict[str, Any]:
        types = {bool: {"type": "boolean"}, int: {"type": "integer", "minimum": 0}, float: {"type": "number", "exclusiveMinimum": 0},
                 str: {"type": "string", "enum": ["blazeface", "hog"]}}
        props = {f.name: types[type(f.default)] for f in fields(cls)}
        return {"type": "object", "properties": props, "additionalProperties": False}
