"""The picture pipeline: frames of any width reach the detector whole, every shape is analysed at the
same pixel budget, and --quick looks at a bounded number of key frames whatever the GOP.

The face is real: tests/media/astronaut.jpg (public domain, see tests/media/README.md), cropped to her
head and shoulders."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from preflight.media.analyze import analyze
from preflight.model.facts import VideoFacts
from preflight.media.frames import QUICK_KEYFRAMES, upright, working_width
from tests.support.media_factory import make_clip

MEDIA = Path(__file__).resolve().parent / "media"


@pytest.fixture(scope="module")
def head() -> Image.Image:
    """Eileen Collins' head and shoulders, without the mission patch lower down (HOG counts it)."""
    return Image.open(MEDIA / "astronaut.jpg").convert("RGB").crop((96, 0, 416, 320))


def still_clip(path: Path, picture: Image.Image, size: tuple[int, int], seconds: float = 4, gop: int | None = None) -> Path:
    side = min(size)  # the head fitted in, undistorted, on a plain background
    canvas = Image.new("RGB", size, (92, 96, 104))
    canvas.paste(picture.resize((side, side)), ((size[0] - side) // 2, (size[1] - side) // 2))
    frame = np.asarray(canvas)
    return make_clip(path, lambda i: frame, int(seconds * 25), size, audio=None, gop=gop)


@pytest.mark.parametrize("size", [(358, 358), (410, 412), (602, 338), (360, 288)])
def test_a_face_is_found_in_every_sample_at_odd_widths(tmp_path: Path, head: Image.Image, size: tuple[int, int]) -> None:
    """Widths that are not a multiple of FFmpeg's row alignment used to reach the detector with padded
    rows, and the face was missed for seconds at a time."""
    facts = analyze(still_clip(tmp_path / "odd.mp4", head, size))
    assert isinstance(facts, VideoFacts) and facts.picture is not None
    counts = [len(s.faces) for s in facts.picture.samples]
    assert len(counts) >= 7 and counts == [1] * len(counts)


def test_sampled_frames_are_contiguous() -> None:
    frame = av.VideoFrame.from_ndarray(np.zeros((288, 358, 3), np.uint8), format="rgb24")
    gray = upright(frame, 358, 0, "gray")
    assert gray.shape == (288, 358) and gray.flags.c_contiguous


@pytest.mark.parametrize(("coded", "rotation", "shown"), [
    ((1920, 1080), 0, (640, 360)),   # landscape
    ((1080, 1920), 0, (360, 640)),   # portrait
    ((1920, 1080), 90, (360, 640)),  # portrait stored sideways, as phones do
    ((1080, 1350), 0, (429, 536)),   # 4:5
    ((1080, 1080), 0, (480, 480)),   # square
    ((320, 240), 0, (320, 240)),     # small: never upscaled
])
def test_every_shape_gets_the_same_pixel_budget(coded: tuple[int, int], rotation: int, shown: tuple[int, int]) -> None:
    frame = av.VideoFrame(coded[0], coded[1], "yuv420p")
    width = working_width(coded[0], coded[1], rotation, 640 * 360)
    gray = upright(frame, width, rotation, "gray")
    assert (gray.shape[1], gray.shape[0]) == shown
    assert gray.size <= 640 * 360 * 1.01


def test_quick_looks_at_a_bounded_number_of_key_frames_spread_over_the_clip(tmp_path: Path, head: Image.Image) -> None:
    """A key frame every 5 frames (0.2 s) over 20 s: 100 key frames, of which --quick looks at 8."""
    path = still_clip(tmp_path / "short-gop.mp4", head, (320, 320), seconds=20, gop=5)
    facts = analyze(path, decode=False)
    assert isinstance(facts, VideoFacts) and facts.picture is not None
    times = [s.t for s in facts.picture.samples]
    assert len(times) == QUICK_KEYFRAMES
    assert times[0] < 2.5 and times[-1] > 17.5 and times == sorted(times)
    assert [len(s.faces) for s in facts.picture.samples] == [1] * QUICK_KEYFRAMES


def test_quick_with_few_key_frames_samples_each_once(tmp_path: Path, head: Image.Image) -> None:
    path = still_clip(tmp_path / "long-gop.mp4", head, (320, 320), seconds=6, gop=50)
    facts = analyze(path, decode=False)
    assert isinstance(facts, VideoFacts) and facts.picture is not None
    assert [s.t for s in facts.picture.samples] == [0.0, 2.0, 4.0]
